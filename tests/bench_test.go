//go:build appliance

package tests

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth/image"
	"berth/qemu"
)

// BenchmarkBoot measures, in one run, the time from starting QEMU to
// "berth: ready" beside the floor: the same kernel and QEMU with a trivial
// init that prints a line and powers off. The difference is what berth's
// boot costs. It also reports PID 1's memory once booted.
func BenchmarkBoot(b *testing.B) {
	floor := floorInitramfs(b)
	var ready, floorTime, initMs, rss float64
	for range b.N {
		start := time.Now()
		vm := boot(b, shared.initrd, `berth: ready \((\d+) ms since init started\)`, qemu.Options{})
		ready += ms(time.Since(start))
		initMs += initReadyMs(vm.Log())
		rss += pid1RSSKiB(b, vm)
		if err := vm.Poweroff(10 * time.Second); err != nil {
			b.Fatal(err)
		}

		start = time.Now()
		fvm := boot(b, floor, `floor: ready`, qemu.Options{})
		floorTime += ms(time.Since(start))
		if _, err := fvm.Wait(10 * time.Second); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N)
	b.ReportMetric(ready/n, "ready-ms")
	b.ReportMetric(floorTime/n, "floor-ms")
	b.ReportMetric((ready-floorTime)/n, "berth-ms")
	b.ReportMetric(initMs/n, "init-ms")
	b.ReportMetric(rss/n, "pid1-rss-KiB")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// initReadyMs is the time init itself reports from its start to ready.
func initReadyMs(log string) float64 {
	_, rest, ok := strings.Cut(log, "berth: ready (")
	if !ok {
		return 0
	}
	n, _ := strconv.ParseFloat(strings.Fields(rest)[0], 64)
	return n
}

func pid1RSSKiB(b *testing.B, vm *qemu.VM) float64 {
	out := run(b, vm, "grep VmRSS /proc/1/status")
	f := strings.Fields(out)
	if len(f) < 2 {
		b.Fatalf("VmRSS: %q", out)
	}
	n, _ := strconv.ParseFloat(f[1], 64)
	return n
}

// floorInitramfs is an initramfs whose init only prints a line and powers
// off: the fastest any init could be ready on this kernel and machine.
func floorInitramfs(b *testing.B) string {
	a := image.NewArchive()
	if err := a.HostFile("/bin/busybox", "/bin/busybox"); err != nil {
		b.Fatal(err)
	}
	a.CharDev("/dev/console", 0o600, 5, 1)
	a.File("/init", 0o755, []byte("#!/bin/busybox sh\n/bin/busybox echo floor: ready\n/bin/busybox poweroff -f\n"))
	var buf bytes.Buffer
	if _, err := a.WriteTo(&buf); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "floor.img")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}
