package main

import (
	"fmt"
	"io"
	"runtime"
	"sort"

	"golang.org/x/sys/unix"

	"berth/config"
)

// verb is one berth subcommand.
type verb struct {
	usage string
	help  string
	run   func(args []string, stdout, stderr io.Writer) int
}

// verbs is the command line. Later verbs (run, ps, images, ...) talk to
// the engine over its socket; these need no engine.
var verbs = map[string]verb{
	"version": {usage: "berth version", help: "Show the berth version, git commit and kernel release", run: versionVerb},
	"info":    {usage: "berth info", help: "Show the storage pool and host, as docker info", run: infoVerb},
	"storage": {usage: "berth storage ls|create|rm|...", help: "Inspect and manage the thin pool's devices", run: storageVerb},
	"config":  {usage: "berth config check FILE", help: "Check a berth.toml; errors name file:line:col and the field", run: configVerb},
	"poweroff": {usage: "berth poweroff", help: "Stop all containers and power the host off",
		run: func(args []string, _, _ io.Writer) int { return powerCommand("poweroff", args) }},
	"reboot": {usage: "berth reboot", help: "Stop all containers and reboot the host",
		run: func(args []string, _, _ io.Writer) int { return powerCommand("reboot", args) }},
}

// runCLI runs berth with args (without the program name) and returns the
// exit status: 0 for success, 1 when the verb failed, 2 for bad usage.
func runCLI(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "--help" || args[0] == "-h" {
		usage(stdout)
		return 0
	}
	v, ok := verbs[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "berth: %q is not a berth command; see berth help\n", args[0])
		return 2
	}
	return v.run(args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: berth COMMAND [ARGS]\n\nA minimal Docker host. Commands:")
	names := make([]string, 0, len(verbs))
	for n := range verbs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-26s %s\n", verbs[n].usage, verbs[n].help)
	}
}

func versionVerb(args []string, stdout, stderr io.Writer) int {
	if len(args) != 0 {
		fmt.Fprintln(stderr, "usage: berth version")
		return 2
	}
	var u unix.Utsname
	kernel := "unknown"
	if unix.Uname(&u) == nil {
		kernel = unix.ByteSliceToString(u.Release[:])
	}
	fmt.Fprintf(stdout, "berth version %s\ngit commit:    %s\nkernel:        %s\ngo version:    %s\n",
		version, commit, kernel, runtime.Version())
	return 0
}

func configVerb(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: berth config check FILE")
		return 2
	}
	c, err := config.Load(args[1])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok (%d containers)\n", args[1], len(c.Containers))
	return 0
}
