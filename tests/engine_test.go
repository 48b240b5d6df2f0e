//go:build appliance

package tests

import (
	"testing"
	"time"
)

// TestEngineInGuest runs the runtime's and the engine's guest tests: the
// sealed binary containers start from; the image store (load, import, OCI
// layouts, refused layers) and containers on a pool of their own.
func TestEngineInGuest(t *testing.T) {
	t.Parallel()
	bins := []string{guestTestBinary(t, "berth/runtime"), guestTestBinary(t, "berth/engine")}
	out := runGuestTests(t, bins, "", nil, 5*time.Minute)
	t.Logf("guest output:\n%s", out)
}
