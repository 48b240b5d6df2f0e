package cli

import (
	"fmt"
	"os"
	"strings"

	"github.com/opencontainers/selinux/go-selinux"
	"golang.org/x/sys/unix"

	"berth/config"
	"berth/hostpath"
	"berth/thinpool"
)

// This file is the host's own verbs: they act on the host the CLI runs
// on (its pool, its config, SELinux, PID 1), not through the engine.

// storageVerb is the thin pool's admin tool, as dmsetup was for Docker's:
// berth storage ls | create NAME [ORIGIN] | rm NAME | activate NAME | deactivate NAME | grow [SIZE]
func storageVerb(e *env, args []string) int {
	const usage = "usage: berth storage ls | create NAME [ORIGIN] | rm NAME | activate NAME | deactivate NAME | grow [SIZE]"
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, usage)
		return 2
	}
	c, err := config.Load(hostpath.ActiveConfig)
	if err != nil {
		return e.fail(1, err)
	}
	st, err := thinpool.Open(c.PoolConfig(e.stderr))
	if err != nil {
		return e.fail(1, fmt.Errorf("storage: %w", err))
	}
	defer st.Close()
	fail := func(err error) int {
		if err != nil {
			fmt.Fprintf(e.stderr, "berth storage %s: %v\n", args[0], err)
			return 1
		}
		return 0
	}
	switch {
	case args[0] == "ls" && len(args) == 1:
		devs, err := st.Devices()
		if err != nil {
			return fail(err)
		}
		tw := newTable(e.stdout)
		fmt.Fprintln(tw, "NAME\tID\tSIZE\tORIGIN\tACTIVE")
		for _, d := range devs {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%v\n", d.Name, d.ID, humanSize(int64(d.Size)), d.Origin, d.Active)
		}
		tw.Flush()
		return 0
	case args[0] == "create" && (len(args) == 2 || len(args) == 3):
		origin := ""
		if len(args) == 3 {
			origin = args[2]
		}
		return fail(st.Create(args[1], origin))
	case args[0] == "rm" && len(args) == 2:
		return fail(st.Remove(args[1]))
	case args[0] == "activate" && len(args) == 2:
		path, err := st.Activate(args[1])
		if err == nil {
			fmt.Fprintln(e.stdout, path)
		}
		return fail(err)
	case args[0] == "deactivate" && len(args) == 2:
		return fail(st.Deactivate(args[1]))
	case args[0] == "grow" && len(args) <= 2:
		var size config.Size
		if len(args) == 2 {
			if size, err = config.ParseSize(args[1]); err != nil {
				return fail(err)
			}
		}
		return fail(st.Grow(int64(size)))
	}
	fmt.Fprintln(e.stderr, usage)
	return 2
}

func configVerb(e *env, args []string) int {
	if len(args) != 2 || args[0] != "check" {
		fmt.Fprintln(e.stderr, "usage: berth config check FILE")
		return 2
	}
	c, err := config.Load(args[1])
	if err != nil {
		fmt.Fprintln(e.stderr, err)
		return 1
	}
	fmt.Fprintf(e.stdout, "%s: ok (%d containers)\n", args[1], len(c.Containers))
	return 0
}

// selinuxMode is the mode SELinux runs in now, as getenforce prints it.
func selinuxMode() string {
	if !selinux.GetEnabled() {
		return "Disabled"
	}
	switch selinux.EnforceMode() {
	case selinux.Enforcing:
		return "Enforcing"
	case selinux.Permissive:
		return "Permissive"
	}
	return "Disabled"
}

// getenforceVerb prints the SELinux mode, as getenforce does.
func getenforceVerb(e *env, args []string) int {
	if len(args) != 0 {
		fmt.Fprintln(e.stderr, "usage: getenforce")
		return 2
	}
	fmt.Fprintln(e.stdout, selinuxMode())
	return 0
}

// setenforceVerb switches SELinux between enforcing and permissive until
// the next boot, as setenforce does; [security] selinux sets the mode a
// boot starts in.
func setenforceVerb(e *env, args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(e.stderr, "usage: setenforce [ Enforcing | Permissive | 1 | 0 ]")
		return 2
	}
	mode := selinux.Permissive
	switch strings.ToLower(args[0]) {
	case "1", "enforcing":
		mode = selinux.Enforcing
	case "0", "permissive":
	default:
		fmt.Fprintf(e.stderr, "setenforce: %q is neither Enforcing (1) nor Permissive (0)\n", args[0])
		return 2
	}
	if selinuxMode() == "Disabled" {
		fmt.Fprintln(e.stderr, "setenforce: SELinux is disabled: no policy is loaded ([security] selinux in the config)")
		return 1
	}
	if err := selinux.SetEnforceMode(mode); err != nil {
		fmt.Fprintf(e.stderr, "setenforce: %v\n", err)
		return 1
	}
	return 0
}

// PowerSignals are the signals that ask PID 1 to shut down, as busybox's
// init understands them too: poweroff SIGUSR2, halt SIGUSR1, reboot SIGTERM.
var PowerSignals = map[string]unix.Signal{
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

// Power is poweroff, reboot and halt: it signals PID 1, which stops
// every process, unmounts and syncs first. With -f it calls reboot(2) at
// once, as busybox does.
func Power(name string, args []string) int {
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
	if err := unix.Kill(1, PowerSignals[name]); err != nil {
		fmt.Fprintf(os.Stderr, "%s: signal init: %v\n", name, err)
		return 1
	}
	return 0
}
