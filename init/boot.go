package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"berth/config"
	"berth/hostpath"
	"berth/netconf"
	"berth/supervise"
	"berth/thinpool"
)

// system is what PID 1 knows about the running host. Boot steps fill it in;
// nothing else holds state.
type system struct {
	console  io.Writer         // every active console
	reaper   *supervise.Reaper // the one wait4(-1) loop
	config   *config.Config    // nil until read, or when it is broken
	started  time.Time
	consoles *consoleSupervisor
	// consoleFiles are the open console devices behind console.
	consoleFiles []*os.File
	storage      *thinpool.Storage // nil until the pool is open
	network      *netconf.Network  // nil until the bridge is up
	engine       *engineSupervisor // nil until the engine is started
	// keeper holds the streams and exit statuses of running containers
	// while no engine runs, so that a restarted engine re-adopts them.
	keeper *supervise.Keeper
	// rescue, when set, says why the boot stops at the rescue shell: the
	// steps after the one that set it are skipped.
	rescue string
}

// step is one boot step. A step that fails is reported and boot goes on,
// unless later steps need what it should have made (needsConfig).
type step struct {
	name        string
	run         func(*system) error
	needsConfig bool
}

// bootSteps is the boot sequence, in order:
//
//  1. move the root filesystem from the initramfs into a tmpfs (done before
//     anything else, in moveRoot, since it re-executes /init);
//  2. mount /proc, /sys, /dev, /dev/pts, /dev/shm, /run, /tmp and cgroup2;
//  3. write to every console the kernel lists, not only the last one;
//     keep PID 1 (and the engine it starts) out of the OOM killer's way;
//  4. enable the cpu, memory, pids and io controllers for child cgroups;
//  5. load the core kernel modules the image lists (virtio-rng first) and
//     the drivers the machine's devices ask for, and wait for the disks
//     that come up late (USB, NVMe);
//  6. name the disks in /dev/disk (by-id, by-label, by-partlabel);
//     read and validate /etc/berth/berth.toml;
//  7. load the SELinux policy and start again in berth_t (loadSELinux);
//     set the hostname;
//  8. bring up loopback and the host interface (DHCP or static);
//  9. mount the state disk at /var/lib/berth, and label it for SELinux
//     the first time;
//  10. open the thin pool (create it the first time, repair after a crash);
//  11. set up the container bridge, forwarding and NAT;
//  12. start the engine, which loads the bundled images and starts the
//     containers, and wait for its API;
//  13. print "berth: ready" and offer a shell on every console.
var bootSteps = []step{
	{name: "mount filesystems", run: mountFilesystems},
	{name: "attach consoles", run: attachConsoles},
	{name: "shield from the OOM killer", run: shieldFromOOM},
	{name: "enable cgroup controllers", run: enableControllers},
	{name: "load kernel modules", run: loadModules},
	{name: "name disks", run: nameDisks},
	{name: "read config", run: readConfig},
	{name: "load SELinux policy", run: loadSELinux, needsConfig: true},
	{name: "set hostname", run: setHostname, needsConfig: true},
	{name: "configure host network", run: configureHostNetwork, needsConfig: true},
	{name: "mount state disk", run: mountStateDisk, needsConfig: true},
	{name: "label state disk", run: labelStateDisk, needsConfig: true},
	{name: "open thin pool", run: openPool, needsConfig: true},
	{name: "set up container bridge", run: setUpBridge, needsConfig: true},
	{name: "start engine", run: startEngine, needsConfig: true},
}

// runInit is PID 1. It never returns: if PID 1 exits, the kernel panics.
func runInit() {
	moveRoot() // returns only once / is a tmpfs
	s := &system{console: os.Stdout, started: time.Now()}
	if ns, err := strconv.ParseInt(os.Getenv(startedEnv), 10, 64); err == nil {
		s.started = time.Unix(0, ns) // the first /init's start, before SELinux's exec
		os.Unsetenv(startedEnv)
	}
	signals := make(chan os.Signal, 16)
	signal.Notify(signals, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT, unix.SIGUSR1, unix.SIGUSR2, unix.SIGPWR)
	s.reaper = supervise.NewReaper()
	s.keeper = supervise.NewKeeper(s.logf)
	s.reaper.OnUnclaimed(s.keeper.Reaped)
	s.reaper.ReapAll() // children that exited before the first SIGCHLD

	// Ask the kernel to send SIGINT for ctrl-alt-del instead of rebooting
	// at once, so that the shutdown is orderly.
	_ = unix.Reboot(unix.LINUX_REBOOT_CMD_CAD_OFF)

	if err := protect("boot", func() error { s.boot(); return nil }); err != nil {
		s.logf("%v", err)
	}
	s.consoles = startConsoles(s)
	for {
		sig := <-signals
		if err := protect("handle "+sig.String(), func() error { s.handle(sig, signals); return nil }); err != nil {
			s.logf("%v", err)
		}
	}
}

// handle acts on one signal to PID 1.
func (s *system) handle(sig os.Signal, signals <-chan os.Signal) {
	switch sig {
	case unix.SIGCHLD:
		s.reaper.ReapAll()
	case unix.SIGUSR2, unix.SIGPWR:
		s.shutdown("power off", unix.LINUX_REBOOT_CMD_POWER_OFF, signals)
	case unix.SIGUSR1:
		s.shutdown("halt", unix.LINUX_REBOOT_CMD_HALT, signals)
	case unix.SIGTERM, unix.SIGINT:
		s.shutdown("reboot", unix.LINUX_REBOOT_CMD_RESTART, signals)
	}
}

// boot runs every boot step and ends with the ready line, or with the
// rescue shell when the config is broken.
func (s *system) boot() {
	s.logf("berth %s (%s) starting", version, commit)
	for _, st := range bootSteps {
		if (st.needsConfig && s.config == nil) || s.rescue != "" {
			continue
		}
		start := time.Now()
		err := protect(st.name, func() error { return st.run(s) })
		ms := time.Since(start).Milliseconds()
		if err != nil {
			s.logf("%s FAILED (%d ms): %v", st.name, ms, err)
			continue
		}
		s.logf("%s (%d ms)", st.name, ms)
	}
	if s.config == nil {
		s.logf("rescue shell: the config has errors (see above). Fix it where it came from (the kernel command line, the config drive, or %s and rebuild), then reboot.", hostpath.ApplianceConfig)
		return
	}
	if s.rescue != "" {
		s.logf("rescue shell: %s", s.rescue)
		return
	}
	s.logf("ready (%d ms since init started)", time.Since(s.started).Milliseconds())
}

// protect runs f and turns a panic into an error, so that no bug in a boot
// step can take PID 1 (and with it the kernel) down.
func protect(what string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in %s: %v\n%s", what, r, debug.Stack())
		}
	}()
	return f()
}

// goProtected runs f in a goroutine that recovers from panics.
func (s *system) goProtected(what string, f func()) {
	go func() {
		if err := protect(what, func() error { f(); return nil }); err != nil {
			s.logf("%v", err)
		}
	}()
}

func (s *system) logf(format string, args ...any) {
	fmt.Fprintf(s.console, "berth: "+format+"\n", args...)
}

// oomShield is the oom_score_adj of PID 1 and the engine: the kernel's
// OOM killer picks a container, never the processes that keep them.
const oomShield = -999

// shieldFromOOM sets PID 1's oom_score_adj; the engine inherits it.
func shieldFromOOM(*system) error { return setOOMScoreAdj(os.Getpid(), oomShield) }

func setOOMScoreAdj(pid, v int) error {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/oom_score_adj", pid), []byte(strconv.Itoa(v)), 0); err != nil {
		return fmt.Errorf("oom_score_adj of %d: %w", pid, err)
	}
	return nil
}

func setHostname(s *system) error {
	name := s.config.Host.Hostname
	if err := unix.Sethostname([]byte(name)); err != nil {
		return fmt.Errorf("set hostname %q: %w", name, err)
	}
	hosts := fmt.Sprintf("127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n", name)
	if err := os.WriteFile("/etc/hostname", []byte(name+"\n"), 0o644); err != nil {
		return err
	}
	return os.WriteFile("/etc/hosts", []byte(hosts), 0o644)
}
