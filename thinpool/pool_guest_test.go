//go:build guest

// These tests run inside a booted berth guest (see tests/guest_test.go),
// on the virtual disks named by BERTH_TEST_DATA and BERTH_TEST_META.
package thinpool

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func blockDev(t *testing.T, path string) Dev {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return devFromKernel(st.Rdev)
}

func sizeSectors(t *testing.T, path string) uint64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := unix.IoctlGetUint64(int(f.Fd()), unix.BLKGETSIZE64)
	if err != nil {
		t.Fatal(err)
	}
	return n / SectorSize
}

func control(t *testing.T) *Control {
	t.Helper()
	ctl, err := OpenControl()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctl.Close() })
	return ctl
}

func mustRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func mountDev(t *testing.T, d Dev, dir string) {
	t.Helper()
	path, err := DevicePath(d)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(dir, 0o755)
	if err := unix.Mount(path, dir, "ext4", 0, ""); err != nil {
		t.Fatalf("mount %s on %s: %v", path, dir, err)
	}
}

const thinSectors = 512 << 20 / SectorSize // 512 MiB thin devices

// TestBlockDevicePool is the whole life of a pool on two block devices:
// create, thin device, mkfs, write, snapshot, read back, then the pool
// deactivated and opened again from its metadata with the data intact.
func TestBlockDevicePool(t *testing.T) {
	ctl := control(t)
	data, meta := os.Getenv("BERTH_TEST_DATA"), os.Getenv("BERTH_TEST_META")
	if err := ZeroMetadataHeader(meta); err != nil {
		t.Fatal(err)
	}
	pool, err := Activate(ctl, "test-pool", blockDev(t, meta), blockDev(t, data), sizeSectors(t, data))
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.CreateThin(1); err != nil {
		t.Fatal(err)
	}
	origin, err := pool.ActivateThin("test-1", 1, thinSectors)
	if err != nil {
		t.Fatal(err)
	}
	path, _ := DevicePath(origin)
	mustRun(t, "/sbin/mkfs.ext4", "-q", "-F", "-E", "nodiscard", path)
	mountDev(t, origin, "/mnt/origin")
	content := bytes.Repeat([]byte("berth thin pool\n"), 10<<20/16) // 10 MiB
	if err := os.WriteFile("/mnt/origin/file", content, 0o644); err != nil {
		t.Fatal(err)
	}
	unix.Sync()

	// Snapshot the active origin, then change the origin: the snapshot
	// keeps what was there at the moment it was taken.
	if err := pool.CreateSnapshot(2, 1, "test-1"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("/mnt/origin/file", []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	snap, err := pool.ActivateThin("test-2", 2, thinSectors)
	if err != nil {
		t.Fatal(err)
	}
	mountDev(t, snap, "/mnt/snap")
	got, err := os.ReadFile("/mnt/snap/file")
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("snapshot holds %d bytes (%v), want the %d written before it", len(got), err, len(content))
	}

	st, err := pool.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode != "rw" || st.DataUsed == 0 || !st.ErrorIfNoSpace {
		t.Errorf("status %+v", st)
	}

	// Deactivate everything and open the pool again from its metadata.
	for _, dir := range []string{"/mnt/origin", "/mnt/snap"} {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"test-1", "test-2"} {
		if err := pool.DeactivateThin(name); err != nil {
			t.Fatal(err)
		}
	}
	if err := pool.Deactivate(); err != nil {
		t.Fatal(err)
	}
	pool, err = Activate(ctl, "test-pool", blockDev(t, meta), blockDev(t, data), sizeSectors(t, data))
	if err != nil {
		t.Fatal(err)
	}
	snap, err = pool.ActivateThin("test-2", 2, thinSectors)
	if err != nil {
		t.Fatal(err)
	}
	mountDev(t, snap, "/mnt/snap")
	got, err = os.ReadFile("/mnt/snap/file")
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("after reopening, the snapshot holds %d bytes (%v)", len(got), err)
	}
	unix.Unmount("/mnt/snap", 0)
	pool.DeactivateThin("test-2")

	t.Run("200 snapshots created and deleted", func(t *testing.T) {
		before, _ := pool.Status()
		start := time.Now()
		for id := uint32(100); id < 300; id++ {
			if err := pool.CreateSnapshot(id, 1, ""); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("200 snapshots in %v", time.Since(start))
		for id := uint32(100); id < 300; id++ {
			if err := pool.Delete(id); err != nil {
				t.Fatal(err)
			}
		}
		after, _ := pool.Status()
		if after.DataUsed != before.DataUsed {
			t.Errorf("data used %d blocks after deleting the snapshots, %d before", after.DataUsed, before.DataUsed)
		}
		if err := pool.Delete(100); err == nil {
			t.Errorf("deleting a deleted device succeeded")
		}
	})
	if err := pool.Deactivate(); err != nil {
		t.Fatal(err)
	}
	devs, _ := ctl.List()
	for _, d := range devs {
		if strings.HasPrefix(d.Name, "test-") {
			t.Errorf("device left behind: %v", d)
		}
	}
}

// TestLoopbackPoolFullGivesENOSPC builds a small pool on sparse loopback
// files and over-fills a thin device: the writer gets ENOSPC at once
// instead of hanging.
func TestLoopbackPoolFullGivesENOSPC(t *testing.T) {
	ctl := control(t)
	dir := t.TempDir()
	dataFile, metaFile := filepath.Join(dir, "data"), filepath.Join(dir, "metadata")
	for file, size := range map[string]int64{dataFile: 32 << 20, metaFile: 4 << 20} {
		f, err := os.Create(file)
		if err != nil {
			t.Fatal(err)
		}
		f.Truncate(size)
		f.Close()
	}
	data, err := AttachLoop(dataFile)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := AttachLoop(metaFile)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := Activate(ctl, "test-small", meta.Dev, data.Dev, 32<<20/SectorSize)
	data.Close()
	meta.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := pool.CreateThin(1); err != nil {
		t.Fatal(err)
	}
	dev, err := pool.ActivateThin("test-small-1", 1, 256<<20/SectorSize) // over-provisioned 8x
	if err != nil {
		t.Fatal(err)
	}
	path, _ := DevicePath(dev)
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_DIRECT, 0)
	if err != nil {
		t.Fatal(err)
	}
	// mmap'd memory is page aligned, as O_DIRECT wants.
	chunk, err := unix.Mmap(-1, 0, 1<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(chunk)
	for i := range chunk {
		chunk[i] = byte(i)
	}
	var werr error
	start := time.Now()
	for i := 0; i < 64 && werr == nil; i++ {
		_, werr = f.WriteAt(chunk, int64(i)<<20)
	}
	f.Close()
	if !errors.Is(werr, unix.ENOSPC) {
		t.Fatalf("writing 64 MiB into a 32 MiB pool ended with %v, want ENOSPC", werr)
	}
	t.Logf("ENOSPC after %v", time.Since(start))
	st, err := pool.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode != "out_of_data_space" {
		t.Errorf("pool mode %q, want out_of_data_space", st.Mode)
	}
	// A holder that does not let go is reported busy, and named; one
	// that lets go a moment later (as a container's last process does)
	// is waited for.
	held, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	pool.busyWait = 200 * time.Millisecond
	err = pool.DeactivateThin("test-small-1")
	if self := fmt.Sprintf("open in pid %d ", os.Getpid()); !errors.Is(err, unix.EBUSY) || !strings.Contains(err.Error(), self) {
		t.Errorf("deactivate while held open: %v, want busy naming %q", err, self)
	}
	pool.busyWait = 0
	released := make(chan struct{})
	go func() {
		time.Sleep(300 * time.Millisecond)
		held.Close()
		close(released)
	}()
	if err := pool.DeactivateThin("test-small-1"); err != nil {
		t.Fatalf("deactivate while a holder lets go: %v", err)
	}
	<-released
	if err := pool.Deactivate(); err != nil {
		t.Fatal(err)
	}
}
