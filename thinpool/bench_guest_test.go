//go:build guest

package thinpool

import (
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// BenchmarkSnapshot measures creating (and deleting) a snapshot of an
// active origin holding 10 MB and 1 GB of data. Thin snapshots share the
// origin's blocks, so both should cost the same.
func BenchmarkSnapshot(b *testing.B) {
	ctl, err := OpenControl()
	if err != nil {
		b.Fatal(err)
	}
	defer ctl.Close()
	data, meta := os.Getenv("BERTH_TEST_DATA"), os.Getenv("BERTH_TEST_META")
	if err := ZeroMetadataHeader(meta); err != nil {
		b.Fatal(err)
	}
	var md, dd unix.Stat_t
	unix.Stat(meta, &md)
	unix.Stat(data, &dd)
	sectors, err := deviceSectors(devFromKernel(dd.Rdev))
	if err != nil {
		b.Fatal(err)
	}
	pool, err := Activate(ctl, "bench-pool", devFromKernel(md.Rdev), devFromKernel(dd.Rdev), sectors)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Deactivate()
	for i, mib := range []int{10, 1024} {
		origin := uint32(i + 1)
		name := fmt.Sprintf("bench-origin-%d", origin)
		if err := pool.CreateThin(origin); err != nil {
			b.Fatal(err)
		}
		dev, err := pool.ActivateThin(name, origin, 2<<30/SectorSize)
		if err != nil {
			b.Fatal(err)
		}
		path, err := DevicePath(dev)
		if err != nil {
			b.Fatal(err)
		}
		writeMiB(b, path, mib)
		b.Run(fmt.Sprintf("origin-%dMB", mib), func(b *testing.B) {
			for n := 0; n < b.N; n++ {
				id := uint32(1000 + n)
				if err := pool.CreateSnapshot(id, origin, name); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := pool.Delete(id); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
		pool.DeactivateThin(name)
	}
}

// writeMiB writes mib MiB of a non-zero pattern to the start of the block
// device at path, with O_DIRECT so that every block reaches the pool.
func writeMiB(tb testing.TB, path string, mib int) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|unix.O_DIRECT, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	// mmap'd memory is page aligned, as O_DIRECT wants.
	buf, err := unix.Mmap(-1, 0, 1<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		tb.Fatal(err)
	}
	defer unix.Munmap(buf)
	for i := range buf {
		buf[i] = byte(i) | 1
	}
	for i := 0; i < mib; i++ {
		if _, err := f.WriteAt(buf, int64(i)<<20); err != nil {
			tb.Fatalf("write MiB %d of %s: %v", i, path, err)
		}
	}
}
