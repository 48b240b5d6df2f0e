// Package filecontexts reads an SELinux policy's file_contexts and tells
// the label a path should have, as libselinux's matchpathcon does: PID 1
// labels its root filesystem with it once the policy is loaded.
//
// The rules libselinux follows, and this package too:
//
//   - each line is "regex [type] context"; the regex matches the whole
//     path; type (-- file, -d directory, -l link, -c, -b, -s, -p) limits
//     it to one kind of file; context <<none>> means "leave unlabelled";
//   - entries without regex characters are tried first, then the regexes
//     from the last line up: the first that matches wins (secilc writes
//     the file from the least specific entry to the most);
//   - the equivalences of file_contexts.subs_dist and .subs ("/bin
//     /usr/bin") rewrite a path's prefix before it is matched.
package filecontexts

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strings"
)

// Contexts is a parsed file_contexts.
type Contexts struct {
	exact []spec // no regex characters: tried first, the last one first
	regex []spec // tried from the last one up
	subs  [][2]string
}

type spec struct {
	pattern string
	re      *regexp.Regexp
	mode    fs.FileMode // the kind of file it is for, or 0 for any
	context string
	line    int
}

// kinds are file_contexts' file type fields.
var kinds = map[string]fs.FileMode{
	"--": 0, "-d": fs.ModeDir, "-l": fs.ModeSymlink, "-c": fs.ModeCharDevice | fs.ModeDevice,
	"-b": fs.ModeDevice, "-s": fs.ModeSocket, "-p": fs.ModeNamedPipe,
}

// regular stands for "--", a regular file, whose fs.FileMode type is 0.
const regular = fs.ModeIrregular

// Load reads the file_contexts at path, with its .subs_dist and .subs
// equivalences when they exist.
func Load(path string) (*Contexts, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("filecontexts: %w", err)
	}
	defer f.Close()
	c, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("filecontexts: %s: %w", path, err)
	}
	for _, suffix := range []string{".subs_dist", ".subs"} {
		if b, err := os.ReadFile(path + suffix); err == nil {
			c.addSubs(string(b))
		}
	}
	return c, nil
}

// Parse reads file_contexts lines.
func Parse(r io.Reader) (*Contexts, error) {
	c := &Contexts{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		s := spec{pattern: f[0], line: n}
		switch len(f) {
		case 2:
			s.context = f[1]
		case 3:
			m, ok := kinds[f[1]]
			if !ok {
				return nil, fmt.Errorf("line %d: unknown file type %q", n, f[1])
			}
			if f[1] == "--" {
				m = regular
			}
			s.mode, s.context = m, f[2]
		default:
			return nil, fmt.Errorf("line %d: want regex [type] context, got %q", n, sc.Text())
		}
		if !strings.ContainsAny(s.pattern, `.^$?*+|[({\`) {
			c.exact = append(c.exact, s)
			continue
		}
		re, err := regexp.Compile("^(?:" + s.pattern + ")$")
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		s.re = re
		c.regex = append(c.regex, s)
	}
	return c, sc.Err()
}

func (c *Contexts) addSubs(text string) {
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && !strings.HasPrefix(f[0], "#") {
			c.subs = append(c.subs, [2]string{f[0], f[1]})
		}
	}
}

// substitute rewrites path's prefix by the first equivalence that applies.
func (c *Contexts) substitute(path string) string {
	for _, s := range c.subs {
		if path == s[0] || strings.HasPrefix(path, s[0]+"/") {
			return s[1] + path[len(s[0]):]
		}
	}
	return path
}

// Lookup returns the context for path, a file of kind mode (its
// fs.FileMode type bits; a regular file is 0), and false when the policy
// says to leave it unlabelled or names nothing for it.
func (c *Contexts) Lookup(path string, mode fs.FileMode) (string, bool) {
	path = c.substitute(path)
	kind := mode.Type()
	if kind == 0 {
		kind = regular
	}
	matches := func(s spec) bool { return s.mode == 0 || s.mode == kind }
	for i := len(c.exact) - 1; i >= 0; i-- {
		if s := c.exact[i]; s.pattern == path && matches(s) {
			return result(s)
		}
	}
	for i := len(c.regex) - 1; i >= 0; i-- {
		if s := c.regex[i]; matches(s) && s.re.MatchString(path) {
			return result(s)
		}
	}
	return "", false
}

func result(s spec) (string, bool) {
	if s.context == "<<none>>" {
		return "", false
	}
	return s.context, true
}
