package supervise

import (
	"io"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestKeeperHandsRunsToTheNextEngine plays an engine that gives PID 1's
// keeper a run's log pipe and dies, the run ending meanwhile, and a next
// engine that gets the pipe, with what was written into it, and the exit
// status back.
func TestKeeperHandsRunsToTheNextEngine(t *testing.T) {
	k := NewKeeper(t.Logf)
	first, err := k.Connect()
	if err != nil {
		t.Fatal(err)
	}
	link, held, err := OpenKeeper(first)
	if err != nil || len(held) != 0 {
		t.Fatalf("first engine: %v, %d held", err, len(held))
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := link.Hold("c1", 4242, map[string]*os.File{"stdout": r, "stdin": w}); err != nil {
		t.Fatal(err)
	}
	// The first engine dies: its ends close. The container writes on, and
	// ends; PID 1 reaps it.
	unix.Close(link.fd)
	r.Close()
	if _, err := w.Write([]byte("written while no engine ran\n")); err != nil {
		t.Fatalf("the container's write failed with no engine: %v", err)
	}
	w.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !k.Reaped(4242, unix.WaitStatus(7<<8)) {
		if time.Now().After(deadline) {
			t.Fatal("the keeper never took the run")
		}
		time.Sleep(time.Millisecond) // the hold message is read by another goroutine
	}
	if k.Reaped(999, 0) {
		t.Error("the keeper claimed a pid it does not hold")
	}

	next, err := k.Connect()
	if err != nil {
		t.Fatal(err)
	}
	_, held, err = OpenKeeper(next)
	if err != nil {
		t.Fatal(err)
	}
	h, ok := held["c1"]
	if !ok || h.Pid != 4242 || h.Status == nil || h.Status.ExitStatus() != 7 {
		t.Fatalf("held: %+v", held)
	}
	if h.Files["stdin"] != nil {
		t.Error("the keeper held a stdin write end")
	}
	out, err := io.ReadAll(h.Files["stdout"])
	if err != nil || string(out) != "written while no engine ran\n" {
		t.Errorf("the next engine read %q (%v)", out, err)
	}
}
