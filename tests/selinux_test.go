//go:build appliance

package tests

import (
	"encoding/base64"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"berth/filecontexts"
	"berth/qemu"
)

// TestFileContextsAsMatchpathcon compares berth's file_contexts matcher,
// which labels the appliance's root at boot, with libselinux's
// matchpathcon on the policy make image compiled.
func TestFileContextsAsMatchpathcon(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(shared.build, "selinux")
	for from, to := range map[string]string{"file_contexts": "file_contexts", "contexts/files/file_contexts.subs_dist": "file_contexts.subs_dist"} {
		b, err := os.ReadFile(filepath.Join(src, from))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, to), b, 0o644)
	}
	fc, err := filecontexts.Load(filepath.Join(dir, "file_contexts"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]fs.FileMode{"file": 0, "dir": fs.ModeDir, "lnk_file": fs.ModeSymlink,
		"chr_file": fs.ModeDevice | fs.ModeCharDevice, "blk_file": fs.ModeDevice}
	paths := map[string][]string{
		"file": {"/init", "/bin/berth", "/bin/busybox", "/sbin/mke2fs", "/usr/bin/crun", "/etc/passwd", "/etc/shadow",
			"/etc/berth/berth.toml", "/etc/selinux/config", "/etc/selinux/default/policy/policy.33", "/etc/resolv.conf",
			"/lib/modules/6.1.0-56-cloud-amd64/kernel/drivers/md/dm-thin-pool.ko", "/usr/share/berth/www/index.html",
			"/var/lib/berth/devicemapper/data", "/tests/probe", "/root/.ash_history", "/usr/lib/x86_64-linux-gnu/libc.so.6"},
		"dir":      {"/", "/dev", "/proc", "/sys", "/run", "/tmp", "/var/lib/berth", "/var/run", "/root", "/home", "/mnt", "/etc/selinux"},
		"lnk_file": {"/sbin/poweroff", "/var/run", "/bin/sh", "/lib64/ld-linux-x86-64.so.2"},
		"chr_file": {"/dev/null", "/dev/console", "/dev/ttyS0", "/dev/ptmx", "/dev/mapper/control", "/dev/kmsg", "/dev/random", "/dev/loop-control"},
		"blk_file": {"/dev/vda", "/dev/loop0", "/dev/dm-3", "/dev/sda1"},
	}
	for kind, list := range paths {
		for _, p := range list {
			out, err := exec.Command("matchpathcon", "-f", filepath.Join(dir, "file_contexts"), "-m", kind, p).CombinedOutput()
			if err != nil {
				t.Fatalf("matchpathcon %s: %v: %s (make deps installs selinux-utils)", p, err, out)
			}
			want := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(out)), p))
			got, ok := fc.Lookup(p, kinds[kind])
			if !ok {
				got = "<<none>>"
			}
			if got != want {
				t.Errorf("%s (%s): berth says %s, matchpathcon %s", p, kind, got, want)
			}
		}
	}
}

var containerLabel = regexp.MustCompile(`^system_u:system_r:container_t:s0:(c\d+,c\d+)$`)

// TestSELinux boots the appliance as it ships, SELinux enforcing, and
// checks sVirt as Docker on Atomic has it: each container in container_t
// with a pair of categories of its own, its files out of every other
// container's reach, kept across a reboot.
func TestSELinux(t *testing.T) {
	parallel(t)
	initrd := buildImage(t, "testdata/state.toml", false)
	disk := []qemu.Drive{{Path: sparseDisk(t, "state.img", 3<<30)}}
	vm := boot(t, initrd, `berth: ready`, qemu.Options{Drives: disk})
	if !strings.Contains(vm.Log(), "SELinux: policy loaded, enforcing") {
		t.Errorf("the console does not say the policy is loaded")
	}
	if got := run(t, vm, "getenforce"); got != "Enforcing" {
		t.Errorf("getenforce: %q", got)
	}
	if got := run(t, vm, "cat /proc/1/attr/current"); !strings.HasPrefix(got, "system_u:system_r:berth_t:s0") {
		t.Errorf("PID 1 runs as %q", got)
	}

	run(t, vm, "mkdir -p /var/lib/berth/secret && echo secret > /var/lib/berth/secret/file")
	run(t, vm, "berth run -d --name a --restart always -v /var/lib/berth/secret:/s:Z busybox sleep 1d")
	labelA := run(t, vm, "berth exec a cat /proc/self/attr/current | tr -d '\\0'")
	first := run(t, vm, "berth run --rm busybox cat /proc/self/attr/current | tr -d '\\0'")
	second := run(t, vm, "berth run --rm busybox cat /proc/self/attr/current | tr -d '\\0'")
	var pairs []string
	for _, l := range []string{labelA, first, second} {
		m := containerLabel.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			t.Fatalf("a container runs as %q, not container_t with two categories", l)
		}
		pairs = append(pairs, m[1])
	}
	if pairs[0] == pairs[1] || pairs[1] == pairs[2] || pairs[0] == pairs[2] {
		t.Errorf("containers share categories: %v", pairs)
	}
	if got := run(t, vm, "berth inspect -f '{{.ProcessLabel}} {{.MountLabel}}' a"); got != strings.TrimSpace(labelA)+" system_u:object_r:container_file_t:s0:"+pairs[0] {
		t.Errorf("inspect: %q", got)
	}
	if got := run(t, vm, "berth exec a cat /s/file"); got != "secret" {
		t.Errorf("a cannot read its own :Z volume: %q", got)
	}

	t.Run("another container cannot read a's :Z volume, even as root", func(t *testing.T) {
		run(t, vm, "dmesg -c > /dev/null")
		out, code, _ := vm.Run("berth run --rm --cap-add ALL -v /var/lib/berth/secret:/s busybox cat /s/file", cmdTimeout)
		if code == 0 || !strings.Contains(out, "Permission denied") {
			t.Errorf("container b read a's file: status %d, %q", code, out)
		}
		// The kernel's audit thread logs the denial a moment later, and PID 1
		// shows it on the console.
		denial := regexp.MustCompile(`berth: SELinux: avc:  denied .* scontext=system_u:system_r:container_t:s0:c\d+,c\d+ tcontext=system_u:object_r:container_file_t:s0:` + pairs[0] + ` `)
		deadline := time.Now().Add(30 * time.Second)
		for !denial.MatchString(vm.Log()) {
			if time.Now().After(deadline) {
				t.Fatalf("no AVC denial on the console:\n%s", run(t, vm, "dmesg | grep avc | tail -n 3"))
			}
			vm.Run("true", cmdTimeout) // a round trip on the console, no sleep
		}
	})

	t.Run("a plain bind mount of a host file of another type is refused; label=disable lifts it", func(t *testing.T) {
		out, code, _ := vm.Run("berth run --rm -v /etc/berth:/cfg busybox cat /cfg/berth.toml", cmdTimeout)
		if code == 0 || !strings.Contains(out, "Permission denied") {
			t.Errorf("the host's config was read: status %d, %q", code, out)
		}
		if out := run(t, vm, "berth run --rm --security-opt label=disable -v /etc/berth:/cfg busybox cat /cfg/berth.toml"); !strings.Contains(out, "[host]") {
			t.Errorf("label=disable: %q", out)
		}
	})

	t.Run("label options", func(t *testing.T) {
		if got := run(t, vm, "berth run --rm --security-opt label=level:s0:c100,c200 busybox cat /proc/self/attr/current | tr -d '\\0'"); got != "system_u:system_r:container_t:s0:c100,c200" {
			t.Errorf("label=level: %q", got)
		}
		if got := run(t, vm, "berth run --rm --privileged busybox cat /proc/self/attr/current | tr -d '\\0'"); !strings.Contains(got, "berth_t") {
			t.Errorf("--privileged runs as %q, want the host's domain", got)
		}
		if _, code, _ := vm.Run("berth run --rm --security-opt label=colour:blue busybox true", cmdTimeout); code != 125 {
			t.Errorf("an unknown label option: status %d", code)
		}
	})

	t.Run("setenforce and info", func(t *testing.T) {
		run(t, vm, "setenforce 0")
		if got := run(t, vm, "getenforce"); got != "Permissive" {
			t.Errorf("after setenforce 0: %q", got)
		}
		run(t, vm, "setenforce Enforcing")
		info := run(t, vm, "berth info")
		if !strings.Contains(info, " selinux\n  Mode: enforcing\n  Policy: 33\n") {
			t.Errorf("berth info:\n%s", info)
		}
	})

	// A reboot keeps the labels: a's pair, and its volume's.
	if err := vm.Poweroff(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	vm = boot(t, initrd, `berth: ready`, qemu.Options{Drives: disk})
	after := eventually(t, vm, "berth exec a cat /proc/self/attr/current | tr -d '\\0'", time.Minute, func(s string) bool { return containerLabel.MatchString(s) })
	if strings.TrimSpace(after) != strings.TrimSpace(labelA) {
		t.Errorf("after a reboot a runs as %q, before as %q", after, labelA)
	}
	if got := run(t, vm, "berth exec a cat /s/file"); got != "secret" {
		t.Errorf("after a reboot a cannot read its volume: %q", got)
	}
	if got := run(t, vm, "berth run --rm busybox cat /proc/self/attr/current | tr -d '\\0'"); strings.Contains(got, ":"+pairs[0]) {
		t.Errorf("a new container got a's pair after a reboot: %q", got)
	}
	if err := vm.Poweroff(30 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestSELinuxPolicyFailure boots a kernel whose security modules leave
// SELinux out (lsm=), where no policy can load: by default the host says so and
// boots on without it; with selinux_failure = "rescue" it stops. The first
// guest also has a config on the kernel command line and another on a
// config drive: the command line's wins.
func TestSELinuxPolicyFailure(t *testing.T) {
	parallel(t)
	drive := configDrive(t, guestConfig(t, "from-drive"))
	vm := boot(t, buildImage(t, "testdata/guest.toml", false), `berth: ready`, qemu.Options{Drives: []qemu.Drive{{Path: drive}},
		Append: "lsm=lockdown,yama berth.config=base64:" + base64.StdEncoding.EncodeToString([]byte(guestConfig(t, "from-cmdline")))})
	if !strings.Contains(vm.Log(), "SELinux policy not loaded") || !strings.Contains(vm.Log(), "WITHOUT SELinux") {
		t.Errorf("the console does not say the policy failed:\n%s", tail(vm.Log(), 2000))
	}
	if got := run(t, vm, "getenforce"); got != "Disabled" {
		t.Errorf("getenforce: %q", got)
	}
	if got := run(t, vm, "hostname; berth info 2>/dev/null | grep '^Config:'"); got != "from-cmdline\nConfig: berth.config (kernel command line)" {
		t.Errorf("the kernel command line's config over the drive's: %q", got)
	}
	vm.Poweroff(30 * time.Second)

	vm = boot(t, buildImage(t, "testdata/selinux-rescue.toml", false), `berth: rescue shell`, qemu.Options{Append: "lsm=lockdown,yama"})
	if strings.Contains(vm.Log(), "start engine") {
		t.Errorf("the engine started although the policy did not load")
	}
	vm.Poweroff(30 * time.Second)
}
