package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"berth/hostpath"
	"berth/supervise"
)

// EngineArg is the argument that makes berth the engine; PID 1 starts it.
const EngineArg = "__engine"

// engineSupervisor keeps the engine running, under the restart policy
// containers have too (supervise.Always).
type engineSupervisor struct {
	restart  supervise.Restarter
	mu       sync.Mutex
	pid      int
	restarts int
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
	// The engine answers once the bundled images are loaded: a large one
	// on a slow machine takes minutes, which the console shows.
	api := apiClient(hostpath.APISocket)
	defer api.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		if pingEngine(api) == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("the engine did not answer on %s within 10 minutes (see its lines above)", hostpath.APISocket)
}

// apiClient is an HTTP client of the engine's API socket: one transport,
// whose connection the pings reuse.
func apiClient(socket string) *http.Client {
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		}}}
}

// pingEngine asks the engine's API for /_ping.
func pingEngine(c *http.Client) error {
	resp, err := c.Get("http://berth/_ping")
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body) // read to its end: the connection is reused
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("engine: /_ping: %s", resp.Status)
	}
	return nil
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
		cmd.Env = append(os.Environ(), supervise.KeeperFDEnv+"=3")
		defer keeper.Close()
	}
	pid, done, err := s.reaper.Start(cmd)
	if err != nil {
		return fmt.Errorf("start the engine: %w", err)
	}
	os.MkdirAll(filepath.Dir(hostpath.EnginePID), 0o755)
	os.WriteFile(hostpath.EnginePID, []byte(strconv.Itoa(pid)+"\n"), 0o644)
	exited := make(chan struct{})
	sup.mu.Lock()
	sup.pid, sup.exited = pid, exited
	sup.mu.Unlock()
	started := time.Now()
	s.goProtected("engine supervisor", func() {
		ws := <-done
		close(exited)
		sup.mu.Lock()
		again, wait := sup.restart.Next(supervise.Always, ws.ExitStatus(), sup.restarts, time.Since(started))
		sup.restarts++
		sup.mu.Unlock()
		if !again {
			return
		}
		s.logf("the engine exited (status %d); restarting it in %v", ws.ExitStatus(), wait)
		if !sup.restart.Wait(wait) {
			return
		}
		if err := sup.start(s); err != nil {
			s.logf("%v", err)
		}
	})
	return nil
}

// stop asks the engine to stop every container and exit, and waits for
// it at most grace.
func (sup *engineSupervisor) stop(grace time.Duration, reap func()) {
	sup.restart.Stop()
	sup.mu.Lock()
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
