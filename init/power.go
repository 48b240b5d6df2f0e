package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// powerSignals are the signals that ask PID 1 to shut down, as busybox's
// init understands them too: poweroff SIGUSR2, halt SIGUSR1, reboot SIGTERM.
var powerSignals = map[string]unix.Signal{
	"poweroff": unix.SIGUSR2,
	"halt":     unix.SIGUSR1,
	"reboot":   unix.SIGTERM,
}

// powerRebootCmds are what -f calls at once, without an orderly shutdown.
var powerRebootCmds = map[string]int{
	"poweroff": unix.LINUX_REBOOT_CMD_POWER_OFF,
	"halt":     unix.LINUX_REBOOT_CMD_HALT,
	"reboot":   unix.LINUX_REBOOT_CMD_RESTART,
}

// powerCommand implements poweroff, reboot and halt: it signals PID 1,
// which stops every process, unmounts and syncs first. With -f it calls
// reboot(2) at once, as busybox does.
func powerCommand(name string, args []string) int {
	force := false
	for _, a := range args {
		switch a {
		case "-f", "--force":
			force = true
		default:
			fmt.Fprintf(os.Stderr, "usage: %s [-f]\n", name)
			return 2
		}
	}
	if force {
		unix.Sync()
		if err := unix.Reboot(powerRebootCmds[name]); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
			return 1
		}
		return 0
	}
	if err := unix.Kill(1, powerSignals[name]); err != nil {
		fmt.Fprintf(os.Stderr, "%s: signal init: %v\n", name, err)
		return 1
	}
	return 0
}
