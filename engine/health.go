package engine

import (
	"bytes"
	"io"
	"os"
	"time"

	"github.com/docker/docker/api/types/container"
	"golang.org/x/sys/unix"

	"berth/runtime"
)

// Docker's defaults for a health check.
const (
	healthInterval    = 30 * time.Second
	healthTimeout     = 30 * time.Second
	healthRetries     = 3
	healthLogEntries  = 5
	healthOutputLimit = 4096
)

// healthRun is the health check of a running container.
type healthRun struct {
	stop chan struct{}
}

// startHealth starts the container's health check, if it has one (its
// own --health-cmd or its image's HEALTHCHECK): the command runs as an
// exec every interval; retries failures in a row after the start period
// make the container unhealthy, a success healthy, as Docker's.
func (e *Engine) startHealth(en *entry) {
	e.mu.Lock()
	defer e.mu.Unlock()
	hc := en.c.Config.Healthcheck
	if hc == nil || len(hc.Test) == 0 || hc.Test[0] == "NONE" || !en.c.State.Running {
		return
	}
	var cmd []string
	switch hc.Test[0] {
	case "CMD":
		cmd = hc.Test[1:]
	case "CMD-SHELL":
		if len(hc.Test) > 1 {
			cmd = []string{"/bin/sh", "-c", hc.Test[1]}
		}
	}
	if len(cmd) == 0 {
		return
	}
	interval, timeout, retries := hc.Interval, hc.Timeout, hc.Retries
	if interval <= 0 {
		interval = healthInterval
	}
	if timeout <= 0 {
		timeout = healthTimeout
	}
	if retries <= 0 {
		retries = healthRetries
	}
	run := &healthRun{stop: make(chan struct{})}
	en.health = run
	en.c.State.Health = &container.Health{Status: container.Starting}
	started := time.Now()
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-run.stop:
				return
			case <-t.C:
			}
			e.mu.Lock()
			paused := en.c.State.Paused
			e.mu.Unlock()
			if paused {
				continue // a frozen container is not probed
			}
			start := time.Now()
			code, out := e.probe(en, cmd, timeout)
			e.recordHealth(en, run, container.HealthcheckResult{Start: start, End: time.Now(), ExitCode: code, Output: out},
				retries, time.Since(started) < hc.StartPeriod)
		}
	}()
}

// stopHealth ends the health check of a run that ended.
func (e *Engine) stopHealth(en *entry) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if en.health != nil {
		close(en.health.stop)
		en.health = nil
	}
}

func (e *Engine) recordHealth(en *entry, run *healthRun, r container.HealthcheckResult, retries int, starting bool) {
	e.mu.Lock()
	h := en.c.State.Health
	if en.health != run || h == nil {
		e.mu.Unlock()
		return
	}
	old := h.Status
	h.Log = append(h.Log, &r)
	if len(h.Log) > healthLogEntries {
		h.Log = h.Log[len(h.Log)-healthLogEntries:]
	}
	if r.ExitCode == 0 {
		h.Status, h.FailingStreak = container.Healthy, 0
	} else if !starting {
		h.FailingStreak++
		if h.FailingStreak >= retries {
			h.Status = container.Unhealthy
		}
	}
	status := h.Status
	e.save(en.c)
	c := *en.c
	e.mu.Unlock()
	if status != old {
		e.event("container", "health_status: "+string(status), &c)
	}
}

// probe runs a health check command in the container, as an exec of its
// user, and returns its status (-1 when it could not run or timed out)
// and the start of its output.
func (e *Engine) probe(en *entry, cmd []string, timeout time.Duration) (int, string) {
	e.mu.Lock()
	c := *en.c
	e.mu.Unlock()
	proc, err := e.process(&c, cmd, e.runEnv(&c), c.Config.WorkingDir, c.Config.User)
	if err != nil {
		return -1, err.Error()
	}
	r, w, err := os.Pipe()
	if err != nil {
		return -1, err.Error()
	}
	defer r.Close()
	launch, err := e.opts.Runtime.NewExec(c.Id, &runtime.ExecSpec{Pid: c.State.Pid, Process: proc}, runtime.Stdio{Stdout: w, Stderr: w})
	if err != nil {
		w.Close()
		return -1, err.Error()
	}
	defer launch.Close()
	pid, exited, err := e.startInside(en, launch)
	w.Close()
	if err == nil {
		err = launch.Started()
	}
	if err != nil {
		return -1, err.Error()
	}
	var out bytes.Buffer
	copied := make(chan struct{})
	go func() {
		io.Copy(&out, io.LimitReader(r, healthOutputLimit))
		io.Copy(io.Discard, r)
		close(copied)
	}()
	select {
	case ws := <-exited:
		<-copied
		return exitCode(ws), out.String()
	case <-time.After(timeout):
		unix.Kill(pid, unix.SIGKILL)
		<-exited
		return -1, "Health check exceeded timeout (" + timeout.String() + ")"
	}
}
