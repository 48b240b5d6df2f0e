//go:build appliance

package tests

import (
	"testing"
	"time"
)

// TestEngineInGuest runs the engine's guest tests: the image store (load,
// import, OCI layouts, refused layers) on a pool of their own.
func TestEngineInGuest(t *testing.T) {
	t.Parallel()
	bin := guestTestBinary(t, "berth/engine")
	out := runGuestTests(t, bin, "", nil, 5*time.Minute)
	t.Logf("guest output:\n%s", out)
}
