package engine

import (
	"fmt"
	"io"
	"maps"
	"os"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"berth/archive"
	"berth/builder"
	"berth/errdefs"
	"berth/imagestore"
	"berth/runtime"
)

// imageConfig is a container's config as an image's: what docker commit
// keeps of it.
func imageConfig(c *container.Config) v1.Config {
	out := v1.Config{Hostname: c.Hostname, Domainname: c.Domainname, User: c.User, AttachStdin: c.AttachStdin,
		AttachStdout: c.AttachStdout, AttachStderr: c.AttachStderr, Tty: c.Tty, OpenStdin: c.OpenStdin, StdinOnce: c.StdinOnce,
		Env: c.Env, Cmd: c.Cmd, Image: c.Image, WorkingDir: c.WorkingDir, Entrypoint: c.Entrypoint, Labels: maps.Clone(c.Labels),
		StopSignal: c.StopSignal, Volumes: maps.Clone(c.Volumes), ArgsEscaped: c.ArgsEscaped, Shell: c.Shell, OnBuild: c.OnBuild}
	for p := range c.ExposedPorts {
		if out.ExposedPorts == nil {
			out.ExposedPorts = map[string]struct{}{}
		}
		out.ExposedPorts[string(p)] = struct{}{}
	}
	if h := c.Healthcheck; h != nil {
		out.Healthcheck = &v1.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
	}
	return out
}

// overlayConfig puts what the commit request's config sets over the
// container's, as Docker merges them.
func overlayConfig(base *v1.Config, over *container.Config) {
	if over == nil {
		return
	}
	o := imageConfig(over)
	for _, s := range []struct{ dst, src *string }{{&base.User, &o.User}, {&base.WorkingDir, &o.WorkingDir},
		{&base.StopSignal, &o.StopSignal}, {&base.Hostname, &o.Hostname}, {&base.Domainname, &o.Domainname}} {
		if *s.src != "" {
			*s.dst = *s.src
		}
	}
	if len(o.Cmd) > 0 {
		base.Cmd = o.Cmd
	}
	if len(o.Entrypoint) > 0 {
		base.Entrypoint = o.Entrypoint
		if len(o.Cmd) == 0 {
			base.Cmd = nil
		}
	}
	base.Env = runtime.MergeEnv(base.Env, o.Env)
	if o.Healthcheck != nil {
		base.Healthcheck = o.Healthcheck
	}
	for _, m := range []struct{ dst, src *map[string]struct{} }{{&base.ExposedPorts, &o.ExposedPorts}, {&base.Volumes, &o.Volumes}} {
		if len(*m.src) > 0 {
			if *m.dst == nil {
				*m.dst = map[string]struct{}{}
			}
			maps.Copy(*m.dst, *m.src)
		}
	}
	if len(o.Labels) > 0 {
		if base.Labels == nil {
			base.Labels = map[string]string{}
		}
		maps.Copy(base.Labels, o.Labels)
	}
}

// ContainerCommit is docker commit: an image of the container's image
// with what the container changed as a new layer, and its config (the
// container's, the request's on top, then the changes). A running
// container is paused while its changes are read, unless asked not to.
func (e *Engine) ContainerCommit(ref string, o container.CommitOptions) (string, error) {
	c, err := e.Inspect(ref)
	if err != nil {
		return "", err
	}
	var tag string
	if o.Reference != "" {
		if tag, err = imagestore.NormalizeRef(o.Reference); err != nil || strings.Contains(tag, "@") {
			return "", errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid reference format: %s", o.Reference))
		}
	}
	img, err := e.Images.Get(c.Image)
	if err != nil {
		return "", err
	}
	cfg := img.Config.DeepCopy()
	cfg.Config = imageConfig(c.Config)
	overlayConfig(&cfg.Config, o.Config)
	if err := builder.ApplyChanges(cfg, o.Changes); err != nil {
		return "", err
	}
	if c.State.Running && !c.State.Paused && o.Pause {
		if err := e.ContainerPause(c.Id); err == nil {
			defer e.ContainerUnpause(c.Id)
		}
	}
	layer, err := e.Images.TempFile("commit-")
	if err != nil {
		return "", err
	}
	defer os.Remove(layer.Name())
	err = e.withRoot(c, true, func(lower, root string) error { return archive.WriteDiff(layer, lower, root, runtime.Made) })
	if cerr := layer.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	now := time.Now().UTC()
	cfg.Created = v1.Time{Time: now}
	cfg.Author, cfg.Container, cfg.DockerVersion = o.Author, c.Id, ""
	cfg.History = append(cfg.History, v1.History{Created: cfg.Created, Author: o.Author, CreatedBy: commandLine(c), Comment: o.Comment})
	id, err := e.Images.AddLayerFile(cfg, layer.Name())
	if err != nil {
		return "", err
	}
	if err := e.Images.SetParent(id, img.ID); err != nil {
		return "", err
	}
	if tag != "" {
		if err := e.Images.Tag(id, tag); err != nil {
			return "", err
		}
	}
	e.event("container", "commit", &c, "comment", o.Comment)
	return id, nil
}

// ImageImport is docker import: an image of one layer, the flat root
// filesystem tar r, with the changes applied to its config.
func (e *Engine) ImageImport(r io.Reader, ref string, changes []string, message string, progress io.Writer) (string, error) {
	if ref != "" {
		norm, err := imagestore.NormalizeRef(ref)
		if err != nil || strings.Contains(norm, "@") {
			return "", errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid reference format: %s", ref))
		}
		ref = norm
	}
	edit := func(cfg *v1.ConfigFile) error {
		if err := builder.ApplyChanges(cfg, changes); err != nil {
			return err
		}
		if message == "" {
			message = "Imported from -"
		}
		cfg.History = []v1.History{{Created: cfg.Created, Comment: message}}
		return nil
	}
	// Validate the changes before the archive is read.
	if err := edit(&v1.ConfigFile{}); err != nil {
		return "", err
	}
	id, err := e.Images.Import(r, ref, edit, progress)
	if err != nil {
		return "", err
	}
	e.eventImage("import", id)
	return id, nil
}
