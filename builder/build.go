// Package builder builds images from Dockerfiles as Docker's classic
// builder did: each step makes an image in the image store, a RUN step
// runs in a container the engine makes (through Containers), and a step
// whose input did not change comes from the build cache. It also applies
// docker commit's and import's --change instructions. The design is in
// docs/design.md.
package builder

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"berth/archive"
	"berth/imagestore"
	"berth/runtime"

	"github.com/docker/docker/pkg/stringid"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// Containers is the engine's side of a build: RUN steps run in
// containers.
type Containers interface {
	// RunStep runs argv with env in a new container of image, copying its
	// output to out as it comes, and returns the container's id (kept
	// until RemoveStep) and its exit status.
	RunStep(image string, argv, env []string, out io.Writer) (id string, code int, err error)
	// WriteStepDiff writes what container id changed in its root, against
	// the image it was made from, as a layer tar.
	WriteStepDiff(id string, w io.Writer) error
	// RemoveStep removes container id.
	RemoveStep(id string) error
}

// Options are docker build's.
type Options struct {
	Tags        []string
	Dockerfile  string // its path in the context; "Dockerfile" when empty
	NoCache     bool
	Remove      bool // remove each intermediate container once its step succeeded
	ForceRemove bool // remove it even when its step failed
	BuildArgs   map[string]string
	// Labels are set on the image built, as docker build --label.
	Labels map[string]string
}

// builder is one docker build: the image so far and its variables.
type builder struct {
	store      *imagestore.Store
	containers Containers
	transport  http.RoundTripper
	o          Options
	context    string // the unpacked build context
	out        io.Writer
	image      imagestore.Image // the image after the last step; ID "" before FROM
	args       map[string]string
	// declared are the ARGs the Dockerfile declares: a --build-arg of
	// none of them is reported unused.
	declared map[string]bool
	lex      *shell.Lex
	// intermediate is the container of the step just run, removed once
	// the step's image is shown.
	intermediate string
	// configOnly applies instructions to the image's config and makes no
	// step: docker commit and import --change.
	configOnly bool
}

func (b *builder) removeIntermediate(id string) {
	b.containers.RemoveStep(id)
	fmt.Fprintf(b.out, "Removing intermediate container %s\n", stringid.TruncateID(id))
}

// Build builds an image from the Dockerfile in contextDir, an unpacked
// build context, into store: each step makes an image, RUN in a container
// of the previous step's image; a step whose input did not change comes
// from the build cache. A FROM image the store lacks is pulled through
// transport (nil: not pulled). It writes Docker's messages to out and
// returns the image id.
func Build(store *imagestore.Store, containers Containers, transport http.RoundTripper, contextDir string, o Options, out io.Writer) (string, error) {
	name := o.Dockerfile
	if name == "" {
		name = "Dockerfile"
	}
	dfPath, err := inContext(contextDir, filepath.Join(contextDir, filepath.Clean("/"+name)))
	if err != nil {
		return "", fmt.Errorf("build: %s: %w", name, err)
	}
	df, err := os.ReadFile(dfPath)
	if err != nil {
		return "", fmt.Errorf("build: cannot read %s in the build context: %w", name, err)
	}
	res, err := parser.Parse(strings.NewReader(string(df)))
	if err != nil {
		return "", fmt.Errorf("build: %s: %w", name, err)
	}
	b := &builder{store: store, containers: containers, transport: transport, o: o, context: contextDir, out: out, args: map[string]string{}, lex: shell.NewLex(res.EscapeToken)}
	steps := res.AST.Children
	for _, n := range steps {
		n.Value = strings.ToLower(n.Value)
	}
	for _, n := range steps {
		if _, ok := dispatchers[n.Value]; !ok {
			return "", fmt.Errorf("build: %s line %d: %s is not supported (berth builds FROM, MAINTAINER, RUN, COPY, ADD, ENV, WORKDIR, EXPOSE, ENTRYPOINT, CMD, USER, LABEL, VOLUME, ARG, STOPSIGNAL, HEALTHCHECK)",
				name, n.StartLine, strings.ToUpper(n.Value))
		}
	}
	if len(steps) == 0 {
		return "", fmt.Errorf("build: %s has no instructions", name)
	}
	for i, n := range steps {
		fmt.Fprintf(out, "Step %d/%d : %s\n", i+1, len(steps), stepText(n))
		if b.image.ID == "" && n.Value != "from" && n.Value != "arg" {
			return "", fmt.Errorf("build: %s line %d: the first instruction must be FROM", name, n.StartLine)
		}
		if err := dispatchers[n.Value](b, n); err != nil {
			return "", fmt.Errorf("build: %s line %d: %s: %w", name, n.StartLine, strings.ToUpper(n.Value), err)
		}
		if b.image.ID != "" {
			fmt.Fprintf(out, " ---> %s\n", stringid.TruncateID(b.image.ID))
		}
		if b.intermediate != "" {
			b.removeIntermediate(b.intermediate)
			b.intermediate = ""
		}
	}
	if len(o.Labels) > 0 {
		var text []string
		for _, k := range slices.Sorted(maps.Keys(o.Labels)) {
			text = append(text, fmt.Sprintf("%s=%q", k, o.Labels[k]))
		}
		err := b.nop("LABEL "+strings.Join(text, " "), func(c *v1.Config) {
			if c.Labels == nil {
				c.Labels = map[string]string{}
			}
			maps.Copy(c.Labels, o.Labels)
		})
		if err != nil {
			return "", fmt.Errorf("build: --label: %w", err)
		}
	}
	var unused []string
	for k := range o.BuildArgs {
		if _, ok := b.declared[k]; !ok {
			unused = append(unused, k)
		}
	}
	if len(unused) > 0 {
		sort.Strings(unused)
		fmt.Fprintf(out, "[Warning] One or more build-args [%s] were not consumed\n", strings.Join(unused, " "))
	}
	store.MarkFinal(b.image.ID)
	fmt.Fprintf(out, "Successfully built %s\n", stringid.TruncateID(b.image.ID))
	for _, t := range o.Tags {
		if err := store.Tag(b.image.ID, t); err != nil {
			return "", err
		}
		fmt.Fprintf(out, "Successfully tagged %s\n", t)
	}
	return b.image.ID, nil
}

// stepText is the instruction as Docker's output shows it.
func stepText(n *parser.Node) string {
	s := strings.TrimSpace(n.Original)
	if i := strings.IndexAny(s, " \t"); i > 0 {
		return strings.ToUpper(s[:i]) + s[i:]
	}
	return strings.ToUpper(s)
}

// dispatchers are the Dockerfile instructions berth builds.
var dispatchers = map[string]func(*builder, *parser.Node) error{
	"from":        (*builder).from,
	"maintainer":  (*builder).maintainer,
	"run":         (*builder).run,
	"copy":        func(b *builder, n *parser.Node) error { return b.add(n, false) },
	"add":         func(b *builder, n *parser.Node) error { return b.add(n, true) },
	"env":         (*builder).env,
	"workdir":     (*builder).workdir,
	"expose":      (*builder).expose,
	"entrypoint":  (*builder).entrypoint,
	"cmd":         (*builder).cmd,
	"user":        (*builder).user,
	"label":       (*builder).label,
	"volume":      (*builder).volume,
	"arg":         (*builder).arg,
	"stopsignal":  (*builder).stopSignal,
	"healthcheck": (*builder).healthcheck,
}

// words are the instruction's arguments.
func words(n *parser.Node) []string {
	var out []string
	for a := n.Next; a != nil; a = a.Next {
		out = append(out, a.Value)
	}
	return out
}

// vars are the variables expand sees: the ARGs, then the image's
// environment.
func (b *builder) vars() []string {
	var env []string
	for k, v := range b.args {
		env = append(env, k+"="+v)
	}
	if b.image.Config != nil {
		env = append(env, b.image.Config.Config.Env...)
	}
	return env
}

func (b *builder) expand(s string) (string, error) {
	out, _, err := b.lex.ProcessWord(s, shell.EnvsFromSlice(b.vars()))
	return out, err
}

func (b *builder) expandAll(ws []string) ([]string, error) {
	out := make([]string, len(ws))
	for i, w := range ws {
		var err error
		if out[i], err = b.expand(w); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (b *builder) from(n *parser.Node) error {
	ws, err := b.expandAll(words(n))
	if err != nil || len(ws) == 0 {
		return errors.New("FROM needs an image name")
	}
	if ws[0] == "scratch" {
		b.image = imagestore.Image{ID: "scratch", Config: &v1.ConfigFile{Architecture: "amd64", OS: "linux", RootFS: v1.RootFS{Type: "layers"}}}
		return b.commit("FROM scratch", nil, "")
	}
	img, err := b.store.Get(ws[0])
	if err != nil && b.transport != nil {
		fmt.Fprintf(b.out, "Pulling %s\n", ws[0])
		if _, _, perr := b.store.Pull(ws[0], imagestore.Registry{Transport: b.transport}, b.out); perr == nil {
			img, err = b.store.Get(ws[0])
		}
	}
	if err != nil {
		return fmt.Errorf("unable to find image %s: load it (berth load) or pull it first", ws[0])
	}
	b.image = img
	return nil
}

// commit makes the image of a step: the current config changed by
// change, with the layer in layerTar when it is not "", recorded in the
// build cache under key.
func (b *builder) commit(createdBy string, change func(*v1.Config), layerTar string) error {
	cfg := b.image.Config.DeepCopy()
	if b.image.ID == "scratch" {
		cfg.Config.Env = []string{"PATH=" + runtime.DefaultPath}
	}
	if change != nil {
		change(&cfg.Config)
	}
	cfg.Created = v1.Time{Time: time.Now().UTC()}
	cfg.History = append(cfg.History, v1.History{Created: cfg.Created, CreatedBy: createdBy, EmptyLayer: layerTar == ""})
	var id string
	var err error
	if layerTar != "" {
		id, err = b.store.AddLayerFile(cfg, layerTar)
	} else {
		id, err = b.store.AddStep(cfg, nil)
	}
	if err != nil {
		return err
	}
	if err := b.store.MarkIntermediate(id); err != nil {
		return err
	}
	if b.image.ID != "scratch" {
		if err := b.store.SetParent(id, b.image.ID); err != nil {
			return err
		}
	}
	next, err := b.store.Get(id)
	if err != nil {
		return err
	}
	b.image = next
	return nil
}

// step runs one step through the build cache: when an image was made
// from the current one by the same step (same instruction, same files),
// it is used; else make makes it.
func (b *builder) step(key string, make func() error) error {
	k := sha256.Sum256([]byte(b.image.ID + "\n" + key))
	cacheKey := hex.EncodeToString(k[:])
	if !b.o.NoCache {
		if id, ok := b.store.Cached(cacheKey); ok {
			if img, err := b.store.Get(id); err == nil {
				fmt.Fprintln(b.out, " ---> Using cache")
				b.image = img
				return nil
			}
		}
	}
	if err := make(); err != nil {
		return err
	}
	return b.store.Cache(cacheKey, b.image.ID)
}

// nop is a step that changes only the config.
func (b *builder) nop(text string, change func(*v1.Config)) error {
	if b.configOnly {
		change(&b.image.Config.Config)
		return nil
	}
	createdBy := "/bin/sh -c #(nop) " + text
	return b.step(createdBy, func() error { return b.commit(createdBy, change, "") })
}

func (b *builder) maintainer(n *parser.Node) error {
	who := strings.Join(words(n), " ")
	createdBy := "/bin/sh -c #(nop) MAINTAINER " + who
	return b.step(createdBy, func() error {
		b.image.Config.Author = who
		return b.commit(createdBy, nil, "")
	})
}

// command is the argv of a RUN, CMD or ENTRYPOINT: its JSON (exec) form,
// or /bin/sh -c with its shell form.
func command(n *parser.Node) []string {
	if n.Attributes["json"] {
		return words(n)
	}
	return []string{"/bin/sh", "-c", strings.Join(words(n), " ")}
}

func (b *builder) run(n *parser.Node) error {
	argv := command(n)
	createdBy := strings.Join(argv, " ")
	if !n.Attributes["json"] {
		createdBy = "/bin/sh -c " + strings.Join(words(n), " ")
	}
	// The build arguments are in RUN's environment: a change of value is
	// a change of the step.
	key := createdBy
	for _, kv := range b.argEnv() {
		key += "\x00" + kv
	}
	return b.step(key, func() error { return b.runContainer(argv, createdBy) })
}

// argEnv is the ARGs as environment variables, sorted.
func (b *builder) argEnv() []string {
	var env []string
	for k, v := range b.args {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// runContainer runs argv in a container of the current image and commits
// what it changed as a layer.
func (b *builder) runContainer(argv []string, createdBy string) (err error) {
	id, code, err := b.containers.RunStep(b.image.ID, argv, b.argEnv(), b.out)
	if id != "" {
		defer func() {
			// Removed after the step's image is shown, as Docker's output
			// goes; a failed step's container is kept to look into, unless
			// ForceRemove.
			if err == nil && b.o.Remove {
				b.intermediate = id
			} else if err != nil && b.o.ForceRemove {
				b.removeIntermediate(id)
			}
		}()
	}
	if err != nil {
		return err
	}
	if code != 0 {
		// Docker's words, capital included: scripts match them.
		return fmt.Errorf("The command '%s' returned a non-zero code: %d", strings.Join(argv, " "), code)
	}
	layer, err := b.store.TempFile("diff-")
	if err != nil {
		return err
	}
	defer os.Remove(layer.Name())
	defer layer.Close()
	if err := b.containers.WriteStepDiff(id, layer); err != nil {
		return err
	}
	return b.commit(createdBy, nil, layer.Name())
}

// add is COPY and ADD: files of the build context (ADD also unpacks a
// local tar archive) become a layer, owned by root.
func (b *builder) add(n *parser.Node, isAdd bool) error {
	ws, err := b.expandAll(words(n))
	if err != nil {
		return err
	}
	if len(ws) < 2 {
		return errors.New("it needs a source and a destination")
	}
	srcs, dest := ws[:len(ws)-1], ws[len(ws)-1]
	if !path.IsAbs(dest) {
		wd := "/"
		if b.image.Config.Config.WorkingDir != "" {
			wd = b.image.Config.Config.WorkingDir
		}
		keepSlash := strings.HasSuffix(dest, "/")
		dest = path.Join(wd, dest)
		if keepSlash {
			dest += "/"
		}
	}
	var files []string
	for _, s := range srcs {
		if strings.Contains(s, "://") {
			return fmt.Errorf("%s: only files of the build context are added (no URLs)", s)
		}
		matches, err := filepath.Glob(filepath.Join(b.context, filepath.Clean("/"+s)))
		if err != nil || len(matches) == 0 {
			return fmt.Errorf("%s: no such file or directory in the build context", s)
		}
		for _, m := range matches {
			p, err := inContext(b.context, m)
			if err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
			files = append(files, p)
		}
	}
	toDir := strings.HasSuffix(dest, "/") || len(files) > 1
	sum := sha256.New()
	for _, f := range files {
		if err := hashTree(sum, f); err != nil {
			return err
		}
	}
	kind := "COPY"
	if isAdd {
		kind = "ADD"
	}
	createdBy := fmt.Sprintf("/bin/sh -c #(nop) %s file:%x in %s", kind, sum.Sum(nil), dest)
	return b.step(createdBy, func() error {
		layer, err := b.store.TempFile("add-")
		if err != nil {
			return err
		}
		defer os.Remove(layer.Name())
		defer layer.Close()
		tw := tar.NewWriter(layer)
		for _, f := range files {
			fi, err := os.Stat(f)
			if err != nil {
				return err
			}
			target := dest
			if toDir || fi.IsDir() {
				target = path.Join(dest, filepath.Base(f))
				if fi.IsDir() {
					target = dest
				}
			}
			if isAdd && !fi.IsDir() && isArchive(f) {
				if err := copyArchive(tw, f, dest); err != nil {
					return err
				}
				continue
			}
			if err := addTree(tw, f, strings.TrimPrefix(path.Clean(target), "/")); err != nil {
				return err
			}
		}
		if err := tw.Close(); err != nil {
			return err
		}
		return b.commit(createdBy, nil, layer.Name())
	})
}

// inContext resolves p's symbolic links and refuses a path that then
// leaves the build context.
func inContext(context, p string) (string, error) {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", err
	}
	root, err := filepath.EvalSymlinks(context)
	if err != nil {
		return "", err
	}
	if real != root && !strings.HasPrefix(real, root+string(filepath.Separator)) {
		return "", errors.New("it is outside the build context")
	}
	return real, nil
}

// hashTree adds the names, modes and contents of a file or tree to h: the
// build cache key of COPY and ADD.
func hashTree(h io.Writer, root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fmt.Fprintf(h, "%s %v %d\n", rel, fi.Mode(), fi.Size())
		if fi.Mode().IsRegular() {
			return archive.CopyFile(h, p)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			t, _ := os.Readlink(p)
			io.WriteString(h, t)
		}
		return nil
	})
}

// addTree writes a file, or a directory's contents, at target in the
// layer, owned by root as COPY makes them.
func addTree(tw *tar.Writer, src, target string) error {
	links := map[[2]uint64]string{}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		name := path.Join(target, filepath.ToSlash(rel))
		if name == "." || name == "" {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		return archive.WriteEntry(tw, p, name, fi, links, true)
	})
}

// isArchive tells a tar archive ADD unpacks, by its first bytes.
func isArchive(p string) bool {
	r, closeFn, _, err := imagestore.OpenArchive(p)
	if err != nil {
		return false
	}
	defer closeFn()
	_, err = tar.NewReader(r).Next()
	return err == nil
}

// copyArchive writes the entries of a local tar archive below dest, as ADD
// unpacks one; the extraction refuses entries that would leave the root.
func copyArchive(tw *tar.Writer, p, dest string) error {
	r, closeFn, _, err := imagestore.OpenArchive(p)
	if err != nil {
		return err
	}
	defer closeFn()
	tr := tar.NewReader(r)
	base := strings.TrimPrefix(path.Clean(dest), "/")
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(p), err)
		}
		rel, err := archive.CleanName(hdr.Name)
		if err != nil {
			return fmt.Errorf("%s: entry %q: %w", filepath.Base(p), hdr.Name, err)
		}
		hdr.Name = path.Join(base, rel)
		if hdr.Typeflag == tar.TypeDir {
			hdr.Name += "/"
		}
		if hdr.Typeflag == tar.TypeLink {
			l, err := archive.CleanName(hdr.Linkname)
			if err != nil {
				return fmt.Errorf("%s: link %q: %w", filepath.Base(p), hdr.Linkname, err)
			}
			hdr.Linkname = path.Join(base, l)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}

func (b *builder) env(n *parser.Node) error {
	ws := words(n)
	var kvs []string
	for i := 0; i+1 < len(ws); i += 2 {
		v, err := b.expand(ws[i+1])
		if err != nil {
			return err
		}
		kvs = append(kvs, ws[i]+"="+v)
	}
	return b.nop("ENV "+strings.Join(kvs, " "), func(c *v1.Config) { c.Env = runtime.MergeEnv(c.Env, kvs) })
}

func (b *builder) workdir(n *parser.Node) error {
	ws, err := b.expandAll(words(n))
	if err != nil || len(ws) != 1 {
		return errors.New("WORKDIR takes one path")
	}
	dir := ws[0]
	if !path.IsAbs(dir) {
		dir = path.Join("/", b.image.Config.Config.WorkingDir, dir)
	}
	return b.nop("WORKDIR "+dir, func(c *v1.Config) { c.WorkingDir = dir })
}

func (b *builder) expose(n *parser.Node) error {
	ws, err := b.expandAll(words(n))
	if err != nil {
		return err
	}
	var ports []string
	for _, w := range ws {
		p, proto, _ := strings.Cut(w, "/")
		if proto == "" {
			proto = "tcp"
		}
		ports = append(ports, p+"/"+proto)
	}
	return b.nop("EXPOSE "+strings.Join(ports, " "), func(c *v1.Config) {
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range ports {
			c.ExposedPorts[p] = struct{}{}
		}
	})
}

func (b *builder) entrypoint(n *parser.Node) error {
	argv := command(n)
	return b.nop(fmt.Sprintf("ENTRYPOINT %q", argv), func(c *v1.Config) { c.Entrypoint = argv })
}

func (b *builder) cmd(n *parser.Node) error {
	argv := command(n)
	return b.nop(fmt.Sprintf("CMD %q", argv), func(c *v1.Config) { c.Cmd = argv })
}

func (b *builder) user(n *parser.Node) error {
	ws, err := b.expandAll(words(n))
	if err != nil || len(ws) != 1 {
		return errors.New("USER takes one user[:group]")
	}
	return b.nop("USER "+ws[0], func(c *v1.Config) { c.User = ws[0] })
}

func (b *builder) label(n *parser.Node) error {
	ws := words(n)
	labels := map[string]string{}
	var text []string
	for i := 0; i+1 < len(ws); i += 2 {
		k, err := b.expand(ws[i])
		if err != nil {
			return err
		}
		v, err := b.expand(ws[i+1])
		if err != nil {
			return err
		}
		labels[k] = v
		text = append(text, fmt.Sprintf("%s=%q", k, v))
	}
	sort.Strings(text)
	return b.nop("LABEL "+strings.Join(text, " "), func(c *v1.Config) {
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		for k, v := range labels {
			c.Labels[k] = v
		}
	})
}

func (b *builder) volume(n *parser.Node) error {
	ws, err := b.expandAll(words(n))
	if err != nil || len(ws) == 0 {
		return errors.New("VOLUME needs a path")
	}
	return b.nop(fmt.Sprintf("VOLUME %v", ws), func(c *v1.Config) {
		if c.Volumes == nil {
			c.Volumes = map[string]struct{}{}
		}
		for _, v := range ws {
			c.Volumes[v] = struct{}{}
		}
	})
}

func (b *builder) stopSignal(n *parser.Node) error {
	ws, err := b.expandAll(words(n))
	if err != nil || len(ws) != 1 {
		return errors.New("STOPSIGNAL takes one signal")
	}
	if _, err := runtime.ParseSignal(ws[0]); err != nil {
		return err
	}
	return b.nop("STOPSIGNAL "+ws[0], func(c *v1.Config) { c.StopSignal = ws[0] })
}

// healthcheck is HEALTHCHECK [options] CMD command, or HEALTHCHECK NONE.
func (b *builder) healthcheck(n *parser.Node) error {
	inst, err := instructions.ParseInstruction(n)
	if err != nil {
		return err
	}
	h := inst.(*instructions.HealthCheckCommand).Health
	if h.StartInterval != 0 {
		return errors.New("--start-interval is not supported (API 1.44)")
	}
	hc := &v1.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
	text := strings.TrimSpace(n.Original)
	if i := strings.IndexAny(text, " \t"); i > 0 {
		text = text[i+1:]
	}
	return b.nop("HEALTHCHECK "+text, func(c *v1.Config) { c.Healthcheck = hc })
}

// arg declares a build variable: its value from --build-arg, else its
// default. It is seen by later instructions and RUN's environment, and is
// not kept in the image.
func (b *builder) arg(n *parser.Node) error {
	for _, w := range words(n) {
		name, def, hasDefault := strings.Cut(w, "=")
		if b.declared == nil {
			b.declared = map[string]bool{}
		}
		b.declared[name] = true
		if v, ok := b.o.BuildArgs[name]; ok {
			b.args[name] = v
		} else if hasDefault {
			v, err := b.expand(def)
			if err != nil {
				return err
			}
			b.args[name] = v
		} else {
			b.args[name] = ""
		}
	}
	return nil
}
