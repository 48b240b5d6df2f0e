package engine

import (
	"fmt"
	"io"
	"maps"
	"os"
	"strings"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stringid"

	"berth/archive"
	"berth/builder"
	"berth/errdefs"
	"berth/imagestore"
	"berth/runtime"
)

// The engine's side of docker build: the builder package builds, through
// the image store and these methods, and RUN steps run here.

// Build is docker build: the context, a tar (gzip-compressed or not), is
// unpacked and the Dockerfile in it built.
func (e *Engine) Build(context io.Reader, o build.ImageBuildOptions, out io.Writer) (string, error) {
	for _, t := range o.Tags {
		if n, err := imagestore.NormalizeRef(t); err != nil || strings.Contains(n, "@") {
			return "", errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid reference format: %s", t))
		}
	}
	dir, err := e.Images.TempDir("context-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	plain, err := imagestore.DecompressStream(context)
	if err != nil {
		return "", errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("build context: %w", err))
	}
	if _, err := archive.ExtractTar(dir, plain); err != nil {
		return "", errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("build context: %w", err))
	}
	args := map[string]string{}
	for k, v := range o.BuildArgs {
		if v != nil {
			args[k] = *v
		}
	}
	return builder.Build(e.Images, e, e.opts.Transport, dir, builder.Options{Tags: o.Tags, Dockerfile: o.Dockerfile,
		NoCache: o.NoCache, Remove: o.Remove, ForceRemove: o.ForceRemove, BuildArgs: args, Labels: maps.Clone(o.Labels)}, out)
}

// RunStep runs a build's RUN step, argv with env in a new container of
// image, its output copied to out; the container is kept until RemoveStep.
func (e *Engine) RunStep(image string, argv, env []string, out io.Writer) (string, int, error) {
	c, _, err := e.Create("", &container.Config{Image: image, Cmd: argv, Entrypoint: []string{""}, Env: env,
		Labels: map[string]string{"berth.build": "intermediate"}}, &container.HostConfig{})
	if err != nil {
		return "", 0, err
	}
	fmt.Fprintf(out, " ---> Running in %s\n", stringid.TruncateID(c.Id))
	en, err := e.find(c.Id)
	if err != nil {
		return c.Id, 0, err
	}
	a := &attachment{w: out, stdout: true, stderr: true, raw: true}
	en.logs.attach(a)
	defer en.logs.detach(a)
	if err := e.ContainerStart(c.Id); err != nil {
		return c.Id, 0, err
	}
	code, err := e.Wait(c.Id)
	return c.Id, code, err
}

// WriteStepDiff writes what a step's container changed, against its
// image's top layer, as a layer tar; what the runtime made is left out.
func (e *Engine) WriteStepDiff(id string, w io.Writer) error {
	c, err := e.Inspect(id)
	if err != nil {
		return err
	}
	return e.withRoot(c, true, func(lower, root string) error { return archive.WriteDiff(w, lower, root, runtime.Made) })
}

// RemoveStep removes a step's container and its anonymous volumes.
func (e *Engine) RemoveStep(id string) error { return e.Remove(id, true, true) }
