// Command berth is the one binary of the berth appliance. What it does
// depends on how it is started:
//
//   - as PID 1 (the kernel runs /init): the init system — boot sequence,
//     reaping, consoles, shutdown (boot.go);
//   - as berth __engine, started by PID 1: the container engine (engine.go);
//   - as berth __container, started by the engine: a container's first
//     process (../engine/child.go);
//   - as berth __exec, started by the engine: a command run in a running
//     container (../engine/exec.go);
//   - as poweroff, reboot or halt: asks PID 1 to shut down (power.go);
//   - otherwise: the command line, berth <verb> (cli.go).
//
// This folder is named init after its main job; Go cannot import a package
// named init, so it is the main package of the berth binary.
package main

import (
	"os"
	"path/filepath"

	"berth/engine"
)

// Set at build time with -ldflags "-X main.commit=...".
var (
	version = "0.1.0"
	commit  = "unknown"
)

func main() {
	// The roles first: a container's first process is PID 1 of its own
	// PID namespace, and must not take itself for the host's init.
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case EngineArg:
			os.Exit(runEngine())
		case engine.ChildArg:
			engine.RunChild() // never returns
		case engine.ExecArg:
			engine.RunExec() // never returns
		}
	}
	if os.Getpid() == 1 {
		runInit() // never returns
	}
	switch filepath.Base(os.Args[0]) {
	case "poweroff", "reboot", "halt":
		os.Exit(powerCommand(filepath.Base(os.Args[0]), os.Args[1:]))
	}
	os.Exit(runCLI(os.Args[1:], os.Stdout, os.Stderr))
}
