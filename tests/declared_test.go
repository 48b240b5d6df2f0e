//go:build appliance

package tests

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"berth/qemu"
)

// fetch gets the page on the build machine's port, trying until a minute
// has passed: a server just started may not listen yet.
func fetch(t *testing.T, port int) string {
	t.Helper()
	client := http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err == nil {
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
}

// TestDeclaredContainers boots twice on one state disk. First: the
// declared containers start in dependency order and web's published port
// is fetched from the build machine. Second, with an edited berth.toml:
// the changed container is recreated, the one no longer declared is
// removed, and one whose image is missing is reported while the rest
// start; the state disk was unmounted cleanly at the first poweroff.
func TestDeclaredContainers(t *testing.T) {
	parallel(t)
	disk := []qemu.Drive{{Path: sparseDisk(t, "state.img", 4<<30)}}
	port := freePort(t)
	opts := qemu.Options{Drives: disk, HostFwd: []qemu.Forward{{HostPort: port, GuestPort: 8080}}}
	up := func(out string) bool { return strings.Contains(out, "web") && strings.Contains(out, "Up ") }

	vm := boot(t, buildImage(t, "testdata/declared-a.toml", false), `berth: ready`, opts)
	ps := eventually(t, vm, "berth ps", time.Minute, func(out string) bool { return up(out) && strings.Contains(out, "cache") })
	t.Logf("first boot:\n%s", ps)
	run(t, vm, "echo declared page > /var/lib/berth/www/index.html")
	if got := fetch(t, port); got != "declared page\n" {
		t.Errorf("web served %q", got)
	}
	firstID := run(t, vm, "berth inspect -f '{{.Id}}' web")
	if err := vm.Poweroff(30 * time.Second); err != nil {
		t.Fatal(err)
	}

	vm = boot(t, buildImage(t, "testdata/declared-b.toml", false), `berth: ready`, opts)
	// The first boot's poweroff unmounted the state disk: its journal
	// needs no replay.
	if got := run(t, vm, "dmesg | grep -i 'ext4.*recover' || true"); got != "" {
		t.Errorf("the state disk was not unmounted at poweroff; the next mount said:\n%s", got)
	}
	eventually(t, vm, "berth ps -a", time.Minute, func(out string) bool { return up(out) && !strings.Contains(out, "cache") })
	// Declare reports ghost before it removes cache, which eventually saw.
	if !regexp.MustCompile(`berth: engine: container ghost: .*(?i:no such image): nosuch/image:1`).MatchString(vm.Log()) {
		t.Errorf("no error on the console for the container whose image is missing")
	}
	if id := run(t, vm, "berth inspect -f '{{.Id}}' web"); id == firstID {
		t.Errorf("web was not recreated after its declaration changed")
	}
	if env := run(t, vm, "berth inspect -f '{{.Config.Env}}' web"); !strings.Contains(env, "VERSION=2") {
		t.Errorf("web's env: %s", env)
	}
	if got := fetch(t, port); got != "declared page\n" {
		t.Errorf("after the second boot web served %q", got)
	}
	if err := vm.Poweroff(30 * time.Second); err != nil {
		t.Fatal(err)
	}
}
