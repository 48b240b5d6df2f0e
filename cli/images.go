package cli

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/pkg/stringid"
	"github.com/docker/go-units"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"berth/api"
)

// imagesVerb is docker images.
func imagesVerb(e *env, args []string) int {
	f := newFlags("images", e.stderr)
	var all, quiet, noTrunc, digests bool
	var format string
	var filterFlags listFlag
	f.boolVar(&all, "a", "all")
	f.boolVar(&quiet, "q", "quiet")
	f.boolVar(&noTrunc, "no-trunc")
	f.boolVar(&digests, "digests")
	f.stringVar(&format, "", "format")
	f.listVar(&filterFlags, "f", "filter")
	if code, ok := e.prepare(f, args, "images", atMost(1)); !ok {
		return code
	}
	fl, err := parseFilters(filterFlags)
	if err != nil {
		return e.fail(1, err)
	}
	if f.NArg() == 1 {
		fl.Add("reference", f.Arg(0))
	}
	list, err := e.client.ImageList(e.ctx, image.ListOptions{All: all, Filters: fl})
	if err != nil {
		return e.fail(1, err)
	}
	def := "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
	if digests {
		def = "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}"
	}
	var rows []any
	if quiet {
		def, format = "{{.ID}}", ""
		seen := map[string]bool{}
		for _, img := range list {
			if !seen[img.ID] {
				seen[img.ID] = true
				rows = append(rows, imageRow{img: img, trunc: !noTrunc})
			}
		}
	} else {
		for _, img := range list {
			for _, r := range imageRows(img, digests, !noTrunc) {
				rows = append(rows, r)
			}
		}
	}
	rf, err := parseFormat(format, def)
	if err != nil {
		return e.fail(1, err)
	}
	if err := rf.write(e.stdout, imageHeader{}, rows); err != nil {
		return e.fail(1, err)
	}
	return 0
}

// historyVerb is docker history.
func historyVerb(e *env, args []string) int {
	f := newFlags("history", e.stderr)
	var quiet, noTrunc bool
	human := true
	var format string
	f.boolVar(&quiet, "q", "quiet")
	f.boolVar(&noTrunc, "no-trunc")
	f.boolVar(&human, "H", "human")
	f.stringVar(&format, "", "format")
	if code, ok := e.prepare(f, args, "history", exactly(1)); !ok {
		return code
	}
	hist, err := e.client.ImageHistory(e.ctx, f.Arg(0))
	if err != nil {
		return e.fail(1, err)
	}
	if quiet {
		for _, h := range hist {
			id := h.ID
			if !noTrunc && id != "<missing>" {
				id = stringid.TruncateID(id)
			}
			fmt.Fprintln(e.stdout, id)
		}
		return 0
	}
	tw := newTable(e.stdout)
	fmt.Fprintln(tw, "IMAGE\tCREATED\tCREATED BY\tSIZE\tCOMMENT")
	for _, h := range hist {
		id, by := h.ID, strings.ReplaceAll(h.CreatedBy, "\t", " ")
		if !noTrunc {
			if id != "<missing>" {
				id = stringid.TruncateID(id)
			}
			by = ellipsis(by, 45)
		}
		created, size := since(time.Unix(h.Created, 0)), humanSize(h.Size)
		if !human {
			created, size = time.Unix(h.Created, 0).Format(time.RFC3339), strconv.FormatInt(h.Size, 10)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", id, created, by, size, h.Comment)
	}
	tw.Flush()
	return 0
}

// rmiVerb is docker rmi.
func rmiVerb(e *env, args []string) int {
	f := newFlags("rmi", e.stderr)
	var force, noPrune bool
	f.boolVar(&force, "f", "force")
	f.boolVar(&noPrune, "no-prune")
	if code, ok := e.prepare(f, args, "rmi", atLeast(1)); !ok {
		return code
	}
	status := 0
	for _, name := range f.Args() {
		out, err := e.client.ImageRemove(e.ctx, name, image.RemoveOptions{Force: force, PruneChildren: !noPrune})
		if err != nil {
			status = e.fail(1, err)
			continue
		}
		printDeleted(e.stdout, out)
	}
	return status
}

func printDeleted(w io.Writer, out []image.DeleteResponse) {
	for _, d := range out {
		if d.Untagged != "" {
			fmt.Fprintf(w, "Untagged: %s\n", d.Untagged)
		}
		if d.Deleted != "" {
			fmt.Fprintf(w, "Deleted: %s\n", d.Deleted)
		}
	}
}

func tagVerb(e *env, args []string) int {
	if len(args) != 2 {
		return e.usageError("tag", "\"tag\" requires exactly 2 arguments.")
	}
	if err := e.needClient(); err != nil {
		return e.fail(1, err)
	}
	if err := e.client.ImageTag(e.ctx, args[0], args[1]); err != nil {
		return e.fail(1, err)
	}
	return 0
}

// progress prints a stream of progress messages (pull, push, load,
// import, build); it returns the error one carries, and hands aux
// messages to aux.
func progress(r io.Reader, w io.Writer, aux func(json.RawMessage)) error {
	dec := json.NewDecoder(bufio.NewReader(r))
	for {
		var m api.JSONMessage
		if err := dec.Decode(&m); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
		if m.Aux != nil && aux != nil {
			aux(*m.Aux)
		}
		io.WriteString(w, m.Stream)
		if m.Status != "" {
			if m.ID != "" {
				fmt.Fprintf(w, "%s: %s\n", m.ID, m.Status)
			} else {
				fmt.Fprintln(w, m.Status)
			}
		}
	}
}

func loadVerb(e *env, args []string) int {
	f := newFlags("load", e.stderr)
	var input string
	var quiet bool
	f.stringVar(&input, "", "i", "input")
	f.boolVar(&quiet, "q", "quiet")
	if code, ok := e.prepare(f, args, "", anyCount); !ok {
		return code
	}
	in := e.stdin
	if input != "" && input != "-" {
		file, err := os.Open(input)
		if err != nil {
			return e.fail(1, err)
		}
		defer file.Close()
		in = file
	} else if f2, ok := e.stdin.(*os.File); ok && isTerminal(f2) {
		return e.fail(1, errors.New("requested load from stdin, but stdin is empty"))
	}
	resp, err := e.client.ImageLoad(e.ctx, in)
	if err != nil {
		return e.fail(1, err)
	}
	defer resp.Body.Close()
	out := e.stdout
	if quiet {
		out = io.Discard
	}
	if err := progress(resp.Body, out, nil); err != nil {
		return e.fail(1, err)
	}
	return 0
}

func saveVerb(e *env, args []string) int {
	f := newFlags("save", e.stderr)
	var output string
	f.stringVar(&output, "", "o", "output")
	if code, ok := e.prepare(f, args, "save", atLeast(1)); !ok {
		return code
	}
	if output == "" && isTerminal(e.stdout) {
		return e.fail(1, errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect"))
	}
	rc, err := e.client.ImageSave(e.ctx, f.Args())
	if err != nil {
		return e.fail(1, err)
	}
	defer rc.Close()
	return e.writeOut(rc, output)
}

func importVerb(e *env, args []string) int {
	f := newFlags("import", e.stderr)
	var message string
	var changes listFlag
	f.stringVar(&message, "", "m", "message")
	f.listVar(&changes, "c", "change")
	if code, ok := e.prepare(f, args, "import", between(1, 2)); !ok {
		return code
	}
	src := image.ImportSource{SourceName: "-", Source: e.stdin}
	if p := f.Arg(0); p != "-" {
		if strings.Contains(p, "://") {
			return e.fail(1, errors.New("berth imports from a file or stdin, not from a URL"))
		}
		file, err := os.Open(p)
		if err != nil {
			return e.fail(1, err)
		}
		defer file.Close()
		src.Source = file
	}
	rc, err := e.client.ImageImport(e.ctx, src, f.Arg(1), image.ImportOptions{Message: message, Changes: changes})
	if err != nil {
		return e.fail(1, err)
	}
	defer rc.Close()
	if err := progress(rc, e.stdout, nil); err != nil {
		return e.fail(1, err)
	}
	return 0
}

// registryOf is the registry of an image reference as credentials are
// kept by it: host[:port], or Docker Hub's address.
func registryOf(ref string) string {
	first, _, ok := strings.Cut(ref, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first
	}
	return dockerHub
}

// dockerHub is Docker Hub's address, as docker login keeps it.
const dockerHub = "https://index.docker.io/v1/"

// authFor is the X-Registry-Auth value for ref's registry: the
// credentials berth login kept, or none.
func authFor(ref string) string {
	a, ok := loadCredentials()[registryOf(ref)]
	if !ok {
		return ""
	}
	s, _ := registry.EncodeAuthConfig(a)
	return s
}

// pull pulls ref, printing progress to w; quiet prints nothing.
func (e *env) pull(ref string, quiet bool, w io.Writer) int {
	rc, err := e.client.ImagePull(e.ctx, ref, image.PullOptions{RegistryAuth: authFor(ref)})
	if err != nil {
		return e.fail(1, err)
	}
	defer rc.Close()
	if quiet {
		w = io.Discard
	}
	if err := progress(rc, w, nil); err != nil {
		return e.fail(1, err)
	}
	return 0
}

func pullVerb(e *env, args []string) int {
	f := newFlags("pull", e.stderr)
	var quiet bool
	var platform string
	f.boolVar(&quiet, "q", "quiet")
	f.stringVar(&platform, "", "platform")
	if f.parse(args) != nil {
		return ExitFailed
	}
	if f.NArg() != 1 {
		return e.usageError("pull", "\"pull\" requires exactly 1 argument.")
	}
	if platform != "" && platform != "linux/amd64" && platform != "linux" {
		return e.fail(1, fmt.Errorf("--platform %s: berth runs linux/amd64 images only", platform))
	}
	if err := e.needClient(); err != nil {
		return e.fail(1, err)
	}
	if status := e.pull(f.Arg(0), quiet, e.stdout); status != 0 {
		return status
	}
	if quiet {
		fmt.Fprintln(e.stdout, f.Arg(0))
	}
	return 0
}

func pushVerb(e *env, args []string) int {
	f := newFlags("push", e.stderr)
	var quiet bool
	f.boolVar(&quiet, "q", "quiet")
	if code, ok := e.prepare(f, args, "push", exactly(1)); !ok {
		return code
	}
	rc, err := e.client.ImagePush(e.ctx, f.Arg(0), image.PushOptions{RegistryAuth: authFor(f.Arg(0))})
	if err != nil {
		return e.fail(1, err)
	}
	defer rc.Close()
	out := e.stdout
	if quiet {
		out = io.Discard
	}
	if err := progress(rc, out, nil); err != nil {
		return e.fail(1, err)
	}
	return 0
}

func searchVerb(e *env, args []string) int {
	f := newFlags("search", e.stderr)
	var limit int
	var noTrunc bool
	var format string
	var filterFlags listFlag
	f.intVar(&limit, 25, "limit")
	f.boolVar(&noTrunc, "no-trunc")
	f.stringVar(&format, "", "format")
	f.listVar(&filterFlags, "f", "filter")
	if code, ok := e.prepare(f, args, "search", exactly(1)); !ok {
		return code
	}
	fl, err := parseFilters(filterFlags)
	if err != nil {
		return e.fail(1, err)
	}
	res, err := e.client.ImageSearch(e.ctx, f.Arg(0), registry.SearchOptions{Limit: limit, Filters: fl, RegistryAuth: authFor(f.Arg(0))})
	if err != nil {
		return e.fail(1, err)
	}
	if format != "" {
		rf, err := parseFormat(format, "")
		if err != nil {
			return e.fail(1, err)
		}
		var rows []any
		for _, r := range res {
			rows = append(rows, r)
		}
		if err := rf.write(e.stdout, registry.SearchResult{Name: "NAME", Description: "DESCRIPTION"}, rows); err != nil {
			return e.fail(1, err)
		}
		return 0
	}
	tw := newTable(e.stdout)
	fmt.Fprintln(tw, "NAME\tDESCRIPTION\tSTARS\tOFFICIAL\tAUTOMATED")
	for _, r := range res {
		desc := strings.ReplaceAll(r.Description, "\n", " ")
		if !noTrunc {
			desc = ellipsis(desc, 45)
		}
		official, automated := "", ""
		if r.IsOfficial {
			official = "[OK]"
		}
		if r.IsAutomated {
			automated = "[OK]"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", r.Name, desc, r.StarCount, official, automated)
	}
	tw.Flush()
	return 0
}

// buildVerb is docker build with the classic builder: the context (a
// directory, less what .dockerignore names; or a tar or a Dockerfile on
// stdin) goes to the engine.
func buildVerb(e *env, args []string) int {
	f := newFlags("build", e.stderr)
	var tags, buildArgs, labels listFlag
	var file, network, platform string
	var noCache, quiet, forceRm, pull bool
	rm := true
	f.listVar(&tags, "t", "tag")
	f.stringVar(&file, "", "f", "file")
	f.boolVar(&noCache, "no-cache")
	f.boolVar(&quiet, "q", "quiet")
	f.boolVar(&forceRm, "force-rm")
	f.boolVar(&rm, "rm")
	f.boolVar(&pull, "pull")
	f.listVar(&buildArgs, "build-arg")
	f.listVar(&labels, "label")
	f.stringVar(&network, "", "network")
	f.stringVar(&platform, "", "platform")
	if f.parse(args) != nil {
		return ExitFailed
	}
	if f.NArg() != 1 {
		return e.usageError("build", "\"build\" requires exactly 1 argument.")
	}
	if pull {
		return e.fail(1, errors.New("--pull is not supported: pull the base image first (berth pull)"))
	}
	if network != "" && network != "default" && network != "bridge" {
		return e.fail(1, fmt.Errorf("--network %s: berth's build steps run on the bridge", network))
	}
	if platform != "" && platform != "linux/amd64" && platform != "linux" {
		return e.fail(1, fmt.Errorf("--platform %s: berth builds linux/amd64 images only", platform))
	}
	if err := e.needClient(); err != nil {
		return e.fail(1, err)
	}
	o := build.ImageBuildOptions{Tags: tags, NoCache: noCache, Remove: rm, ForceRemove: forceRm, SuppressOutput: quiet,
		BuildArgs: map[string]*string{}, Labels: map[string]string{}, Version: build.BuilderV1}
	for _, a := range buildArgs {
		k, v, ok := strings.Cut(a, "=")
		if !ok {
			env, set := os.LookupEnv(k)
			if !set {
				continue
			}
			v = env
		}
		o.BuildArgs[k] = &v
	}
	addKeyValues(o.Labels, labels)
	context, dockerfile, err := buildContext(f.Arg(0), file, e.stdin)
	if err != nil {
		return e.fail(1, err)
	}
	o.Dockerfile = dockerfile
	if !quiet {
		fmt.Fprintf(e.stdout, "Sending build context to berth  %s\n", units.HumanSizeWithPrecision(float64(len(context)), 4))
	}
	resp, err := e.client.ImageBuild(e.ctx, bytes.NewReader(context), o)
	if err != nil {
		return e.fail(1, err)
	}
	defer resp.Body.Close()
	out := e.stdout
	if quiet {
		out = io.Discard
	}
	var id string
	err = progress(resp.Body, out, func(raw json.RawMessage) {
		var a struct{ ID string }
		if json.Unmarshal(raw, &a) == nil && a.ID != "" {
			id = a.ID
		}
	})
	if err != nil {
		return e.fail(1, err)
	}
	if quiet {
		fmt.Fprintln(e.stdout, id)
	}
	return 0
}

// buildContext is the tar docker build sends and the Dockerfile's name in
// it: a directory's files less those .dockerignore excludes (the
// Dockerfile and .dockerignore always go); "-" is a tar or a lone
// Dockerfile on stdin.
func buildContext(dir, file string, stdin io.Reader) ([]byte, string, error) {
	if dir == "-" {
		b, err := io.ReadAll(stdin)
		if err != nil {
			return nil, "", err
		}
		if isTar(b) || isCompressed(b) {
			return b, file, nil
		}
		// A Dockerfile alone: a context of just it.
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		tw.WriteHeader(&tar.Header{Name: "Dockerfile", Mode: 0o644, Size: int64(len(b)), ModTime: time.Now()})
		tw.Write(b)
		tw.Close()
		return buf.Bytes(), "Dockerfile", nil
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, "", fmt.Errorf("unable to prepare context: path %q not found or not a directory", dir)
	}
	dockerfile := "Dockerfile"
	if file != "" {
		// -f names a file relative to the current directory, as Docker's;
		// one outside the context goes in under its own name.
		abs, _ := filepath.Abs(file)
		ctx, _ := filepath.Abs(dir)
		if rel, err := filepath.Rel(ctx, abs); err == nil && !strings.HasPrefix(rel, "..") {
			dockerfile = filepath.ToSlash(rel)
		} else if _, err := os.Stat(filepath.Join(dir, file)); err == nil {
			dockerfile = filepath.ToSlash(file)
		} else {
			return nil, "", fmt.Errorf("the Dockerfile %s must be within the build context %s", file, dir)
		}
	}
	var excludes []string
	if f, err := os.Open(filepath.Join(dir, ".dockerignore")); err == nil {
		excludes, err = ignorefile.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, "", fmt.Errorf(".dockerignore: %w", err)
		}
	}
	pm, err := patternmatcher.New(excludes)
	if err != nil {
		return nil, "", fmt.Errorf(".dockerignore: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if rel != dockerfile && rel != ".dockerignore" {
			if skip, _ := pm.MatchesOrParentMatches(rel); skip {
				if fi.IsDir() && !pm.Exclusions() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		link := ""
		if fi.Mode()&os.ModeSymlink != 0 {
			link, _ = os.Readlink(p)
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name, hdr.Uname, hdr.Gname = rel, "", ""
		if fi.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(tw, f)
			return err
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	tw.Close()
	return buf.Bytes(), dockerfile, nil
}

func isTar(b []byte) bool {
	return len(b) > 262 && string(b[257:262]) == "ustar"
}

func isCompressed(b []byte) bool {
	return bytes.HasPrefix(b, []byte{0x1f, 0x8b}) || bytes.HasPrefix(b, []byte("BZh"))
}

// imagePruneVerb is docker image prune.
func imagePruneVerb(e *env, args []string) int {
	f := newFlags("image-prune", e.stderr)
	var force, all bool
	var filterFlags listFlag
	f.boolVar(&force, "f", "force")
	f.boolVar(&all, "a", "all")
	f.listVar(&filterFlags, "filter")
	if f.parse(args) != nil {
		return ExitFailed
	}
	warning := "WARNING! This will remove all dangling images."
	if all {
		warning = "WARNING! This will remove all images without at least one container associated to them."
	}
	if !e.confirm(force, warning) {
		return 0
	}
	fl, err := parseFilters(filterFlags)
	if err != nil {
		return e.fail(1, err)
	}
	if all {
		fl.Add("dangling", "false")
	}
	rep, err := e.client.ImagesPrune(e.ctx, fl)
	if err != nil {
		return e.fail(1, err)
	}
	if len(rep.ImagesDeleted) > 0 {
		fmt.Fprintln(e.stdout, "Deleted Images:")
		printDeleted(e.stdout, rep.ImagesDeleted)
		fmt.Fprintln(e.stdout)
	}
	fmt.Fprintf(e.stdout, "Total reclaimed space: %s\n", units.HumanSize(float64(rep.SpaceReclaimed)))
	return 0
}

// builderPruneVerb is docker builder prune: the build cache.
func builderPruneVerb(e *env, args []string) int {
	f := newFlags("builder-prune", e.stderr)
	var force, all bool
	f.boolVar(&force, "f", "force")
	f.boolVar(&all, "a", "all")
	if f.parse(args) != nil {
		return ExitFailed
	}
	if !e.confirm(force, "WARNING! This will remove all dangling build cache.") {
		return 0
	}
	rep, err := e.client.BuildCachePrune(e.ctx, build.CachePruneOptions{All: all, Filters: filters.NewArgs()})
	if err != nil {
		return e.fail(1, err)
	}
	e.printPruned("Deleted build cache objects:", rep.CachesDeleted)
	fmt.Fprintf(e.stdout, "Total reclaimed space: %s\n", units.HumanSize(float64(rep.SpaceReclaimed)))
	return 0
}
