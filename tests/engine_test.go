//go:build appliance

package tests

import (
	"testing"
	"time"

	"berth/qemu"
)

// TestEngineInGuest runs the thin pool's, the runtime's and the engine's
// guest tests: the pool on block devices; the sealed binary containers
// start from; the image store (load, import, OCI layouts, refused layers)
// and containers on a pool of their own.
func TestEngineInGuest(t *testing.T) {
	parallel(t)
	bins := []string{guestTestBinary(t, "berth/thinpool"), guestTestBinary(t, "berth/runtime"),
		guestTestBinary(t, "berth/imagestore"), guestTestBinary(t, "berth/engine")}
	// One guest for the three: each boot costs seconds of emulation. The
	// thin pool's tests run on two virtual disks of their own, a 2 GiB
	// data disk and a 64 MiB metadata disk.
	drives := []qemu.Drive{
		{Path: sparseDisk(t, "data.img", 2<<30), Serial: "data"},
		{Path: sparseDisk(t, "meta.img", 64<<20), Serial: "meta"},
	}
	out := runGuestTests(t, bins, "BERTH_TEST_DATA=/dev/vda BERTH_TEST_META=/dev/vdb", drives, 5*time.Minute)
	t.Logf("guest output:\n%s", out)
}
