//go:build appliance

package tests

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"berth/qemu"
)

// TestDockerWorkflow is the user's first session on a booted appliance:
// run a web server from the bundled busybox image with a port, a volume
// and a working directory, see it in ps, read its address with inspect,
// fetch its page from the build machine, and clean up.
func TestDockerWorkflow(t *testing.T) {
	parallel(t)
	port := freePort(t)
	// A config that declares no container, so that the names and ports
	// below are free; the guest reads it from a config drive, over the
	// image's own.
	initrd := buildImage(t, "testdata/guest.toml", false)
	drive := configDrive(t, guestConfig(t, "from-drive"))
	vm := boot(t, initrd, `berth: ready`, qemu.Options{Drives: []qemu.Drive{{Path: drive}}, HostFwd: []qemu.Forward{{HostPort: port, GuestPort: 8080}}})
	if got := run(t, vm, "hostname; berth info 2>/dev/null | grep '^Config:'"); got != "from-drive\nConfig: /dev/vda:/berth.toml" {
		t.Errorf("the config drive's config: %q", got)
	}
	if !strings.Contains(vm.Log(), "berth: engine: layer 1/1") {
		t.Errorf("the bundled busybox image was not loaded at boot")
	}
	images := run(t, vm, "berth images")
	if !regexp.MustCompile(`busybox\s+latest\s+[0-9a-f]{12}\s+.* ago\s+2\.\d+MB`).MatchString(images) {
		t.Errorf("berth images:\n%s", images)
	}
	run(t, vm, "mkdir -p /var/lib/berth/www && echo hello from berth > /var/lib/berth/www/index.html")
	id := strings.TrimSpace(run(t, vm, "berth run -d -p 8080:8000 --name web -w /www -v /var/lib/berth/www:/www:z busybox httpd -f -p 8000"))
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(id) {
		t.Fatalf("berth run -d printed %q, want the container id", id)
	}
	ps := run(t, vm, "berth ps")
	for _, want := range []string{"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES",
		id[:12], "busybox", `"httpd -f -p 8000"`, "Up ", "0.0.0.0:8080->8000/tcp", "web"} {
		if !strings.Contains(ps, want) {
			t.Errorf("berth ps lacks %q:\n%s", want, ps)
		}
	}
	ip := strings.TrimSpace(run(t, vm, "berth inspect -f '{{.NetworkSettings.IPAddress}}' web"))
	if !regexp.MustCompile(`^172\.17\.\d+\.\d+$`).MatchString(ip) {
		t.Errorf("inspect IPAddress = %q", ip)
	}
	if got := strings.TrimSpace(run(t, vm, "berth inspect -f '{{.State.Status}} {{.State.Running}} {{.Config.Cmd}} {{.NetworkSettings.Ports}}' web")); got != "running true [httpd -f -p 8000] map[8000/tcp:[{0.0.0.0 8080}]]" {
		t.Errorf("inspect -f gave %q", got)
	}

	body := fetch(t, port)
	if body != "hello from berth\n" {
		t.Errorf("the build machine got %q", body)
	}
	if out := run(t, vm, "wget -q -O - http://"+ip+":8000/"); out != "hello from berth" {
		t.Errorf("straight to the container: %q", out)
	}

	t.Run("run in the foreground, exit codes and --rm", func(t *testing.T) {
		if out := run(t, vm, "berth run --rm busybox echo hello world"); out != "hello world" {
			t.Errorf("output %q", out)
		}
		for _, tc := range []struct {
			cmd  string
			code int
		}{{"berth run --rm busybox sh -c 'exit 3'", 3}, {"berth run --rm busybox no-such-command", 127},
			{"berth run --rm no-such-image true", 125}} {
			if _, code, err := vm.Run(tc.cmd, cmdTimeout); err != nil || code != tc.code {
				t.Errorf("%s: status %d (%v), want %d", tc.cmd, code, err, tc.code)
			}
		}
		if ps := run(t, vm, "berth ps -a -q | wc -l"); strings.TrimSpace(ps) != "1" {
			t.Errorf("--rm left containers: %s", run(t, vm, "berth ps -a"))
		}
	})

	t.Run("logs, stop, ps -a, rm and rmi", func(t *testing.T) {
		// stdout and stderr are kept apart, each in its own order (as in
		// Docker, the order across the two is not kept).
		run(t, vm, "berth run -d --name talker busybox sh -c 'echo one; echo oops >&2; echo two; echo three'")
		if got := run(t, vm, "berth wait talker"); got != "0" {
			t.Errorf("wait: %q", got)
		}
		if got := run(t, vm, "berth logs talker 2>/dev/null"); got != "one\ntwo\nthree" {
			t.Errorf("logs, stdout: %q", got)
		}
		if got := run(t, vm, "berth logs talker 2>&1 >/dev/null"); got != "oops" {
			t.Errorf("logs, stderr: %q", got)
		}
		run(t, vm, "berth run --name counter busybox sh -c 'echo one; echo two; echo three' >/dev/null")
		if got := run(t, vm, "berth logs --tail 2 counter"); got != "two\nthree" {
			t.Errorf("logs --tail 2: %q", got)
		}
		if got := run(t, vm, "berth logs -t --tail 1 counter"); !regexp.MustCompile(`^20\d\d-\d\d-\d\dT[\d:.]+Z three$`).MatchString(got) {
			t.Errorf("logs -t: %q", got)
		}
		if _, code, _ := vm.Run("berth rmi busybox", cmdTimeout); code == 0 {
			t.Errorf("rmi of an image in use succeeded")
		}
		run(t, vm, "berth stop -t 1 web")
		all := run(t, vm, "berth ps -a")
		if !strings.Contains(all, "Exited (137)") || !strings.Contains(all, "Exited (0)") {
			t.Errorf("ps -a:\n%s", all)
		}
		run(t, vm, "berth rm web talker counter")
		if out := run(t, vm, "berth ps -a -q"); out != "" {
			t.Errorf("containers left: %q", out)
		}
		// save, then load back under another name.
		run(t, vm, "berth tag busybox saved/box:2 && berth save -o /tmp/saved.tar saved/box:2 && berth rmi saved/box:2")
		if out := run(t, vm, "berth load -i /tmp/saved.tar"); !strings.Contains(out, "Loaded image: saved/box:2") {
			t.Errorf("load of a saved image: %q", out)
		}
		if out := run(t, vm, "berth run --rm saved/box:2 echo from the saved image"); out != "from the saved image" {
			t.Errorf("run from the saved image: %q", out)
		}
		if out := run(t, vm, "tar tf /tmp/saved.tar"); !strings.Contains(out, "manifest.json") {
			t.Errorf("the saved tar has no manifest.json:\n%s", out)
		}
		run(t, vm, "berth tag busybox mybox:1")
		if out := run(t, vm, "berth rmi mybox:1"); !strings.Contains(out, "Untagged: mybox:1") {
			t.Errorf("rmi of a tag: %q", out)
		}
	})
	t.Run("interactive", func(t *testing.T) { interactiveSession(t, vm) })
	if err := vm.Poweroff(30 * time.Second); err != nil {
		t.Fatal(err)
	}
}
