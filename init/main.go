// Command berth is the one binary of the berth appliance. What it does
// depends on how it is started:
//
//   - as PID 1 (the kernel runs /init): the init system — boot sequence,
//     reaping, consoles, shutdown (boot.go);
//   - as poweroff, reboot or halt: asks PID 1 to shut down (power.go);
//   - otherwise: the command line, berth <verb> (cli.go).
//
// This folder is named init after its main job; Go cannot import a package
// named init, so it is the main package of the berth binary.
package main

import (
	"os"
	"path/filepath"
)

// Set at build time with -ldflags "-X main.commit=...".
var (
	version = "0.1.0"
	commit  = "unknown"
)

func main() {
	if os.Getpid() == 1 {
		runInit() // never returns
	}
	switch filepath.Base(os.Args[0]) {
	case "poweroff", "reboot", "halt":
		os.Exit(powerCommand(filepath.Base(os.Args[0]), os.Args[1:]))
	}
	os.Exit(runCLI(os.Args[1:], os.Stdout, os.Stderr))
}
