//go:build appliance

package tests

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth/image"
	"berth/qemu"
)

// buildRelease builds an initramfs with config whose /etc/berth/release
// says release, to tell two builds apart.
func buildRelease(t *testing.T, config, release string) string {
	t.Helper()
	marker := filepath.Join(t.TempDir(), "release")
	if err := os.WriteFile(marker, []byte(release+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return buildImageWith(t, config, false, map[string]string{"/etc/berth/release": marker})
}

// TestBootableDisk boots build's disk image without -kernel: with SeaBIOS
// first, which creates the pool on the state partition; containers and
// data are made; the disk is upgraded to another build (new kernel and
// initramfs, state untouched); SeaBIOS boots the new build, which reuses
// the pool, finds everything and loads no unchanged bundled image again;
// then OVMF (UEFI) boots the same disk.
func TestBootableDisk(t *testing.T) {
	parallel(t)
	disk := filepath.Join(t.TempDir(), "berth.img")
	if err := image.BuildDisk(image.DiskOptions{Path: disk, Kernel: shared.kernel,
		Initramfs: buildRelease(t, "testdata/disk.toml", "A"), StateSize: 1 << 30}); err != nil {
		t.Fatal(err)
	}
	poweroff := func(vm *qemu.VM) {
		vm.Send("poweroff\n")
		if _, err := vm.Wait(cmdTimeout); err != nil {
			t.Fatal(err)
		}
	}

	vm := bootDisk(t, qemu.Options{Disk: disk})
	for _, want := range []string{"SYSLINUX", "state disk /dev/vda2 mounted", "creating a new pool", "loading bundled image busybox.tar"} {
		if !strings.Contains(vm.Log(), want) {
			t.Errorf("first boot: the console lacks %q", want)
		}
	}
	if got := run(t, vm, "cat /etc/berth/release"); got != "A" {
		t.Errorf("release %q", got)
	}
	run(t, vm, "mkdir -p /var/lib/berth/data && echo kept > /var/lib/berth/data/file")
	run(t, vm, "berth run -d --name keep --restart always -v /var/lib/berth/data:/data:z busybox sh -c 'cat /data/file; exec sleep 1000'")
	eventually(t, vm, "berth logs keep", cmdTimeout, func(s string) bool { return s == "kept" })
	run(t, vm, "echo scratch > /root/scratch") // outside /var/lib/berth: gone after a reboot
	poweroff(vm)

	if err := image.UpgradeDisk(disk, shared.kernel, buildRelease(t, "testdata/disk.toml", "B")); err != nil {
		t.Fatal(err)
	}
	vm = bootDisk(t, qemu.Options{Disk: disk})
	if strings.Contains(vm.Log(), "creating a new pool") || strings.Contains(vm.Log(), "loading bundled image") {
		t.Errorf("the second boot made a new pool or loaded the unchanged busybox image again:\n%s", vm.Log())
	}
	if got := run(t, vm, "cat /etc/berth/release"); got != "B" {
		t.Errorf("after the upgrade, release %q", got)
	}
	if got := run(t, vm, "cat /var/lib/berth/data/file"); got != "kept" {
		t.Errorf("data after the upgrade: %q", got)
	}
	// keep ran before the upgrade and runs again after it (restart always).
	eventually(t, vm, "berth inspect -f '{{.State.Running}}' keep; berth logs keep", cmdTimeout, func(s string) bool { return s == "true\nkept\nkept" })
	if out, _, _ := vm.Run("cat /root/scratch", cmdTimeout); strings.Contains(out, "scratch\n") || out == "scratch" {
		t.Errorf("a file outside /var/lib/berth survived a reboot")
	}
	poweroff(vm)

	vm = bootDisk(t, qemu.Options{Disk: disk, UEFI: true})
	if !strings.Contains(vm.Log(), "state disk /dev/vda2 mounted") {
		t.Errorf("UEFI boot: no state partition")
	}
	if got := run(t, vm, "cat /etc/berth/release; cat /var/lib/berth/data/file"); got != "B\nkept" {
		t.Errorf("UEFI boot: %q", got)
	}
	poweroff(vm)
}

// TestConfigOverride boots an image with a broken config on its config
// drive: the boot stops in the rescue shell with an error that names the
// drive, the line and the field. (A good config drive is read in
// TestDockerWorkflow's guest; the kernel command line's config, which wins
// over a drive, in TestSELinuxPolicyFailure's.)
func TestConfigOverride(t *testing.T) {
	parallel(t)
	initrd := buildImage(t, "testdata/guest.toml", false)
	bad := configDrive(t, "[host]\nhostname = \"x\"\ncolour = \"blue\"\n")
	vm := boot(t, initrd, `rescue shell`, qemu.Options{Drives: []qemu.Drive{{Path: bad}}})
	if !strings.Contains(vm.Log(), "/dev/vda:/berth.toml:3:1: host.colour: unknown key") {
		t.Errorf("the error does not name the drive, line and field:\n%s", vm.Log())
	}
}

// configDrive makes a config drive: an ext4 filesystem labelled
// berth-config holding berth.toml.
func configDrive(t *testing.T, toml string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "berth.toml"), []byte(toml), 0o644); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(t.TempDir(), "config.img")
	if out, err := exec.Command("mke2fs", "-q", "-t", "ext4", "-L", "berth-config", "-d", dir, img, "8M").CombinedOutput(); err != nil {
		t.Fatalf("mke2fs: %v: %s", err, out)
	}
	return img
}

// guestConfig is testdata/guest.toml with another hostname, for a config
// drive or the kernel command line.
func guestConfig(t *testing.T, hostname string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/guest.toml")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Replace(string(b), `hostname = "guest"`, `hostname = "`+hostname+`"`, 1)
}

// fetchPage polls the build machine's port until the page contains want.
func fetchPage(t *testing.T, port int, want string, timeout time.Duration) {
	t.Helper()
	client := http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		if resp, err := client.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if last = string(b); strings.Contains(last, want) {
				return
			}
		} else {
			last = err.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("127.0.0.1:%d never served %q; last: %q", port, want, last)
}

// TestPythonExample boots examples/python.toml: the Debian image made
// with debootstrap, serving /var/lib/berth/www from /opt with python.
func TestPythonExample(t *testing.T) {
	parallel(t)
	port := freePort(t)
	initrd := buildImage(t, "../examples/python.toml", false)
	vm := boot(t, initrd, `berth: engine: Loading python:bookworm`, qemu.Options{MemoryMB: 2048, HostFwd: []qemu.Forward{{HostPort: port, GuestPort: 8080}}})
	// The image's one layer is 125 MB: under emulation, with another
	// guest beside it, its load takes minutes.
	if _, err := vm.Expect(`berth: ready`, 3*bootTimeout); err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`layer 1/1 [0-9a-f]+: [0-9.]+ MB in [0-9.]+ s`).FindAllString(vm.Log(), -1); len(m) == 2 {
		t.Logf("python image: %s", m[1])
	}
	fetchPage(t, port, "berth is running", 3*cmdTimeout)
	if got := run(t, vm, "berth inspect -f '{{.Config.Image}} {{.Config.WorkingDir}} {{.HostConfig.Binds}}' web"); got != "python:bookworm /opt [/var/lib/berth/www:/opt:z]" {
		t.Errorf("inspect: %q", got)
	}
}
