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
	"run":     {usage: "berth run [OPTIONS] IMAGE [CMD...]", help: "Run a command in a new container", run: runVerb},
	"create":  {usage: "berth create [OPTIONS] IMAGE [CMD...]", help: "Create a container", run: createVerb},
	"start":   {usage: "berth start [-a] [-i] CONTAINER...", help: "Start stopped containers", run: startVerb},
	"attach":  {usage: "berth attach [--no-stdin] CONTAINER", help: "Attach the console to a running container (ctrl-p ctrl-q detaches)", run: attachVerb},
	"exec":    {usage: "berth exec [-d] [-i] [-t] CONTAINER CMD...", help: "Run a command in a running container", run: execVerb},
	"stop":    {usage: "berth stop [-t N] CONTAINER...", help: "Stop containers (SIGTERM, then SIGKILL)", run: stopVerb("stop")},
	"restart": {usage: "berth restart [-t N] CONTAINER...", help: "Restart containers", run: stopVerb("restart")},
	"kill":    {usage: "berth kill [-s SIGNAL] CONTAINER...", help: "Send a signal to containers", run: killVerb},
	"rm":      {usage: "berth rm [-f] [-v] CONTAINER...", help: "Remove containers (-v: and their volumes)", run: rmVerb},
	"ps":      {usage: "berth ps [-a] [-l] [-q] [--no-trunc]", help: "List containers", run: psVerb},
	"logs":    {usage: "berth logs [-f] [-t] [--tail N] CONTAINER", help: "Show a container's output", run: logsVerb},
	"inspect": {usage: "berth inspect [-f FORMAT] CONTAINER...", help: "Show containers as JSON or through a Go template", run: inspectVerb},
	"wait":    {usage: "berth wait CONTAINER...", help: "Wait for containers to stop; print their exit status", run: waitVerb},
	"images":  {usage: "berth images [-q]", help: "List images", run: imagesVerb},
	"load":    {usage: "berth load [-i FILE]", help: "Load images from a docker save tarball or OCI layout", run: loadVerb},
	"pull":    {usage: "berth pull NAME[:TAG]", help: "Pull an image from a registry ([network] proxies apply)", run: pullVerb},
	"save":    {usage: "berth save [-o FILE] IMAGE...", help: "Write images as a docker save tarball", run: saveVerb},
	"import":  {usage: "berth import FILE|- [REPO[:TAG]]", help: "Make an image of a root filesystem tarball", run: importVerb},
	"tag":     {usage: "berth tag IMAGE REPO[:TAG]", help: "Name an image", run: tagVerb},
	"build":   {usage: "berth build [-t NAME[:TAG]] [-f FILE] DIR", help: "Build an image from a Dockerfile", run: buildVerb},
	"export":  {usage: "berth export [-o FILE] CONTAINER", help: "Write a container's filesystem as a tar archive", run: exportVerb},
	"rmi":     {usage: "berth rmi [-f] IMAGE...", help: "Remove images", run: rmiVerb},
	"poweroff": {usage: "berth poweroff", help: "Stop all containers and power the host off",
		run: func(args []string, _, _ io.Writer) int { return powerCommand("poweroff", args) }},
	"reboot": {usage: "berth reboot", help: "Stop all containers and reboot the host",
		run: func(args []string, _, _ io.Writer) int { return powerCommand("reboot", args) }},
	"getenforce": {usage: "berth getenforce", help: "Show the SELinux mode: Enforcing, Permissive or Disabled", run: getenforceVerb},
	"setenforce": {usage: "berth setenforce Enforcing|Permissive|1|0", help: "Switch SELinux between enforcing and permissive until the next boot", run: setenforceVerb},
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
		fmt.Fprintf(w, "  %-40s %s\n", verbs[n].usage, verbs[n].help)
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
	// The engine's side, as docker version shows the server's, when one
	// answers (on the build machine none does).
	var server map[string]string
	if _, err := client().Do("GET", "/version", nil, nil, &server); err == nil {
		fmt.Fprintf(stdout, "server:        engine %s, API %s\n", server["Version"], server["ApiVersion"])
	}
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
