package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"berth/engine"
)

// buildVerb is docker build: the directory goes to the engine as the
// build context, the Dockerfile in it (or -f) says what to build.
func buildVerb(args []string, stdout, stderr io.Writer) int {
	f := newFlags("build", stderr)
	var tags, buildArgs listFlag
	var file string
	var noCache, quiet, forceRm bool
	rm := true
	f.listVar(&tags, "t", "tag")
	f.stringVar(&file, "", "f", "file")
	f.boolVar(&noCache, "no-cache")
	f.boolVar(&quiet, "q", "quiet")
	f.boolVar(&forceRm, "force-rm")
	f.BoolVar(&rm, "rm", true, "")
	f.listVar(&buildArgs, "build-arg")
	if f.parse(args) != nil || f.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: berth build [-t NAME[:TAG]] [-f FILE] [--no-cache] [--build-arg NAME=VALUE] DIR")
		return 2
	}
	dir := f.Arg(0)
	q := url.Values{"t": tags}
	if file != "" {
		// -f names a file in the context, relative to the current directory
		// as docker's does, or to the context.
		rel := file
		if abs, err := filepath.Abs(file); err == nil {
			if ctx, err := filepath.Abs(dir); err == nil {
				if r, err := filepath.Rel(ctx, abs); err == nil && !strings.HasPrefix(r, "..") {
					rel = r
				}
			}
		}
		q.Set("dockerfile", rel)
	}
	if noCache {
		q.Set("nocache", "1")
	}
	if !rm {
		q.Set("rm", "0")
	}
	if forceRm {
		q.Set("forcerm", "1")
	}
	if len(buildArgs) > 0 {
		m := map[string]string{}
		for _, a := range buildArgs {
			k, v, ok := strings.Cut(a, "=")
			if !ok {
				v = os.Getenv(k)
			}
			m[k] = v
		}
		b, _ := json.Marshal(m)
		q.Set("buildargs", string(b))
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fail(stderr, 1, fmt.Errorf("the build context %s is not a directory", dir))
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(engine.WriteTree(pw, dir)) }()
	resp, err := client().Do("POST", "/build", q, pr, nil)
	if err != nil {
		return fail(stderr, 1, err)
	}
	defer resp.Body.Close()
	out := stdout
	if quiet {
		out = io.Discard
	}
	var last strings.Builder
	if err := engine.JSONMessages(resp.Body, io.MultiWriter(out, &lastLine{&last})); err != nil {
		return fail(stderr, 1, err)
	}
	if quiet {
		fmt.Fprintln(stdout, strings.TrimPrefix(strings.TrimSpace(last.String()), "Successfully built "))
	}
	return 0
}

// lastLine keeps the last line written through it.
type lastLine struct{ b *strings.Builder }

func (l *lastLine) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		if strings.TrimSpace(line) != "" {
			l.b.Reset()
			l.b.WriteString(line)
		}
	}
	return len(p), nil
}
