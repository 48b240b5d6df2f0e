package supervise

import (
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
)

// Always is the policy PID 1 keeps the engine under.
var Always = container.RestartPolicy{Name: container.RestartPolicyAlways}

// Restarter applies a restart policy to the runs of one supervised thing:
// a container, under its docker run --restart policy, or the engine, which
// PID 1 keeps under Always. After each run it says whether the next one
// starts and after what wait; Stop cancels a restart, even one already
// waiting, until Resume.
type Restarter struct {
	mu      sync.Mutex
	stopped bool
	wake    chan struct{} // closed by Stop: a Wait in progress ends
}

// Next applies policy p to a run that ended with exit code code after
// running for ran, restarts being how often it restarted before: whether
// it starts again, and the wait before it does (Backoff). It is false
// once Stop was called.
func (r *Restarter) Next(p container.RestartPolicy, code, restarts int, ran time.Duration) (bool, time.Duration) {
	r.mu.Lock()
	stopped := r.stopped
	r.mu.Unlock()
	if stopped {
		return false, 0
	}
	switch p.Name {
	case container.RestartPolicyAlways, container.RestartPolicyUnlessStopped:
	case container.RestartPolicyOnFailure:
		if code == 0 || (p.MaximumRetryCount > 0 && restarts >= p.MaximumRetryCount) {
			return false, 0
		}
	default:
		return false, 0
	}
	return true, Backoff(restarts+1, ran)
}

// Wait waits d before a restart; it reports false, at once, when Stop was
// or is called meanwhile: the restart is cancelled.
func (r *Restarter) Wait(d time.Duration) bool {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return false
	}
	if r.wake == nil {
		r.wake = make(chan struct{})
	}
	wake := r.wake
	r.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-wake:
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return !r.stopped
}

// Stop cancels restarts: docker stop, kill, rm; the host shutting down.
func (r *Restarter) Stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	if r.wake != nil {
		close(r.wake)
		r.wake = nil
	}
}

// Resume lets the runs restart again: a start by the user.
func (r *Restarter) Resume() {
	r.mu.Lock()
	r.stopped = false
	r.mu.Unlock()
}

// Stopped reports whether Stop was called since the last Resume.
func (r *Restarter) Stopped() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopped
}

// Backoff is the wait before the count-th restart, as Docker's: 100 ms
// doubling up to a minute, back to 100 ms after a run of 10 s or more.
func Backoff(count int, ran time.Duration) time.Duration {
	if ran >= 10*time.Second {
		return 100 * time.Millisecond
	}
	d := 100 * time.Millisecond
	for i := 1; i < count && d < time.Minute; i++ {
		d *= 2
	}
	return min(d, time.Minute)
}
