//go:build appliance

package tests

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"berth/qemu"
)

// TestDockerCLI is the judge of berth's Docker API: Debian's unmodified
// Docker CLI (make deps unpacks it into build/docker-cli) and Docker's Go
// client package, on a disk attached to the appliance as a user would
// bring them, drive the engine through /run/berth.sock. The CLI runs
// testdata/dockercli.sh, every Docker 1.2 verb and today's daily flags,
// with a registry served inside the guest with and without basic
// authentication; the Go client runs the api package's guest tests.
func TestDockerCLI(t *testing.T) {
	parallel(t)
	docker := filepath.Join(shared.build, "docker-cli", "docker")
	if _, err := os.Stat(docker); err != nil {
		t.Fatalf("%v: make deps unpacks Debian's docker.io CLI there", err)
	}
	dir := t.TempDir()
	registry := filepath.Join(dir, "registry")
	cmd := exec.Command("go", "build", "-trimpath", "-o", registry, "berth/tests/registry")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the test registry: %v\n%s", err, b)
	}
	for dst, src := range map[string]string{
		"docker":       docker,
		"dockercli.sh": "testdata/dockercli.sh",
		"api.test":     guestTestBinary(t, "berth/api"),
	} {
		copyFile(t, src, filepath.Join(dir, dst))
	}
	disk := sparseDisk(t, "cli.img", 256<<20)
	if b, err := exec.Command("/sbin/mke2fs", "-q", "-F", "-t", "ext4", "-L", "dockercli", "-d", dir, disk).CombinedOutput(); err != nil {
		t.Fatalf("mke2fs: %v\n%s", err, b)
	}

	initrd := buildImage(t, "testdata/guest.toml", false)
	vm := boot(t, initrd, `berth: ready`, qemu.Options{Drives: []qemu.Drive{{Path: disk, Serial: "dockercli"}}, MemoryMB: 1536})
	run(t, vm, "mkdir -p /mnt/cli && mount -o ro /dev/vda /mnt/cli")

	_, code, err := vm.Run("DOCKER=/mnt/cli/docker REGISTRY=/mnt/cli/registry sh /mnt/cli/dockercli.sh > /tmp/dockercli.log 2>&1", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	out := run(t, vm, "cat /tmp/dockercli.log")
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "FAIL: ") {
			t.Error(strings.TrimPrefix(line, "FAIL: "))
		}
	}
	if code != 0 || !strings.Contains(out, "dockercli: ") {
		t.Errorf("dockercli.sh exited %d:\n%s", code, out)
	}
	t.Logf("dockercli.sh:\n%s", out)

	_, code, err = vm.Run("BERTH_TEST_DOCKER_HOST=unix:///run/berth.sock /mnt/cli/api.test -test.v -test.timeout 5m > /tmp/api.log 2>&1", 6*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if out := run(t, vm, "cat /tmp/api.log"); code != 0 || !strings.Contains(out, "\nPASS") || strings.Contains(out, "--- SKIP") {
		t.Errorf("Docker's Go client (status %d):\n%s", code, out)
	}
	if err := vm.Poweroff(20 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// copyFile copies src to dst, executable.
func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
