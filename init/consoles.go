package main

import (
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// activeConsoles returns the console devices the kernel writes to, from
// its console= arguments, as paths under /dev. tty0 (the current virtual
// terminal) is served on tty1.
func activeConsoles() []string {
	b, err := os.ReadFile("/sys/class/tty/console/active")
	var out []string
	if err == nil {
		for _, name := range strings.Fields(string(b)) {
			if name == "tty0" {
				name = "tty1"
			}
			out = append(out, "/dev/"+name)
		}
	}
	if len(out) == 0 {
		out = []string{"/dev/ttyS0"}
	}
	return out
}

// attachConsoles sends berth's messages to every active console. The
// kernel gives PID 1 only the last console= device as /dev/console; a user
// watching another one should see the boot too.
func attachConsoles(s *system) error {
	for _, f := range s.consoleFiles {
		f.Close()
	}
	s.consoleFiles = nil
	var ws []io.Writer
	for _, dev := range activeConsoles() {
		f, err := os.OpenFile(dev, os.O_WRONLY|unix.O_NOCTTY, 0)
		if err != nil {
			continue
		}
		ws = append(ws, f)
		s.consoleFiles = append(s.consoleFiles, f)
	}
	if len(ws) > 0 {
		s.console = io.MultiWriter(ws...)
	}
	return nil
}

// drainConsoles waits until everything written to the consoles has left
// the serial port, so the last lines before a power-off are not lost.
func (s *system) drainConsoles() {
	for _, f := range s.consoleFiles {
		_ = unix.IoctlSetInt(int(f.Fd()), unix.TCSBRK, 1) // tcdrain
	}
}

// consoleSupervisor keeps a login shell running on every console.
type consoleSupervisor struct {
	mu      sync.Mutex
	stopped bool
	shells  map[int]bool // pids of the running shells
}

// startConsoles starts a shell on each active console and starts it again
// whenever it exits (exit, ctrl-d), so the console is never dead.
func startConsoles(s *system) *consoleSupervisor {
	cs := &consoleSupervisor{shells: map[int]bool{}}
	for _, dev := range activeConsoles() {
		dev := dev
		s.goProtected("console "+dev, func() { cs.serve(s, dev) })
	}
	return cs
}

// stop ends the supervision and hangs up the shells: an interactive shell
// ignores SIGTERM, but exits on SIGHUP as when its terminal goes away.
func (cs *consoleSupervisor) stop() {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	cs.stopped = true
	for pid := range cs.shells {
		_ = unix.Kill(pid, unix.SIGHUP)
	}
}

func (cs *consoleSupervisor) isStopped() bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.stopped
}

func (cs *consoleSupervisor) serve(s *system, dev string) {
	term := "linux"
	if strings.HasPrefix(dev, "/dev/ttyS") {
		term = "vt100"
	}
	for !cs.isStopped() {
		started := time.Now()
		if err := cs.runShell(s, dev, term); err != nil {
			s.logf("shell on %s: %v", dev, err)
		}
		// A shell that dies at once (no such device) is not restarted in a
		// tight loop.
		if time.Since(started) < time.Second {
			time.Sleep(time.Second)
		}
	}
}

// runShell runs a login shell with dev as its controlling terminal and
// waits for it to exit.
func (cs *consoleSupervisor) runShell(s *system, dev, term string) error {
	tty, err := os.OpenFile(dev, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer tty.Close()
	cmd := exec.Command("/bin/sh", "-l")
	cmd.Dir = "/root"
	cmd.Env = []string{"HOME=/root", "TERM=" + term, "PATH=/bin:/sbin:/usr/bin:/usr/sbin", "SHELL=/bin/sh", "USER=root"}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	cs.mu.Lock()
	if cs.stopped {
		cs.mu.Unlock()
		return nil
	}
	pid, done, err := s.reaper.Start(cmd)
	if err != nil {
		cs.mu.Unlock()
		return err
	}
	cs.shells[pid] = true
	cs.mu.Unlock()
	// PID 1's own shield from the OOM killer is not the console's.
	setOOMScoreAdj(pid, 0)
	<-done
	cs.mu.Lock()
	delete(cs.shells, pid)
	cs.mu.Unlock()
	return nil
}
