//go:build appliance

package tests

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"berth/image"
	"berth/qemu"
)

// BenchmarkBoot measures, in one run, the time from starting QEMU to
// "berth: ready" beside the floor: the same kernel and QEMU with a trivial
// init that prints a line and powers off. The difference is what berth's
// boot costs. It also reports PID 1's memory once booted.
//
// Each boot has a state disk that an earlier boot prepared, as a host in
// use does, so pool-open-ms is the time to open an existing thin pool;
// pool-create-ms is the first boot's, which created it.
func BenchmarkBoot(b *testing.B) {
	floor := floorInitramfs(b)
	disk := []qemu.Drive{{Path: sparseDisk(b, "state.img", 4<<30)}}
	first := boot(b, shared.initrd, `berth: ready`, qemu.Options{Drives: disk, CPUs: 2})
	poolCreate := stepMs(first.Log(), "open thin pool")
	if err := first.Poweroff(15 * time.Second); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	var ready, floorTime, initMs, rss, poolOpen float64
	for range b.N {
		start := time.Now()
		vm := boot(b, shared.initrd, `berth: ready \((\d+) ms since init started\)`, qemu.Options{Drives: disk, CPUs: 2})
		ready += ms(time.Since(start))
		initMs += initReadyMs(vm.Log())
		poolOpen += stepMs(vm.Log(), "open thin pool")
		rss += pid1RSSKiB(b, vm)
		if err := vm.Poweroff(10 * time.Second); err != nil {
			b.Fatal(err)
		}

		start = time.Now()
		fvm := boot(b, floor, `floor: ready`, qemu.Options{CPUs: 2})
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
	b.ReportMetric(poolOpen/n, "pool-open-ms")
	b.ReportMetric(poolCreate, "pool-create-ms")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// stepMs is the time a boot step logged: "berth: <step> (N ms)".
func stepMs(log, step string) float64 {
	m := regexp.MustCompile(`berth: ` + regexp.QuoteMeta(step) + ` \((\d+) ms\)`).FindStringSubmatch(log)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseFloat(m[1], 64)
	return n
}

// BenchmarkSnapshot runs the thin pool's snapshot benchmark inside a
// guest (see thinpool/bench_guest_test.go) and reports its figures:
// snapshot creation with an origin holding 10 MB and 1 GB of data.
func BenchmarkSnapshot(b *testing.B) {
	bin := guestTestBinary(b, "berth/thinpool")
	drives := []qemu.Drive{{Path: sparseDisk(b, "data.img", 3<<30)}, {Path: sparseDisk(b, "meta.img", 64<<20)}}
	initrd := buildImageWith(b, "testdata/guest.toml", false, map[string]string{"/tests/thinpool.test": bin})
	vm := boot(b, initrd, `berth: ready`, qemu.Options{Drives: drives, CPUs: 2})
	out := run(b, vm, "BERTH_TEST_DATA=/dev/vda BERTH_TEST_META=/dev/vdb /tests/thinpool.test -test.run '^$' -test.bench Snapshot -test.benchtime 50x 2>&1")
	b.Logf("in the guest:\n%s", out)
	for _, size := range []string{"10MB", "1024MB"} {
		m := regexp.MustCompile(`BenchmarkSnapshot/origin-` + size + `\S*\s+\d+\s+(\d+) ns/op`).FindStringSubmatch(out)
		if m == nil {
			b.Fatalf("no figure for origin-%s", size)
		}
		ns, _ := strconv.ParseFloat(m[1], 64)
		b.ReportMetric(ns/1e6, "snap-origin-"+size+"-ms")
	}
	if err := vm.Poweroff(15 * time.Second); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkNetwork runs the network benchmarks inside a guest (see
// netconf/bench_guest_test.go): throughput straight to a container's
// address and through its published port, their ratio, and the time to
// attach and detach a namespace.
func BenchmarkNetwork(b *testing.B) {
	bin := guestTestBinary(b, "berth/netconf")
	initrd := buildImageWith(b, "testdata/guest.toml", false, map[string]string{"/tests/netconf.test": bin})
	vm := boot(b, initrd, `berth: ready`, qemu.Options{CPUs: 2})
	out := run(b, vm, "/tests/netconf.test -test.run '^$' -test.bench . -test.benchtime 2s 2>&1")
	b.Logf("in the guest:\n%s", out)
	figure := func(name, unit string) float64 {
		m := regexp.MustCompile(`Benchmark` + name + `\S*\s+\d+\s+.*?([\d.]+) ` + unit).FindStringSubmatch(out)
		if m == nil {
			b.Fatalf("no %s figure for %s in the guest's output", unit, name)
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	direct := figure("Throughput/direct", "MB/s")
	loopback := figure("Throughput/published-loopback", "MB/s")
	hostAddr := figure("Throughput/published-host-address", "MB/s")
	b.ReportMetric(direct, "direct-MB/s")
	b.ReportMetric(loopback, "published-lo-MB/s")
	b.ReportMetric(hostAddr, "published-eth0-MB/s")
	b.ReportMetric(hostAddr/direct, "published/direct")
	b.ReportMetric(figure("AttachDetach", "ns/op")/1e6, "attach+detach-ms")
	if err := vm.Poweroff(15 * time.Second); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkContainers measures, on a booted appliance, berth run --rm
// busybox true from the console (the median of 50, the whole CLI round
// trip included), and the memory of PID 1 plus the engine with ten idle
// containers running. What isolation costs shows beside it: the same run
// without a seccomp filter (--security-opt seccomp=unconfined), and
// --privileged (no seccomp filter, no device filter, no masked paths).
//
// Beside it, in the same guest: Debian's crun and runc running the same
// busybox root filesystem from a plain directory (no thin snapshot, no
// bridge, no API round trip), each the median of 50 too.
func BenchmarkContainers(b *testing.B) {
	rootfs := busyboxRootfs(b)
	initrd := buildImageWithPrograms(b, "testdata/guest.toml", false, map[string]string{"/tests/rootfs.tar": rootfs},
		map[string]string{"/usr/bin/crun": "/usr/bin/crun", "/usr/bin/runc": "/usr/sbin/runc"})
	vm := boot(b, initrd, `berth: ready`, qemu.Options{CPUs: 2})
	// busybox time -f %e: elapsed seconds, to 10 ms.
	median := func(metric, command string) {
		out := run(b, vm, `for i in $(seq 50); do time -f %e `+command+` 2>&1 >/dev/null; done | sort -n | sed -n 25p`)
		sec, err := strconv.ParseFloat(strings.TrimSpace(out), 64)
		if err != nil {
			b.Fatalf("%s: median %q", metric, out)
		}
		b.ReportMetric(sec*1000, metric)
	}
	median("berth-run-rm-ms", "berth run --rm busybox true")
	median("berth-run-rm-unconfined-ms", "berth run --rm --security-opt seccomp=unconfined busybox true")
	median("berth-run-rm-privileged-ms", "berth run --rm --privileged busybox true")
	run(b, vm, `mkdir -p /tmp/bundle/rootfs && tar -xf /tests/rootfs.tar -C /tmp/bundle/rootfs && cd /tmp/bundle && runc spec && sed -i 's/"terminal": true/"terminal": false/; s/"sh"/"true"/' config.json`)
	median("crun-run-ms", "crun run --bundle /tmp/bundle c$i")
	median("runc-run-ms", "runc run --bundle /tmp/bundle r$i")
	run(b, vm, "for i in $(seq 10); do berth run -d busybox sleep 3600 >/dev/null; done")
	rss := run(b, vm, `e=$(grep -l __engine /proc/[0-9]*/cmdline | head -n 1 | cut -d/ -f3); echo $(( $(grep VmRSS /proc/1/status | tr -dc 0-9) + $(grep VmRSS /proc/$e/status | tr -dc 0-9) ))`)
	kib, err := strconv.ParseFloat(strings.TrimSpace(rss), 64)
	if err != nil {
		b.Fatalf("rss: %q", rss)
	}
	b.ReportMetric(kib/1024, "pid1+engine-MiB-10-containers")
	if err := vm.Poweroff(30 * time.Second); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkBuild measures berth build of a five-step Dockerfile (FROM,
// two RUNs, COPY, CMD) from scratch and rebuilt from the build cache.
func BenchmarkBuild(b *testing.B) {
	vm := boot(b, buildImage(b, "testdata/guest.toml", false), `berth: ready`, qemu.Options{CPUs: 2})
	run(b, vm, `mkdir -p /root/ctx && cd /root/ctx && echo data > data.txt && printf 'FROM busybox
RUN echo one > /one
RUN echo two > /two
COPY data.txt /data.txt
CMD ["cat", "/data.txt"]
' > Dockerfile`)
	seconds := func(command string) float64 {
		out := run(b, vm, `time -f %e `+command+` 2>&1 >/dev/null | tail -n 1`)
		sec, err := strconv.ParseFloat(strings.TrimSpace(out), 64)
		if err != nil {
			b.Fatalf("%s: %q", command, out)
		}
		return sec
	}
	var cold, cached float64
	for range b.N {
		cold += seconds("berth build --no-cache -t bench /root/ctx")
		cached += seconds("berth build -t bench /root/ctx")
	}
	b.ReportMetric(cold*1000/float64(b.N), "build-5-steps-ms")
	b.ReportMetric(cached*1000/float64(b.N), "rebuild-cached-ms")
	if err := vm.Poweroff(30 * time.Second); err != nil {
		b.Fatal(err)
	}
}

// busyboxRootfs writes the root filesystem of the bundled busybox image
// as a plain tar, for crun and runc.
func busyboxRootfs(b *testing.B) string {
	img, err := tarball.ImageFromPath(filepath.Join(shared.build, "images", "busybox.tar"), nil)
	if err != nil {
		b.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		b.Fatalf("busybox layers: %v", err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		b.Fatal(err)
	}
	defer rc.Close()
	path := filepath.Join(b.TempDir(), "rootfs.tar")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, rc); err != nil {
		b.Fatal(err)
	}
	return path
}

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

// BenchmarkSELinux measures what SELinux costs: boot-to-ready and berth
// run --rm busybox true (the median of 20) with the policy enforcing, as
// the appliance ships, beside selinux = "disabled"; and the size the
// policy adds to the appliance.
func BenchmarkSELinux(b *testing.B) {
	for _, c := range []struct{ name, config string }{{"enforcing", "testdata/guest.toml"}, {"disabled", "testdata/selinux-disabled.toml"}} {
		initrd := buildImage(b, c.config, false)
		var ready float64
		var vm *qemu.VM
		for i := range b.N {
			start := time.Now()
			vm = boot(b, initrd, `berth: ready`, qemu.Options{CPUs: 2})
			ready += ms(time.Since(start))
			if i < b.N-1 {
				vm.Poweroff(10 * time.Second)
			}
		}
		b.ReportMetric(ready/float64(b.N), c.name+"-ready-ms")
		out := run(b, vm, `for i in $(seq 20); do time -f %e berth run --rm busybox true 2>&1 >/dev/null; done | sort -n | sed -n 10p`)
		sec, err := strconv.ParseFloat(strings.TrimSpace(out), 64)
		if err != nil {
			b.Fatalf("median %q", out)
		}
		b.ReportMetric(sec*1000, c.name+"-run-rm-ms")
		vm.Poweroff(10 * time.Second)
	}
	var size int64
	filepath.Walk(filepath.Join(shared.build, "selinux"), func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			size += fi.Size()
		}
		return nil
	})
	b.ReportMetric(float64(size)/(1<<10), "policy-files-KiB")
	if fi, err := os.Stat(shared.initrd); err == nil {
		b.ReportMetric(float64(fi.Size())/(1<<20), "initramfs-MiB")
	}
}

// BenchmarkDockerCLI measures Debian's unmodified Docker CLI against
// berth beside berth's own CLI: docker run --rm busybox true, and docker
// ps -a with 50 containers.
func BenchmarkDockerCLI(b *testing.B) {
	docker := filepath.Join(shared.build, "docker-cli", "docker")
	initrd := buildImageWith(b, "testdata/guest.toml", false, map[string]string{"/usr/local/bin/docker": docker})
	vm := boot(b, initrd, `berth: ready`, qemu.Options{CPUs: 2, MemoryMB: 1536})
	const env = "env DOCKER_HOST=unix:///run/berth.sock "
	seconds := func(command string) float64 {
		out := run(b, vm, `time -f '%x %e' `+command+` 2>&1 >/dev/null | tail -n 1`)
		var status int
		var sec float64
		if _, err := fmt.Sscanf(out, "%d %g", &status, &sec); err != nil || status != 0 {
			b.Fatalf("%s: %q", command, out)
		}
		return sec
	}
	// One of each first: the binaries' pages in the page cache.
	seconds(env + "/usr/local/bin/docker run --rm busybox true")
	seconds("berth run --rm busybox true")
	var dockerRun, berthRun float64
	for range b.N {
		dockerRun += seconds(env + "/usr/local/bin/docker run --rm busybox true")
		berthRun += seconds("berth run --rm busybox true")
	}
	run(b, vm, "for i in $(seq 50); do berth create busybox true >/dev/null || exit 1; done")
	var dockerPs, berthPs float64
	for range b.N {
		dockerPs += seconds(env + "/usr/local/bin/docker ps -a")
		berthPs += seconds("berth ps -a")
	}
	n := float64(b.N)
	b.ReportMetric(dockerRun*1000/n, "docker-run-rm-ms")
	b.ReportMetric(berthRun*1000/n, "berth-run-rm-ms")
	b.ReportMetric(dockerPs*1000/n, "docker-ps-50-ms")
	b.ReportMetric(berthPs*1000/n, "berth-ps-50-ms")
	if err := vm.Poweroff(30 * time.Second); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkKernelFlavours boots berth.img with each kernel flavour
// through the firmware (SeaBIOS): the cloud kernel on a virtio disk, the
// generic kernel on a SATA disk with an Intel NIC, as on a PC. It reports
// each appliance's size (kernel and initramfs) and its boot to ready,
// after a first boot that made the pool.
func BenchmarkKernelFlavours(b *testing.B) {
	type flavour struct {
		name, config string
		opts         qemu.Options
		disk         string
		size, ready  float64
	}
	flavours := []*flavour{
		{name: "cloud", config: "../examples/default.toml"},
		{name: "generic", config: "testdata/generic.toml", opts: qemu.Options{DiskBus: qemu.BusAHCI, NIC: "e1000e"}},
	}
	timedBoot := func(f *flavour) time.Duration {
		opts := f.opts
		opts.Disk, opts.CPUs = f.disk, 2
		start := time.Now()
		vm := bootDisk(b, opts)
		took := time.Since(start)
		if err := vm.Poweroff(15 * time.Second); err != nil {
			b.Fatal(err)
		}
		return took
	}
	for _, f := range flavours {
		res := buildAppliance(b, f.config, false, nil, nil)
		f.size = float64(res.KernelSize+res.InitramfsSize) / (1 << 20)
		f.disk = filepath.Join(b.TempDir(), "berth.img")
		if err := image.BuildDisk(image.DiskOptions{Path: f.disk, Kernel: res.Kernel, Initramfs: res.Initramfs, StateSize: 2 << 30}); err != nil {
			b.Fatal(err)
		}
		timedBoot(f) // the first boot formats and makes the pool
	}
	b.ResetTimer()
	for range b.N {
		for _, f := range flavours {
			f.ready += ms(timedBoot(f))
		}
	}
	for _, f := range flavours {
		b.ReportMetric(f.size, f.name+"-MiB")
		b.ReportMetric(f.ready/float64(b.N), f.name+"-ready-ms")
	}
}
