package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"berth/hostpath"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// Grace periods of the shutdown sequence.
const (
	termGrace = 5 * time.Second // after SIGTERM, before SIGKILL
	killGrace = 2 * time.Second // after SIGKILL, before giving up waiting
)

// shutdown stops every process (SIGTERM, a grace period, SIGKILL),
// unmounts what can be unmounted, syncs and calls reboot(2) with cmd. It
// keeps reaping while it waits. It does not return.
func (s *system) shutdown(what string, cmd int, signals <-chan os.Signal) {
	s.logf("%s: stopping all processes", what)
	// Hanging up the console shells hangs up their terminals, which throws
	// away output not yet sent and fails later writes on the descriptors
	// berth holds: send what is written, and reopen the consoles after.
	s.drainConsoles()
	if s.consoles != nil {
		s.consoles.stop()
	}
	attachConsoles(s)
	if s.engine != nil {
		s.engine.stop(15*time.Second, s.reaper.ReapAll)
	}
	for _, step := range []struct {
		sig   unix.Signal
		grace time.Duration
	}{{unix.SIGTERM, termGrace}, {unix.SIGKILL, killGrace}} {
		_ = unix.Kill(-1, step.sig)
		if s.waitForNoProcesses(step.grace, signals) {
			break
		}
	}
	unix.Sync()
	// Filesystems on thin devices first, then the pool (its loop files
	// live on the state disk), then the state disk itself.
	// /proc stays for the second pass, which reads it to find the rest.
	s.unmountAll(hostpath.State, "/proc")
	if s.storage != nil {
		if err := s.storage.Shutdown(); err != nil {
			s.logf("%s: thin pool: %v", what, err)
		}
		// Its lock file is open for writing, and a file open for writing
		// keeps the state disk from being unmounted, or made read-only.
		s.storage.Close()
	}
	s.unmountAll()
	unix.Sync()
	s.logf("%s", what)
	s.drainConsoles()
	for {
		if err := unix.Reboot(cmd); err != nil {
			s.logf("reboot(2): %v", err)
		}
		time.Sleep(time.Second) // halt returns; PID 1 must still not exit
	}
}

// waitForNoProcesses reaps until no user process is left or the deadline
// passes, and reports whether none is left.
func (s *system) waitForNoProcesses(grace time.Duration, signals <-chan os.Signal) bool {
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		s.reaper.ReapAll()
		if len(userProcesses()) == 0 {
			return true
		}
		select {
		case <-deadline.C:
			return false
		case <-signals:
		case <-tick.C:
		}
	}
}

// pfKthread is the PF_KTHREAD flag in /proc/<pid>/stat.
const pfKthread = 0x00200000

// userProcesses lists the pids of every process but PID 1 and kernel
// threads.
func userProcesses() []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var pids []int
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		if pid == 1 {
			continue
		}
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		// Fields after the command, which is in parentheses and may hold
		// spaces: state ppid pgrp session tty_nr tpgid flags ...
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		fields := bytes.Fields(stat[i+1:])
		if len(fields) < 7 {
			continue
		}
		flags, _ := strconv.ParseUint(string(fields[6]), 10, 64)
		if flags&pfKthread != 0 {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// unmountAll unmounts every filesystem but the root and those in keep,
// deepest first, so that disks are clean when the power goes.
func (s *system) unmountAll(keep ...string) {
	mounts, err := mountinfo.GetMounts(nil)
	if err != nil {
		s.logf("unmount: %v", err)
		return
	}
	// Later mounts sit on earlier ones: unmount in reverse order.
	for i := len(mounts) - 1; i >= 0; i-- {
		target := mounts[i].Mountpoint
		if target == "/" || slices.Contains(keep, target) {
			continue
		}
		if err := unix.Unmount(target, 0); err != nil {
			// Busy pseudo filesystems (/proc, /sys) do not matter; a disk
			// that stays mounted is made read-only instead.
			if rerr := unix.Mount("", target, "", unix.MS_REMOUNT|unix.MS_RDONLY, ""); rerr != nil {
				s.logf("unmount %s: %v; read-only: %v", target, err, rerr)
			}
		}
	}
}
