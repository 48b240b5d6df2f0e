//go:build appliance

package tests

import (
	"slices"
	"sync"
	"testing"
)

// longestFirst names the tests that take longest, longest first. They
// start first: on two cores the run ends soonest when the last test to
// start is a short one, and a long test that happened to start last would
// add its whole length to the run.
var longestFirst = []string{
	"TestDockerCLI", "TestIsolation", "TestPythonExample", "TestBuildWorkflow", "TestBootableDisk",
	"TestSATADiskWithIntelNIC", "TestDockerWorkflow", "TestStateAcrossReboot", "TestEngineInGuest",
	"TestUSBStickWithNVMePool", "TestDeclaredContainers", "TestSELinux", "TestCrashConsistency",
	"TestHostNetwork", "TestSELinuxPolicyFailure",
}

// scheduler lets as many tests run at once as there are slots (one
// emulated guest per core), in the order of longestFirst. Go's own limit
// (-parallel) would let them in in whatever order their goroutines wake.
type scheduler struct {
	mu         sync.Mutex
	cond       *sync.Cond
	free       int
	slots      int
	goParallel int      // go test's -parallel
	registered int      // tests that called parallel
	waiting    []string // tests registered and not started, in the order they start
}

func newScheduler(slots, goParallel int) *scheduler {
	s := &scheduler{free: slots, slots: slots, goParallel: goParallel}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// ordered tells whether the tests start in longestFirst's order: only
// when go test lets every test run at once, above the slots (make test
// passes -parallel 64). Otherwise the test Go lets in goes first, since
// one waiting for its turn could hold the place of the test whose turn it
// is.
func (s *scheduler) ordered() bool {
	return s.goParallel > s.slots && s.goParallel >= s.registered
}

// rank is name's place in longestFirst, the unlisted after the listed.
func rank(name string) int {
	if i := slices.Index(longestFirst, name); i >= 0 {
		return i
	}
	return len(longestFirst)
}

// parallel is t.Parallel for the appliance's tests. A test registers
// before t.Parallel, while go test still runs the tests one by one, so
// that every test is known before the first one starts; then it waits for
// a slot and its turn.
func parallel(t *testing.T) {
	s := shared.slots
	s.mu.Lock()
	i := len(s.waiting)
	for i > 0 && rank(s.waiting[i-1]) > rank(t.Name()) {
		i--
	}
	s.waiting = slices.Insert(s.waiting, i, t.Name())
	s.registered++
	s.mu.Unlock()

	t.Parallel()

	s.mu.Lock()
	ordered := s.ordered()
	for s.free == 0 || (ordered && s.waiting[0] != t.Name()) {
		s.cond.Wait()
	}
	s.waiting = slices.DeleteFunc(s.waiting, func(n string) bool { return n == t.Name() })
	s.free--
	s.cond.Broadcast()
	s.mu.Unlock()
	t.Cleanup(func() {
		s.mu.Lock()
		s.free++
		s.cond.Broadcast()
		s.mu.Unlock()
	})
}
