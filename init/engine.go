package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"berth/config"
	"berth/engine"
	"berth/image"
	"berth/netconf"
	"berth/runtime"
	"berth/thinpool"
)

// EngineArg is the argument that makes berth the engine; PID 1 starts it.
const EngineArg = "__engine"

// EnginePIDFile holds the pid of the running engine.
const EnginePIDFile = "/run/berth/engine.pid"

// runEngine is the engine process: it owns images and containers and
// serves the API. PID 1 starts it in a mount namespace of its own, so the
// mounts it makes to unpack layers never show on the host, and restarts
// it if it dies. On SIGTERM it stops every container and exits.
func runEngine() int {
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stdout, "berth: engine: "+format+"\n", args...) }
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		logf("make mounts private: %v", err)
		return 1
	}
	c, err := config.Load(config.ActivePath)
	if err != nil {
		logf("%v", err)
		return 1
	}
	st, err := thinpool.Open(poolConfig(c, os.Stdout))
	if err != nil {
		logf("%v", err)
		return 1
	}
	network, err := netconf.Open(c.Bridge, NetworkDir)
	if err != nil {
		logf("%v", err)
		return 1
	}
	rt, err := runtime.New(runtime.Config{CgroupParent: "/berth", MemoryMax: containersMemory(int64(*c.Engine.MemoryReserve), logf)})
	if err != nil {
		logf("%v", err)
		return 1
	}
	reaper := engine.NewChildReaper()
	signals := make(chan os.Signal, 16)
	signal.Notify(signals, unix.SIGCHLD, unix.SIGTERM, unix.SIGINT)
	opts := engine.Options{StateDir: StateDir, RunDir: "/run/berth", Storage: st, Network: network, Reaper: reaper, Log: os.Stdout,
		Transport: engine.ProxyTransport(c.Network), Runtime: rt,
		LogMaxSize: int64(*c.Engine.LogMaxSize), LogMaxFiles: c.Engine.LogMaxFile}
	if fd, err := strconv.Atoi(os.Getenv(engine.KeeperFDEnv)); err == nil {
		if opts.Keeper, opts.Held, err = engine.OpenKeeper(os.NewFile(uintptr(fd), "keeper")); err != nil {
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
	loadBundledImages(e, logf)
	go func() {
		if err := e.Serve(engine.SocketPath, version); err != nil {
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
func stopAll(e *engine.Engine, grace time.Duration, reaper *engine.Reaper, signals <-chan os.Signal) {
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

// loadBundledImages loads the images the appliance carries, once: a
// bundle loaded before (same name, same content) is not loaded again.
func loadBundledImages(e *engine.Engine, logf func(string, ...any)) {
	record := filepath.Join(StateDir, "images", "bundled.json")
	done := map[string]string{}
	if b, err := os.ReadFile(record); err == nil {
		json.Unmarshal(b, &done)
	}
	files, _ := filepath.Glob(filepath.Join(image.BundledImagesDir, "*.tar"))
	for _, f := range files {
		sum, err := bundleSum(f)
		if err != nil || done[filepath.Base(f)] == sum {
			continue
		}
		logf("loading bundled image %s", filepath.Base(f))
		if _, err := e.Images.LoadArchive(f, linePrefixer{w: os.Stdout, prefix: "berth: engine: "}); err != nil {
			logf("%v", err)
			continue
		}
		done[filepath.Base(f)] = sum
		b, _ := json.Marshal(done)
		os.WriteFile(record, b, 0o600)
	}
}

// bundleSum is the digest of a bundled image: the one the build wrote
// beside it, else computed.
func bundleSum(path string) (string, error) {
	if b, err := os.ReadFile(path + ".sha256"); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	return image.FileSHA256(path)
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
		if err := e.Start(ct.Id); err != nil {
			logf("start %s: %v", ct.Name, err)
		}
	}
}

// engineSupervisor keeps the engine running.
type engineSupervisor struct {
	mu       sync.Mutex
	pid      int
	stopping bool
	exited   chan struct{} // closed when the current engine process ends
}

// startEngine starts the engine and waits until its API answers.
func startEngine(s *system) error {
	if s.storage == nil || s.network == nil {
		return fmt.Errorf("not started: the thin pool or the bridge failed (see above)")
	}
	sup := &engineSupervisor{}
	s.engine = sup
	if err := sup.start(s); err != nil {
		return err
	}
	client := engine.NewClient(engine.SocketPath)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := client.Do("GET", "/_ping", nil, nil, nil); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("the engine did not answer on %s within a minute", engine.SocketPath)
}

func (sup *engineSupervisor) start(s *system) error {
	cmd := exec.Command("/proc/self/exe", EngineArg)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNS}
	keeper, err := s.keeper.Connect()
	if err != nil {
		s.logf("%v: running containers will not survive an engine restart", err)
	} else {
		cmd.ExtraFiles = []*os.File{keeper}
		cmd.Env = append(os.Environ(), engine.KeeperFDEnv+"=3")
		defer keeper.Close()
	}
	pid, done, err := s.reaper.Start(cmd)
	if err != nil {
		return fmt.Errorf("start the engine: %w", err)
	}
	os.MkdirAll(filepath.Dir(EnginePIDFile), 0o755)
	os.WriteFile(EnginePIDFile, []byte(strconv.Itoa(pid)+"\n"), 0o644)
	exited := make(chan struct{})
	sup.mu.Lock()
	sup.pid, sup.exited = pid, exited
	sup.mu.Unlock()
	started := time.Now()
	s.goProtected("engine supervisor", func() {
		ws := <-done
		close(exited)
		sup.mu.Lock()
		stopping := sup.stopping
		sup.mu.Unlock()
		if stopping {
			return
		}
		wait := time.Second
		if time.Since(started) < 10*time.Second {
			wait = 5 * time.Second
		}
		s.logf("the engine exited (status %d); restarting it in %v", ws.ExitStatus(), wait)
		time.Sleep(wait)
		if err := sup.start(s); err != nil {
			s.logf("%v", err)
		}
	})
	return nil
}

// stop asks the engine to stop every container and exit, and waits for
// it at most grace.
func (sup *engineSupervisor) stop(grace time.Duration, reap func()) {
	sup.mu.Lock()
	sup.stopping = true
	pid, exited := sup.pid, sup.exited
	sup.mu.Unlock()
	if pid == 0 {
		return
	}
	unix.Kill(pid, unix.SIGTERM)
	deadline := time.After(grace)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-exited:
			return
		case <-deadline:
			return
		case <-tick.C:
			reap()
		}
	}
}
