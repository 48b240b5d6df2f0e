// Package daemon is the engine process: PID 1 starts it (berth
// __engine) in a mount namespace of its own. It opens what the boot made
// (the thin pool, the bridge, the cgroup tree), loads the bundled images,
// serves the Docker Engine API over the engine, starts the declared
// containers, and stops every container when told to.
package daemon

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"berth/api"
	"berth/config"
	"berth/engine"
	"berth/hostpath"
	"berth/netconf"
	"berth/runtime"
	"berth/supervise"
	"berth/thinpool"
)

// Run is the engine process: it owns images and containers and
// serves the API. PID 1 starts it in a mount namespace of its own, so the
// mounts it makes to unpack layers never show on the host, and restarts
// it if it dies. On SIGTERM it stops every container and exits.
func Run(version string) int {
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stdout, "berth: engine: "+format+"\n", args...) }
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		logf("make mounts private: %v", err)
		return 1
	}
	c, err := config.Load(hostpath.ActiveConfig)
	if err != nil {
		logf("%v", err)
		return 1
	}
	st, err := thinpool.Open(c.PoolConfig(os.Stdout))
	if err != nil {
		logf("%v", err)
		return 1
	}
	network, err := netconf.Open(c.Bridge, hostpath.Network)
	if err != nil {
		logf("%v", err)
		return 1
	}
	rt, err := runtime.New(runtime.Config{CgroupParent: "/berth", MemoryMax: containersMemory(int64(*c.Engine.MemoryReserve), logf)})
	if err != nil {
		logf("%v", err)
		return 1
	}
	reaper := supervise.NewChildReaper()
	signals := make(chan os.Signal, 16)
	signal.Notify(signals, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT)
	opts := engine.Options{Version: version, InitBinary: hostpath.InitBinary, StateDir: hostpath.State, RunDir: hostpath.Run, Storage: st, Network: network, Reaper: reaper, Log: os.Stdout,
		Transport: engine.ProxyTransport(c.Network), Runtime: rt,
		LogMaxSize: int64(*c.Engine.LogMaxSize), LogMaxFiles: c.Engine.LogMaxFile}
	if fd, err := strconv.Atoi(os.Getenv(supervise.KeeperFDEnv)); err == nil {
		if opts.Keeper, opts.Held, err = supervise.OpenKeeper(os.NewFile(uintptr(fd), "keeper")); err != nil {
			logf("%v: running containers will not survive an engine restart", err)
		}
	}
	e, err := engine.New(opts)
	if err != nil {
		logf("%v", err)
		return 1
	}
	// Bundled images are loaded before the API answers, so that the host
	// is ready only once they are there.
	if err := e.Images.LoadBundled(hostpath.BundledImages, linePrefixer{w: os.Stdout, prefix: "berth: engine: "}); err != nil {
		logf("%v", err)
	}
	// Docker's own address too, where tools look first.
	os.Remove(hostpath.DockerSocket)
	if err := os.Symlink(hostpath.APISocket, hostpath.DockerSocket); err != nil {
		logf("%s: %v", hostpath.DockerSocket, err)
	}
	go func() {
		if err := api.NewServer(e, version).Serve(hostpath.APISocket); err != nil {
			logf("%v", err)
			os.Exit(1)
		}
	}()
	go startContainers(e, c, logf)
	for sig := range signals {
		if sig == unix.SIGCHLD {
			reaper.ReapAll()
			continue
		}
		logf("stopping containers")
		stopAll(e, 10*time.Second, reaper, signals)
		return 0
	}
	return 0
}

// containersMemory is what all containers together may use: the
// machine's memory less the host's reserve.
func containersMemory(reserve int64, logf func(string, ...any)) int64 {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		logf("no memory cap for containers: %v", err)
		return 0
	}
	total := int64(si.Totalram) * int64(si.Unit)
	if total <= 2*reserve {
		logf("memory_reserve %d MiB is half this machine's %d MiB or more: containers get half", reserve>>20, total>>20)
		return total / 2
	}
	return total - reserve
}

// stopAll stops the containers (engine.StopAll) while this goroutine
// keeps reaping their first processes.
func stopAll(e *engine.Engine, grace time.Duration, reaper *supervise.Reaper, signals <-chan os.Signal) {
	done := make(chan struct{})
	go func() { e.StopAll(grace); close(done) }()
	for {
		select {
		case <-done:
			return
		case <-signals:
			reaper.ReapAll()
		}
	}
}

// startContainers makes the declared containers real, then starts, after
// a reboot, the others whose restart policy says they run whenever the
// host does.
func startContainers(e *engine.Engine, c *config.Config, logf func(string, ...any)) {
	e.Declare(c, logf)
	for _, ct := range e.List(true) {
		p := ct.HostConfig.RestartPolicy.Name
		if _, declared := ct.Config.Labels[engine.DeclaredLabel]; declared || ct.State.Running || (p != "always" && p != "unless-stopped") {
			continue
		}
		if p == "unless-stopped" && ct.ManuallyStopped {
			continue
		}
		if err := e.ContainerStart(ct.Id); err != nil {
			logf("start %s: %v", ct.Name, err)
		}
	}
}

// linePrefixer puts prefix before each write, which carries one line.
type linePrefixer struct {
	w      io.Writer
	prefix string
}

func (p linePrefixer) Write(b []byte) (int, error) {
	if _, err := p.w.Write(append([]byte(p.prefix), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}
