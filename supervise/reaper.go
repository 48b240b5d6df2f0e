package supervise

import (
	"os/exec"
	"sync"

	"golang.org/x/sys/unix"
)

// Reaper is a process's single wait4(-1) loop: PID 1's, which reaps
// every orphan on the host as well as its own children, and the engine's,
// which reaps the containers' first processes. Whoever started a child
// gets its exit status from the reaper, never from exec.Cmd.Wait, which a
// wait-any loop would race.
type Reaper struct {
	mu      sync.Mutex
	waiters map[int]chan unix.WaitStatus
	own     bool // reap only the children started through Start
	// unclaimed, when set, is told of every reaped child nobody waited
	// for: PID 1 passes it to its keeper, for containers whose engine died.
	unclaimed func(pid int, ws unix.WaitStatus) bool
}

// OnUnclaimed sets what is told of reaped children nobody waited for.
func (r *Reaper) OnUnclaimed(f func(pid int, ws unix.WaitStatus) bool) {
	r.mu.Lock()
	r.unclaimed = f
	r.mu.Unlock()
}

// NewReaper returns a reaper; call ReapAll on every SIGCHLD.
func NewReaper() *Reaper {
	return &Reaper{waiters: map[int]chan unix.WaitStatus{}}
}

// NewChildReaper returns a reaper that reaps only the children started
// through it, for a process that is not PID 1 (the engine): it never takes
// the exit status of a program run with exec.Cmd.Run.
func NewChildReaper() *Reaper {
	return &Reaper{waiters: map[int]chan unix.WaitStatus{}, own: true}
}

// Start starts cmd and returns its pid and a channel that receives its
// exit status. The lock is held across the start, so the child cannot be
// reaped before its waiter is registered. Use the returned pid, not
// cmd.Process.Pid: the reaper releases cmd.Process, which forgets it.
func (r *Reaper) Start(cmd *exec.Cmd) (int, <-chan unix.WaitStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return 0, nil, err
	}
	pid := cmd.Process.Pid
	ch := make(chan unix.WaitStatus, 1)
	r.waiters[pid] = ch
	// The reaper, not os.Process, owns the child from here on: release
	// the pidfd Go keeps for it.
	_ = cmd.Process.Release()
	return pid, ch, nil
}

// ReapAll collects every child that has exited, without blocking.
func (r *Reaper) ReapAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.own {
		for pid, ch := range r.waiters {
			var ws unix.WaitStatus
			if got, err := unix.Wait4(pid, &ws, unix.WNOHANG, nil); err == nil && got == pid {
				ch <- ws
				delete(r.waiters, pid)
			}
		}
		return
	}
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
		} else if r.unclaimed != nil {
			r.unclaimed(pid, ws)
		}
	}
}
