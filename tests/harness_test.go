//go:build appliance

// Package tests boots the berth appliance under QEMU and checks what a
// user sees on its console. Run with make test (it builds what the tests
// boot); the tests need root only for nothing, but QEMU and the kernel
// from make deps.
package tests

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth/config"
	"berth/image"
	"berth/qemu"
)

// Deadlines. Software emulation on a loaded 2-core machine is slow; these
// are limits, not waits: every check returns as soon as its state is seen.
const (
	bootTimeout = 120 * time.Second
	cmdTimeout  = 60 * time.Second
)

var buildDir = flag.String("build", "../build", "directory with vmlinuz, initramfs.img, berth and kernel/")

// env is what every test shares: the built appliance and the accelerator.
type env struct {
	build   string
	kernel  string
	initrd  string
	accel   string
	release string
	slots   *scheduler // which tests run now
}

var shared env

func TestMain(m *testing.M) {
	flag.Parse()
	b, err := filepath.Abs(*buildDir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared = env{build: b, kernel: filepath.Join(b, "vmlinuz"), initrd: filepath.Join(b, "initramfs.img")}
	for _, f := range []string{shared.kernel, shared.initrd, filepath.Join(b, "berth")} {
		if _, err := os.Stat(f); err != nil {
			fmt.Fprintf(os.Stderr, "tests: %v: run make image first (make test does)\n", err)
			os.Exit(1)
		}
	}
	shared.accel = qemu.DetectAccel(shared.kernel)
	// One guest per core at a time. make test gives go test a -parallel
	// above that, so that the scheduler, not Go, picks the order.
	slots := runtime.GOMAXPROCS(0)
	goParallel := slots
	if f := flag.Lookup("test.parallel"); f != nil {
		goParallel, _ = strconv.Atoi(f.Value.String())
	}
	shared.slots = newScheduler(slots, goParallel)
	rels, _ := filepath.Glob(filepath.Join(b, "kernel/lib/modules/*"))
	if len(rels) == 1 {
		shared.release = filepath.Base(rels[0])
	}
	fmt.Fprintf(os.Stderr, "tests: accelerator %s, kernel %s\n", shared.accel, shared.release)
	os.Exit(m.Run())
}

// buildImage builds an initramfs with another config into a temporary
// directory and returns its path.
func buildImage(t testing.TB, configPath string, skipCheck bool) string {
	t.Helper()
	return buildImageWith(t, configPath, skipCheck, nil)
}

// buildImageWith is buildImage with extra files (destination to source).
func buildImageWith(t testing.TB, configPath string, skipCheck bool, extra map[string]string) string {
	t.Helper()
	return buildImageWithPrograms(t, configPath, skipCheck, extra, nil)
}

// buildImageWithPrograms also adds programs with their libraries.
func buildImageWithPrograms(t testing.TB, configPath string, skipCheck bool, extra, programs map[string]string) string {
	t.Helper()
	return buildAppliance(t, configPath, skipCheck, extra, programs).Initramfs
}

// buildAppliance builds the kernel and initramfs of configPath, with the
// kernel flavour it names, into a temporary directory.
func buildAppliance(t testing.TB, configPath string, skipCheck bool, extra, programs map[string]string) image.Result {
	t.Helper()
	out := t.TempDir()
	images := []string{filepath.Join(shared.build, "images", "busybox.tar")}
	flavour := config.KernelCloud
	if c, err := config.Load(configPath); err == nil {
		// The images the config bundles, made once in the build directory.
		if images, err = image.BundleImages(c, configPath, "/bin/busybox", shared.build, os.Stderr); err != nil {
			t.Fatal(err)
		}
		flavour = c.Image.Kernel
	}
	res, err := image.Build(image.Options{
		KernelRoot:      image.KernelDir(shared.build, flavour),
		Kernel:          flavour,
		Berth:           filepath.Join(shared.build, "berth"),
		Busybox:         "/bin/busybox",
		Mke2fs:          "/sbin/mke2fs",
		Init:            "/usr/bin/tini-static",
		Config:          configPath,
		SkipConfigCheck: skipCheck,
		Images:          images,
		SELinux:         filepath.Join(shared.build, "selinux"),
		ExtraFiles:      extra,
		Programs:        programs,
		OutDir:          out,
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// boot starts the appliance with initrd and waits for want on the console.
func boot(t testing.TB, initrd string, want string, opts qemu.Options) *qemu.VM {
	t.Helper()
	opts.Kernel = shared.kernel
	opts.Initrd = initrd
	if opts.CPUs == 0 {
		// One vCPU: with two guests of two vCPUs each on a 2-core machine
		// under emulation, a vCPU that holds a guest spinlock is descheduled
		// while the other spins, and the guest locks up for minutes.
		opts.CPUs = 1
	}
	opts.Accel = shared.accel
	opts.NoReboot = true
	opts.Append = "quiet panic=-1 " + opts.Append
	vm, err := qemu.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	vm.CleanupOnExit(t)
	if _, err := vm.Expect(want, bootTimeout); err != nil {
		t.Fatal(err)
	}
	return vm
}

// run runs a shell command on the console and fails the test unless it
// exits 0.
func run(t testing.TB, vm *qemu.VM, command string) string {
	t.Helper()
	out, code, err := vm.Run(command, cmdTimeout)
	if err != nil {
		t.Fatalf("%s: %v", command, err)
	}
	if code != 0 {
		t.Fatalf("%s: exit status %d, output:\n%s", command, code, out)
	}
	return out
}

// eventually runs command until check accepts its output or the deadline
// passes, a quarter of a second apart: the guest's one emulated CPU is
// also what brings the state about, and a command run back to back would
// take it away.
func eventually(t testing.TB, vm *qemu.VM, command string, timeout time.Duration, check func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, _, err := vm.Run(command, cmdTimeout)
		if err != nil {
			t.Fatalf("%s: %v", command, err)
		}
		if check(out) {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still %q after %v", command, out, timeout)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// shutdownWith ends vm with command, one of the ways of asking PID 1 to
// stop: reboot (SIGTERM), kill -INT 1 (what ctrl-alt-del sends), poweroff
// (SIGUSR2, Poweroff's) or poweroff -f, which does not ask PID 1. QEMU
// runs with -no-reboot, so a reboot ends it too. The console must say
// console ("" for nothing) and QEMU exit with status 0. Tests end their
// guests with each of them, rather than boot guests only for this.
func shutdownWith(t *testing.T, vm *qemu.VM, command, console string) {
	t.Helper()
	if err := vm.Send(command + "\n"); err != nil {
		t.Fatal(err)
	}
	if code, err := vm.Wait(30 * time.Second); err != nil || code != 0 {
		t.Fatalf("%s: QEMU: status %d, %v", command, code, err)
	}
	if console != "" && !strings.Contains(vm.Log(), console) {
		t.Errorf("%s: console lacks %q", command, console)
	}
}

// bootDisk boots a disk image (opts.Disk) through its firmware, SeaBIOS
// or UEFI, and waits for ready: 1 CPU and 1 GiB unless opts say more.
func bootDisk(t testing.TB, opts qemu.Options) *qemu.VM {
	t.Helper()
	opts.Accel, opts.NoReboot = shared.accel, true
	if opts.CPUs == 0 {
		opts.CPUs = 1
	}
	vm, err := qemu.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	vm.CleanupOnExit(t)
	if _, err := vm.Expect(`berth: ready`, 2*bootTimeout); err != nil {
		t.Fatal(err)
	}
	return vm
}
