// Command berth is the one binary of the berth appliance. What it does
// depends on how it is started:
//
//   - as PID 1 (the kernel runs /init): the init system — boot sequence,
//     reaping, consoles, shutdown (boot.go);
//   - as berth __engine, started by PID 1: the container engine
//     (daemon.Run; PID 1's supervision of it is engine.go);
//   - as berth __container, started by the engine: a container's first
//     process (runtime.RunInit);
//   - as berth __exec, started by the engine: the helper that runs a
//     command in a running container (runtime.RunExec);
//   - as poweroff, reboot or halt: asks PID 1 to shut down (cli.Power);
//   - as getenforce or setenforce: SELinux's mode (the CLI's verbs);
//   - otherwise: the command line, berth <verb> (cli.Run).
//
// This folder is named init after its main job; Go cannot import a package
// named init, so it is the main package of the berth binary.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"

	"berth/cli"
	"berth/daemon"
	"berth/runtime"
)

// Set at build time with -ldflags "-X main.commit=...".
var (
	version = "0.1.0"
	commit  = "unknown"
)

// init keeps the main goroutine on the main thread for good, in every
// role. A goroutine that changes its thread's namespaces or root (the
// engine's docker cp, diff and export enter a container's mount
// namespace on a locked thread) ends its thread when it ends; but Go
// cannot end a process's main thread, and parks it instead, for ever,
// still in that namespace. The parked thread held the container's mount,
// and so its device: docker rm -f failed with "device or resource busy".
// Locked here, the main thread runs main's goroutine and no other.
func init() { goruntime.LockOSThread() }

func main() {
	// The roles first: a container's first process is PID 1 of its own
	// PID namespace, and must not take itself for the host's init.
	runtime.RunRole(os.Args) // a container's process: never returns
	if len(os.Args) > 1 && os.Args[1] == EngineArg {
		os.Exit(daemon.Run(version))
	}
	if os.Args[0] == "/proc/self/exe" {
		// A script in a container whose first line is #!/proc/self/exe,
		// run by the runtime: berth's binary (its sealed copy) has nothing
		// to do inside a container.
		fmt.Fprintln(os.Stderr, "berth: this is berth's own binary, run as the interpreter of a script (#!/proc/self/exe) inside a container; it does nothing there")
		os.Exit(runtime.ExitNotRunnable)
	}
	if os.Getpid() == 1 && os.Args[0] == "/init" {
		runInit() // never returns
	}
	cli.Version, cli.Commit = version, commit
	switch name := filepath.Base(os.Args[0]); name {
	case "poweroff", "reboot", "halt":
		os.Exit(cli.Power(name, os.Args[1:]))
	case "getenforce", "setenforce":
		os.Exit(cli.Run(append([]string{name}, os.Args[1:]...), os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(cli.Run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
