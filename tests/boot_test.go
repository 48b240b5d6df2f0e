//go:build appliance

package tests

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth/qemu"
)

// TestAppliance boots what make run boots (build's image, with
// examples/default.toml) once and checks, on its console, everything
// issue 2 promises of a booted host, its address by DHCP and its page
// from the build machine; it ends with poweroff.
func TestAppliance(t *testing.T) {
	parallel(t)
	port := freePort(t)
	vm := boot(t, shared.initrd, `berth: ready \(\d+ ms since init started\)`,
		qemu.Options{HostFwd: []qemu.Forward{{HostPort: port, GuestPort: 8080}}})

	t.Run("the default page reaches the build machine", func(t *testing.T) {
		fetchPage(t, port, "berth is running", 2*cmdTimeout)
	})

	t.Run("the address comes by DHCP", func(t *testing.T) {
		if !strings.Contains(vm.Log(), "berth: eth0: DHCP address 10.0.2.15/24") {
			t.Errorf("no DHCP line on the console")
		}
		if out := run(t, vm, "ip -4 addr show eth0"); !strings.Contains(out, "inet 10.0.2.15/24") {
			t.Errorf("eth0:\n%s", out)
		}
		if out := run(t, vm, "ip link show lo"); !strings.Contains(out, "UP") {
			t.Errorf("lo is down:\n%s", out)
		}
	})

	t.Run("each boot step logs its time", func(t *testing.T) {
		for _, step := range []string{"mount filesystems", "attach consoles", "enable cgroup controllers",
			"load kernel modules", "name disks", "read config", "set hostname"} {
			re := regexp.MustCompile(`berth: ` + step + ` \(\d+ ms\)`)
			if !re.MatchString(vm.Log()) {
				t.Errorf("no line %q on the console", re)
			}
		}
		if strings.Contains(vm.Log(), "FAILED") {
			t.Errorf("a boot step failed")
		}
	})

	t.Run("berth version", func(t *testing.T) {
		out := run(t, vm, "berth version")
		for _, want := range []string{"berth version 0.1.0", "git commit:", "kernel:        " + shared.release, "server:        engine 0.1.0, API 1.41"} {
			if !strings.Contains(out, want) {
				t.Errorf("berth version printed\n%s\nwant %q in it", out, want)
			}
		}
	})

	t.Run("root is a tmpfs, not the initramfs", func(t *testing.T) {
		if out := run(t, vm, "stat -f -c %T /"); strings.TrimSpace(out) != "tmpfs" {
			t.Errorf("root filesystem type %q, want tmpfs", out)
		}
		// pivot_root(2) needs a root that is a mount point of its own.
		run(t, vm, "grep -q '^root / tmpfs' /proc/self/mounts")
	})

	t.Run("filesystems are mounted", func(t *testing.T) {
		mounts := run(t, vm, "cat /proc/self/mounts")
		for _, want := range []string{" /proc proc ", " /sys sysfs ", " /dev devtmpfs ", " /dev/pts devpts ",
			" /dev/shm tmpfs ", " /run tmpfs ", " /tmp tmpfs ", " /sys/fs/cgroup cgroup2 "} {
			if !strings.Contains(mounts, want) {
				t.Errorf("no mount %q in\n%s", want, mounts)
			}
		}
	})

	t.Run("cgroup controllers are enabled for children", func(t *testing.T) {
		got := strings.Fields(run(t, vm, "cat /sys/fs/cgroup/cgroup.subtree_control"))
		for _, c := range []string{"cpu", "memory", "pids", "io"} {
			if !contains(got, c) {
				t.Errorf("controller %s not enabled: %v", c, got)
			}
		}
		// A child cgroup really gets them.
		run(t, vm, "mkdir /sys/fs/cgroup/probe && test -f /sys/fs/cgroup/probe/memory.max && test -f /sys/fs/cgroup/probe/pids.max && rmdir /sys/fs/cgroup/probe")
	})

	t.Run("kernel modules are loaded with their dependencies, drivers by the devices", func(t *testing.T) {
		mods := run(t, vm, "cut -d' ' -f1 /proc/modules")
		for _, m := range []string{"virtio_rng", "dm_thin_pool", "dm_persistent_data", "libcrc32c", "loop",
			"bridge", "veth", "nf_tables", "overlay", "virtio_pci", "virtio_net"} {
			if !contains(strings.Fields(mods), m) {
				t.Errorf("module %s not loaded; loaded:\n%s", m, mods)
			}
		}
		// This guest has a virtio network card and no disk.
		if contains(strings.Fields(mods), "virtio_blk") {
			t.Errorf("virtio_blk is loaded, but no device asks for it")
		}
		if !regexp.MustCompile(`(?m)^berth: drivers: virtio_pci\r?$`).MatchString(vm.Log()) ||
			!regexp.MustCompile(`(?m)^berth: drivers: virtio_net\r?$`).MatchString(vm.Log()) {
			t.Errorf("no drivers lines on the console")
		}
		// The device-mapper control node works once dm is loaded.
		run(t, vm, "test -c /dev/mapper/control")
	})

	t.Run("hostname comes from the config", func(t *testing.T) {
		if out := strings.TrimSpace(run(t, vm, "hostname")); out != "berth" {
			t.Errorf("hostname %q, want berth", out)
		}
		run(t, vm, "grep -q berth /etc/hosts")
	})

	t.Run("console tools are there", func(t *testing.T) {
		for _, tool := range []string{"sh", "berth", "ls", "cat", "echo", "ps", "mkdir", "mount", "dmesg", "ip",
			"wget", "df", "free", "grep", "sleep", "kill", "poweroff", "reboot", "mke2fs", "mkfs.ext4"} {
			if _, code, err := vm.Run("command -v "+tool, cmdTimeout); err != nil || code != 0 {
				t.Errorf("%s is not on PATH (%v, status %d)", tool, err, code)
			}
		}
		run(t, vm, "ps | grep -q sh && free | grep -q Mem && ip link show lo >/dev/null && dmesg | grep -q Linux")
	})

	t.Run("mke2fs runs with its libraries", func(t *testing.T) {
		run(t, vm, "dd if=/dev/zero of=/tmp/fs.img bs=1M count=16 2>/dev/null && mkfs.ext4 -q -F /tmp/fs.img && rm /tmp/fs.img")
	})

	t.Run("the config checks on the host", func(t *testing.T) {
		out := run(t, vm, "berth config check /etc/berth/berth.toml")
		if !strings.Contains(out, "ok (1 containers)") {
			t.Errorf("config check: %s", out)
		}
	})

	t.Run("100 orphans leave no zombie", func(t *testing.T) {
		// Each subshell starts a short sleep and exits at once: the sleeps
		// become orphans, re-parented to PID 1, which must reap them.
		run(t, vm, "for i in $(seq 100); do (sleep 0.3 &); done")
		orphans := run(t, vm, "ps -o ppid,comm | grep -c '^ *1 sleep' || true")
		if n, _ := strconv.Atoi(strings.TrimSpace(orphans)); n == 0 {
			t.Logf("the sleeps had already exited when counted")
		}
		eventually(t, vm, "ps -o stat,comm | grep -c -e '^Z' -e ' sleep$' || true", 30*time.Second,
			func(out string) bool { return strings.TrimSpace(out) == "0" })
	})

	t.Run("ctrl-alt-del is handed to init", func(t *testing.T) {
		// With C-A-D off the kernel sends SIGINT to PID 1 instead of
		// rebooting at once.
		if out := strings.TrimSpace(run(t, vm, "cat /proc/sys/kernel/ctrl-alt-del")); out != "0" {
			t.Errorf("ctrl-alt-del = %s, want 0", out)
		}
	})

	t.Run("poweroff ends QEMU with status 0 within 10 seconds", func(t *testing.T) {
		start := time.Now()
		if err := vm.Poweroff(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		t.Logf("poweroff took %v", time.Since(start).Round(time.Millisecond))
		if !strings.Contains(vm.Log(), "berth: power off: stopping all processes") {
			t.Errorf("no orderly shutdown on the console")
		}
	})
}

// TestBadConfig boots an appliance whose config is broken: the error names
// file, line, column and field; the host stays up with a shell.
func TestBadConfig(t *testing.T) {
	parallel(t)
	initrd := buildImage(t, "testdata/bad.toml", true)
	vm := boot(t, initrd, `berth: rescue shell`, qemu.Options{})
	want := `/etc/berth/berth.toml:9:10: container[0].ports[0]: port "70000:8000": host port 70000 is out of range 1-65535`
	if !strings.Contains(vm.Log(), want) {
		t.Errorf("console lacks the config error %q", want)
	}
	if out := run(t, vm, "echo alive-$((40+2))"); strings.TrimSpace(out) != "alive-42" {
		t.Errorf("shell answered %q", out)
	}
	if strings.Contains(vm.Log(), "berth: ready") {
		t.Errorf("a host with a broken config said it was ready")
	}
	if err := vm.Poweroff(10 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestInitramfsIsReproducible builds the initramfs twice from the same
// inputs and compares the bytes.
func TestInitramfsIsReproducible(t *testing.T) {
	parallel(t)
	a := buildImage(t, "../examples/default.toml", false)
	b := buildImage(t, "../examples/default.toml", false)
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if len(da) == 0 || string(da) != string(db) {
		t.Fatalf("two builds differ: %d and %d bytes", len(da), len(db))
	}
	// Only the modules berth loads, not the whole 90 MB tree.
	if len(da) > 40<<20 {
		t.Errorf("initramfs is %d MiB; expected well under 40", len(da)>>20)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
