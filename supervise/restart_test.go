package supervise

import (
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
)

func TestRestarterNext(t *testing.T) {
	onFailure := func(n int) container.RestartPolicy {
		return container.RestartPolicy{Name: container.RestartPolicyOnFailure, MaximumRetryCount: n}
	}
	for _, tc := range []struct {
		name           string
		p              container.RestartPolicy
		code, restarts int
		ran            time.Duration
		again          bool
		wait           time.Duration
	}{
		{"no", container.RestartPolicy{Name: container.RestartPolicyDisabled}, 1, 0, 0, false, 0},
		{"empty", container.RestartPolicy{}, 1, 0, 0, false, 0},
		{"always after success", Always, 0, 0, time.Second, true, 100 * time.Millisecond},
		{"always backs off", Always, 1, 3, time.Second, true, 800 * time.Millisecond},
		{"back off capped", Always, 1, 100, time.Second, true, time.Minute},
		{"a long run resets", Always, 1, 100, time.Minute, true, 100 * time.Millisecond},
		{"unless-stopped", container.RestartPolicy{Name: container.RestartPolicyUnlessStopped}, 0, 0, 0, true, 100 * time.Millisecond},
		{"on-failure, success", onFailure(0), 0, 0, 0, false, 0},
		{"on-failure, failure", onFailure(0), 2, 7, 0, true, 12800 * time.Millisecond},
		{"on-failure, retries left", onFailure(3), 2, 2, 0, true, 400 * time.Millisecond},
		{"on-failure, retries used", onFailure(3), 2, 3, 0, false, 0},
	} {
		var r Restarter
		again, wait := r.Next(tc.p, tc.code, tc.restarts, tc.ran)
		if again != tc.again || wait != tc.wait {
			t.Errorf("%s: Next = %v, %v; want %v, %v", tc.name, again, wait, tc.again, tc.wait)
		}
	}
}

// TestRestarterStop: Stop cancels a restart that is waiting, at once, and
// the ones after it until Resume.
func TestRestarterStop(t *testing.T) {
	var r Restarter
	result := make(chan bool)
	go func() { result <- r.Wait(time.Hour) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r.mu.Lock()
		waiting := r.wake != nil
		r.mu.Unlock()
		if waiting || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	r.Stop()
	select {
	case ok := <-result:
		if ok {
			t.Error("Wait reported a restart after Stop")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not end a Wait")
	}
	if again, _ := r.Next(Always, 1, 0, 0); again {
		t.Error("Next restarts after Stop")
	}
	if r.Wait(0) {
		t.Error("Wait restarts after Stop")
	}
	r.Resume()
	if again, _ := r.Next(Always, 1, 0, 0); !again || !r.Wait(0) {
		t.Error("no restart after Resume")
	}
}
