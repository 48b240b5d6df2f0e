//go:build appliance

package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth/qemu"
)

// guestTestBinary compiles the guest tests of a package (build tag guest)
// into a static test binary that runs inside the appliance.
func guestTestBinary(t testing.TB, pkg string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg)+".test")
	cmd := exec.Command("go", "test", "-c", "-tags", "guest", "-trimpath", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build guest tests of %s: %v\n%s", pkg, err, b)
	}
	return out
}

// sparseDisk makes a sparse raw disk image of size bytes.
func sparseDisk(t testing.TB, name string, size int64) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	return path
}

// runGuestTests boots the appliance with guest test binaries, runs each
// on the console with env, one after the other, and fails with the output
// of one that does not pass.
func runGuestTests(t *testing.T, bins []string, env string, drives []qemu.Drive, timeout time.Duration) string {
	t.Helper()
	extra := map[string]string{}
	for _, bin := range bins {
		extra["/tests/"+filepath.Base(bin)] = bin
	}
	initrd := buildImageWith(t, "testdata/guest.toml", false, extra)
	vm := boot(t, initrd, `berth: ready`, qemu.Options{Drives: drives})
	var all strings.Builder
	for _, bin := range bins {
		_, code, err := vm.Run(env+" /tests/"+filepath.Base(bin)+" -test.v -test.timeout "+timeout.String()+" > /tmp/guest.log 2>&1", timeout+cmdTimeout)
		if err != nil {
			t.Fatal(err)
		}
		out := run(t, vm, "cat /tmp/guest.log")
		if code != 0 || !strings.Contains(out, "\nPASS") {
			t.Fatalf("guest tests of %s failed (status %d):\n%s", filepath.Base(bin), code, out)
		}
		all.WriteString(out)
	}
	if err := vm.Poweroff(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	return all.String()
}
