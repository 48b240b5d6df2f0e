package main

import (
	"os/exec"
	"sync"

	"golang.org/x/sys/unix"
)

// reaper is PID 1's single wait4(-1) loop. Every process that dies on the
// host is reaped here: orphans that were re-parented to PID 1 as well as
// PID 1's own children. Whoever started a child gets its exit status from
// the reaper, never from exec.Cmd.Wait, which a wait-any loop would race.
type reaper struct {
	mu      sync.Mutex
	waiters map[int]chan unix.WaitStatus
}

func newReaper() *reaper {
	return &reaper{waiters: map[int]chan unix.WaitStatus{}}
}

// start starts cmd and returns a channel that receives its exit status.
// The lock is held across the start, so the child cannot be reaped before
// its waiter is registered.
func (r *reaper) start(cmd *exec.Cmd) (<-chan unix.WaitStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ch := make(chan unix.WaitStatus, 1)
	r.waiters[cmd.Process.Pid] = ch
	// The reaper, not os.Process, owns the child from here on: release
	// the pidfd Go keeps for it.
	_ = cmd.Process.Release()
	return ch, nil
}

// reapAll collects every child that has exited, without blocking.
func (r *reaper) reapAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		if ch, ok := r.waiters[pid]; ok {
			ch <- ws
			delete(r.waiters, pid)
		}
	}
}
