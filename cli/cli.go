// Package cli is berth's command line: the Docker verbs, each a client of
// the engine's Docker Engine API through Docker's own Go client and
// nothing else, and the host's own verbs (storage, config, SELinux mode,
// power), which act on the host where the CLI runs.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"golang.org/x/term"

	"berth/api"
	"berth/hostpath"
)

// Version and Commit are berth's, set by the binary that runs the CLI.
var (
	Version = "0.1.0"
	Commit  = "unknown"
)

// Exit statuses of Docker's CLI: 125 when the command itself failed (a
// bad flag, an error from the engine), 126 and 127 when the container's
// command could not be run or found.
const (
	ExitFailed     = 125
	ExitNotRunning = 126
	ExitNotFound   = 127
)

// env is what a verb runs with: its streams and the engine's client.
type env struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
	client         *client.Client
}

// verb is one berth subcommand.
type verb struct {
	usage string
	help  string
	run   func(e *env, args []string) int
}

// HostEnv names the engine's address, unix:///run/berth.sock by default.
const HostEnv = "BERTH_HOST"

// newClient is Docker's Go client on the engine's socket, speaking the
// API version berth serves.
func newClient() (*client.Client, error) {
	host := os.Getenv(HostEnv)
	if host == "" {
		host = "unix://" + hostpath.APISocket
	}
	return client.NewClientWithOpts(client.WithHost(host), client.WithVersion(api.Version))
}

// Run runs berth with args (without the program name) and returns the
// exit status.
func Run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		usage(stdout)
		return 0
	}
	name, rest := args[0], args[1:]
	// Docker's management commands: container ls, image rm, system df...
	if sub, ok := groups[name]; ok {
		if len(rest) == 0 {
			fmt.Fprintf(stderr, "usage: berth %s COMMAND; commands: %s\n", name, strings.Join(sortedKeys(sub), ", "))
			return 1
		}
		target, ok := sub[rest[0]]
		if !ok {
			fmt.Fprintf(stderr, "berth: %q is not a berth %s command; see berth help\n", rest[0], name)
			return 1
		}
		name, rest = target, rest[1:]
	}
	v, ok := verbs[name]
	if !ok {
		fmt.Fprintf(stderr, "berth: %q is not a berth command; see berth help\n", name)
		return 2
	}
	e := &env{ctx: context.Background(), stdin: stdin, stdout: stdout, stderr: stderr}
	if c, err := newClient(); err == nil {
		e.client = c
		defer c.Close()
	}
	return v.run(e, rest)
}

// groups map Docker's management commands to berth's verbs.
var groups = map[string]map[string]string{
	"container": {"ls": "ps", "list": "ps", "ps": "ps", "run": "run", "create": "create", "start": "start", "stop": "stop",
		"restart": "restart", "kill": "kill", "rm": "rm", "remove": "rm", "logs": "logs", "inspect": "container-inspect",
		"wait": "wait", "attach": "attach", "exec": "exec", "export": "export", "rename": "rename", "update": "update",
		"pause": "pause", "unpause": "unpause", "top": "top", "port": "port", "diff": "diff", "cp": "cp", "commit": "commit",
		"stats": "stats", "prune": "container-prune"},
	"image": {"ls": "images", "list": "images", "rm": "rmi", "remove": "rmi", "inspect": "image-inspect", "load": "load",
		"save": "save", "import": "import", "tag": "tag", "pull": "pull", "push": "push", "history": "history",
		"build": "build", "prune": "image-prune"},
	"system":  {"df": "system-df", "prune": "system-prune", "info": "info", "events": "events"},
	"builder": {"prune": "builder-prune", "build": "build"},
	"volume":  {"ls": "volume-ls", "list": "volume-ls", "create": "volume-create", "inspect": "volume-inspect", "rm": "volume-rm", "remove": "volume-rm", "prune": "volume-prune"},
	"network": {"ls": "network-ls", "list": "network-ls", "inspect": "network-inspect", "create": "network-create", "rm": "network-rm", "remove": "network-rm", "prune": "network-prune"},
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: berth COMMAND [ARGS]\n\nA minimal Docker host. Commands:")
	for _, n := range sortedKeys(verbs) {
		if strings.Contains(n, "-") && !verbs[n].listed() {
			continue
		}
		fmt.Fprintf(w, "  %-50s %s\n", verbs[n].usage, verbs[n].help)
	}
	fmt.Fprintln(w, "\nManagement commands, as Docker's:")
	for _, g := range sortedKeys(groups) {
		fmt.Fprintf(w, "  berth %-8s %s\n", g, strings.Join(sortedKeys(groups[g]), ", "))
	}
}

// listed says whether a verb shows in berth help: those reached through a
// management command (image-prune) show there instead.
func (v verb) listed() bool {
	return !strings.HasPrefix(v.usage, "berth container ") && !strings.HasPrefix(v.usage, "berth image ") &&
		!strings.HasPrefix(v.usage, "berth system ") && !strings.HasPrefix(v.usage, "berth builder ") &&
		!strings.HasPrefix(v.usage, "berth volume ") && !strings.HasPrefix(v.usage, "berth network ")
}

// fail prints err as berth's error and returns status.
func (e *env) fail(status int, err error) int {
	fmt.Fprintf(e.stderr, "berth: %v\n", err)
	return status
}

// needClient reports, as Docker's CLI does, that no engine answers.
func (e *env) needClient() error {
	if e.client == nil {
		return errors.New("cannot reach the engine: is this a booted berth host?")
	}
	return nil
}

// argCount is how many arguments a verb takes: from min to max, max < 0
// for no limit.
type argCount struct{ min, max int }

var anyCount = argCount{0, -1}

func exactly(n int) argCount         { return argCount{n, n} }
func atLeast(n int) argCount         { return argCount{n, -1} }
func atMost(n int) argCount          { return argCount{0, n} }
func between(lo, hi int) argCount    { return argCount{lo, hi} }
func (a argCount) allows(n int) bool { return n >= a.min && (a.max < 0 || n <= a.max) }

// words are Docker's for a wrong count: "requires exactly 1 argument."
func (a argCount) words(verb string) string {
	args := func(n int) string {
		if n == 1 {
			return "1 argument"
		}
		return fmt.Sprintf("%d arguments", n)
	}
	var want string
	switch {
	case a.min == a.max:
		want = "exactly " + args(a.min)
	case a.max < 0:
		want = "at least " + args(a.min)
	case a.min == 0:
		want = "at most " + args(a.max)
	default:
		want = fmt.Sprintf("at least %d and at most %s", a.min, args(a.max))
	}
	return fmt.Sprintf("%q requires %s.", strings.ReplaceAll(verb, "-", " "), want)
}

// prepare is the start of every verb that talks to the engine: parse its
// flags, check its count of arguments, open the client. When it returns
// false, the verb returns the status it gives.
func (e *env) prepare(f *flags, args []string, verb string, want argCount) (int, bool) {
	if f.parse(args) != nil {
		return ExitFailed, false
	}
	if !want.allows(f.NArg()) {
		return e.usageError(verb, want.words(verb)), false
	}
	if err := e.needClient(); err != nil {
		return e.fail(1, err), false
	}
	return 0, true
}

// usageError prints a verb's usage after what was wrong and returns 1,
// as Docker's CLI does for a wrong number of arguments.
func (e *env) usageError(v, msg string) int {
	fmt.Fprintf(e.stderr, "berth: %s\nusage: %s\n", msg, verbs[v].usage)
	return 1
}

// isNotFound reports whether the engine answered 404.
func isNotFound(err error) bool { return errdefs.IsNotFound(err) }

// listFlag is a repeatable string flag (-p, -v, -e, ...).
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// flags is a verb's flag set, read as Docker's CLI reads flags: long and
// short names, combined short booleans (-it), short flags with their value
// attached (-p8080:80), and flags after the arguments unless the verb's
// arguments are a command of their own (run, exec).
type flags struct {
	*flag.FlagSet
	bools        map[string]bool
	values       map[string]bool // short flags that take a value
	interspersed bool
}

func newFlags(verb string, stderr io.Writer) *flags {
	fs := flag.NewFlagSet("berth "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintf(stderr, "usage: %s\n", verbs[verb].usage) }
	return &flags{FlagSet: fs, bools: map[string]bool{}, values: map[string]bool{}, interspersed: true}
}

func (f *flags) boolVar(p *bool, names ...string) {
	for _, n := range names {
		f.BoolVar(p, n, *p, "")
		if len(n) == 1 {
			f.bools[n] = true
		}
	}
}

func (f *flags) stringVar(p *string, value string, names ...string) {
	for _, n := range names {
		f.StringVar(p, n, value, "")
		if len(n) == 1 {
			f.values[n] = true
		}
	}
}

func (f *flags) listVar(p *listFlag, names ...string) {
	for _, n := range names {
		f.Var(p, n, "")
		if len(n) == 1 {
			f.values[n] = true
		}
	}
}

func (f *flags) intVar(p *int, value int, names ...string) {
	for _, n := range names {
		f.IntVar(p, n, value, "")
		if len(n) == 1 {
			f.values[n] = true
		}
	}
}

// parse expands combined short flags, then parses; unless the verb takes
// a command, flags may follow the arguments.
func (f *flags) parse(args []string) error {
	var positional []string
	rest := f.expand(args)
	for {
		if err := f.Parse(rest); err != nil {
			return err
		}
		rest = f.Args()
		if len(rest) == 0 {
			break
		}
		if !f.interspersed || rest[0] == "--" {
			if rest[0] == "--" && f.interspersed {
				rest = rest[1:]
			}
			positional = append(positional, rest...)
			break
		}
		positional = append(positional, rest[0])
		rest = rest[1:]
	}
	// What is left for f.Args(): the positional arguments.
	return f.Parse(append([]string{"--"}, positional...))
}

// expand turns -it into -i -t and -p8080:80 into -p 8080:80; for a verb
// that takes a command, it leaves everything from the first argument that
// is no flag or flag value alone.
func (f *flags) expand(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if !f.interspersed {
				return append(out, args[i:]...)
			}
			out = append(out, a)
			continue
		}
		name := strings.TrimLeft(a, "-")
		if strings.HasPrefix(a, "--") || len(name) == 1 {
			out = append(out, a)
			if !strings.Contains(name, "=") && f.takesValue(name) && i+1 < len(args) {
				i++
				out = append(out, args[i])
			}
			continue
		}
		var expanded []string
		for j := 1; j < len(a); j++ {
			c := string(a[j])
			if f.bools[c] {
				expanded = append(expanded, "-"+c)
				continue
			}
			if f.values[c] {
				expanded = append(expanded, "-"+c)
				if v := strings.TrimPrefix(a[j+1:], "="); v != "" {
					expanded = append(expanded, v)
				} else if i+1 < len(args) {
					i++
					expanded = append(expanded, args[i])
				}
				break
			}
			expanded = nil // not a combination of berth's flags: leave it to flag
			break
		}
		if expanded == nil {
			out = append(out, a)
		} else {
			out = append(out, expanded...)
		}
	}
	return out
}

// takesValue reports whether flag name is one that takes a value.
func (f *flags) takesValue(name string) bool {
	fl := f.Lookup(name)
	if fl == nil {
		return false
	}
	b, ok := fl.Value.(interface{ IsBoolFlag() bool })
	return !ok || !b.IsBoolFlag()
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// confirm asks, as Docker's prunes do, unless force.
func (e *env) confirm(force bool, warning string) bool {
	if force {
		return true
	}
	fmt.Fprintf(e.stdout, "%s\nAre you sure you want to continue? [y/N] ", warning)
	var answer string
	fmt.Fscanln(e.stdin, &answer)
	answer = strings.ToLower(strings.TrimSpace(answer))
	return answer == "y" || answer == "yes"
}
