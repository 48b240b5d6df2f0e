//go:build guest

package engine

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"berth/config"
	"berth/netconf"
	"berth/runtime"
)

// TestMain lets this test binary be a container's first process too, as
// the berth binary is: the engine re-executes /proc/self/exe.
func TestMain(m *testing.M) {
	runtime.RunRole(os.Args)
	os.Exit(m.Run())
}

var (
	reaperOnce sync.Once
	reaper     = NewChildReaper()
)

// testEngine is an engine with busybox loaded, on a pool of its own and
// the guest's bridge.
func testEngine(t *testing.T) *Engine {
	t.Helper()
	reaperOnce.Do(func() {
		ch := make(chan os.Signal, 16)
		signal.Notify(ch, unix.SIGCHLD)
		go func() {
			for range ch {
				reaper.ReapAll()
			}
		}()
	})
	store, st := testStore(t)
	network, err := netconf.Open(config.Bridge{Name: config.DefaultBridgeName, Address: config.DefaultBridgeAddress}, "/var/lib/berth/network")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(store.dir)
	rt, err := runtime.New(runtime.Config{CgroupParent: "/berth-test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	e, err := New(Options{StateDir: dir, RunDir: filepath.Join(dir, "run"), Storage: st, Network: network, Reaper: reaper,
		Runtime: rt, LogMaxSize: 10 << 20, LogMaxFiles: 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Images.LoadArchive(bundledBusybox, io.Discard); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range e.List(true) {
			e.Remove(c.Id, true, false)
		}
	})
	return e
}

// runToEnd runs a container to its end and returns its output and status.
func runToEnd(t *testing.T, e *Engine, o CreateOptions) (Container, string, int) {
	t.Helper()
	if o.Image == "" {
		o.Image = "busybox"
	}
	c, err := e.Create(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(c.Id); err != nil {
		t.Fatal(err)
	}
	code, err := e.Wait(c.Id)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	e.Logs(c.Id, LogOptions{Tail: -1, Stdout: true, Stderr: true}, &out, &out, nil)
	got, _ := e.Inspect(c.Id)
	return got, out.String(), code
}

func sh(script string) []string { return []string{"sh", "-c", script} }

func TestRunEcho(t *testing.T) {
	e := testEngine(t)
	c, out, code := runToEnd(t, e, CreateOptions{Cmd: []string{"echo", "hello", "world"}})
	if out != "hello world\n" || code != 0 {
		t.Errorf("output %q, status %d", out, code)
	}
	if c.State.Status != "exited" || c.State.Running || c.State.FinishedAt.IsZero() {
		t.Errorf("state %+v", c.State)
	}
	if !strings.Contains(c.Name, "_") {
		t.Errorf("generated name %q is not adjective_name", c.Name)
	}
}

func TestIsolation(t *testing.T) {
	e := testEngine(t)
	_, out, code := runToEnd(t, e, CreateOptions{Hostname: "iso", Memory: 64 << 20, PidsLimit: 50, CPUs: 0.5, Cmd: sh(
		`echo pid=$$; echo maxpid=$(ps -o pid | tail -n +2 | sort -n | tail -n 1); echo hostinit=$(ps -o comm | grep -c -x init); hostname; echo kcore=$(wc -c < /proc/kcore); ` +
			`mount -t tmpfs none /mnt 2>/dev/null; echo mount=$?; echo mem=$(cat /sys/fs/cgroup/memory.max); ` +
			`echo pids=$(cat /sys/fs/cgroup/pids.max); echo cpu=$(cat /sys/fs/cgroup/cpu.max); grep -E 'CapEff|NoNewPrivs' /proc/self/status; ` +
			`echo sysfs=$(touch /sys/x 2>/dev/null; echo $?); echo root=$(awk '$5=="/" {print $9}' /proc/self/mountinfo)`)})
	for _, want := range []string{"pid=1\n", "iso\n", "kcore=0\n", "mem=67108864\n", "pids=50\n", "cpu=50000 100000\n",
		"CapEff:\t00000000a80425fb\n", "NoNewPrivs:\t1\n", "sysfs=1\n", "root=/dev/dm-", "hostinit=0\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("container output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "mount=0") {
		t.Errorf("mount succeeded in the container:\n%s", out)
	}
	// Its own processes only: the shell as 1 and the few it forks.
	if m := regexp.MustCompile(`maxpid= *(\d+)`).FindStringSubmatch(out); m == nil || len(m[1]) > 2 {
		t.Errorf("the container sees processes that are not its own:\n%s", out)
	}
	if code != 0 {
		t.Errorf("status %d", code)
	}
}

func TestExitCodes(t *testing.T) {
	e := testEngine(t)
	for _, tc := range []struct {
		cmd  []string
		code int
	}{{[]string{"false"}, 1}, {sh("exit 42"), 42}, {[]string{"no-such-command"}, runtime.ExitNotFound}, {[]string{"/etc/passwd"}, runtime.ExitNotRunnable}} {
		if _, out, code := runToEnd(t, e, CreateOptions{Cmd: tc.cmd}); code != tc.code {
			t.Errorf("%v: status %d, want %d (%s)", tc.cmd, code, tc.code, out)
		}
	}
}

func TestUserWorkdirEnv(t *testing.T) {
	e := testEngine(t)
	_, out, _ := runToEnd(t, e, CreateOptions{User: "nobody", Workdir: "/opt/app", Env: []string{"GREETING=hi there"},
		Cmd: sh(`echo uid=$(id -u) gid=$(id -g); pwd; echo "$GREETING"; echo home=$HOME; grep CapEff /proc/self/status`)})
	for _, want := range []string{"uid=65534 gid=65534\n", "/opt/app\n", "hi there\n", "home=/home\n", "CapEff:\t0000000000000000\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestVolumesAndReadOnly(t *testing.T) {
	e := testEngine(t)
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "page.html"), []byte("from the host"), 0o644)
	ro := t.TempDir()
	_, out, _ := runToEnd(t, e, CreateOptions{ReadOnly: true, Volumes: []config.Volume{
		{HostPath: host, ContainerPath: "/www", Relabel: "z"}, {HostPath: ro, ContainerPath: "/conf", ReadOnly: true, Relabel: "z"}},
		Cmd: sh(`cat /www/page.html; echo; echo written > /www/new; echo w=$?; touch /conf/x 2>/dev/null; echo ro=$?; touch /rootfile 2>/dev/null; echo root=$?`)})
	for _, want := range []string{"from the host\n", "w=0\n", "ro=1\n", "root=1\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(host, "new")); string(b) != "written\n" {
		t.Errorf("the volume did not get the container's write: %q", b)
	}
}

func TestContainersDoNotSeeEachOther(t *testing.T) {
	e := testEngine(t)
	a, _ := e.Create(CreateOptions{Image: "busybox", Cmd: sh("echo secret > /secret; sleep 30")})
	e.Start(a.Id)
	defer e.Remove(a.Id, true, false)
	_, out, _ := runToEnd(t, e, CreateOptions{Cmd: sh("ls /secret 2>&1; ps -o comm | grep -c sleep")})
	if !strings.Contains(out, "No such file") || !strings.HasSuffix(out, "0\n") {
		t.Errorf("another container's file or process is visible:\n%s", out)
	}
}

func TestPublishedWebServer(t *testing.T) {
	e := testEngine(t)
	www := t.TempDir()
	os.WriteFile(filepath.Join(www, "index.html"), []byte("served by busybox httpd"), 0o644)
	c, err := e.Create(CreateOptions{Image: "busybox", Name: "web", Workdir: "/www",
		Volumes: []config.Volume{{HostPath: www, ContainerPath: "/www", Relabel: "z"}},
		Ports:   []config.PortMapping{{HostPort: 8088, ContainerPort: 8000, Proto: "tcp"}},
		Cmd:     []string{"httpd", "-f", "-p", "8000"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start("web"); err != nil {
		t.Fatal(err)
	}
	got, _ := e.Inspect("web")
	if got.NetworkSettings.IPAddress == "" || got.NetworkSettings.Ports["8000/tcp"][0].HostPort != "8088" || !got.State.Running {
		t.Fatalf("inspect: %+v %+v", got.NetworkSettings, got.State)
	}
	var body string
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://127.0.0.1:8088/")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			break
		}
	}
	if body != "served by busybox httpd" {
		t.Errorf("GET http://127.0.0.1:8088/ gave %q", body)
	}
	if err := e.Stop("web", time.Second); err != nil {
		t.Fatal(err)
	}
	after, _ := e.Inspect("web")
	if after.State.Running || after.State.ExitCode != 137 && after.State.ExitCode != 143 {
		t.Errorf("after stop: %+v", after.State)
	}
	if _, err := http.Get("http://127.0.0.1:8088/"); err == nil {
		t.Errorf("the port answers after stop")
	}
	if err := e.Remove(c.Id, false, false); err != nil {
		t.Fatal(err)
	}
}

func TestOOMKillStaysInside(t *testing.T) {
	e := testEngine(t)
	c, _, code := runToEnd(t, e, CreateOptions{Memory: 16 << 20, Cmd: sh(`x=a; while :; do x="$x$x"; done`)})
	if code != 137 || !c.State.OOMKilled {
		t.Errorf("status %d, OOMKilled %v; want 137 and true", code, c.State.OOMKilled)
	}
}

func TestPidsLimitStopsForkBomb(t *testing.T) {
	e := testEngine(t)
	_, out, _ := runToEnd(t, e, CreateOptions{PidsLimit: 10, Cmd: sh(`for i in $(seq 30); do sleep 2 & done 2>&1; wait; echo done`)})
	if !strings.Contains(out, "can't fork") && !strings.Contains(out, "Resource temporarily unavailable") {
		t.Errorf("30 processes started under a limit of 10:\n%s", out)
	}
}

func TestRestartOnFailure(t *testing.T) {
	e := testEngine(t)
	c, _, code := runToEnd(t, e, CreateOptions{Restart: config.RestartPolicy{Name: "on-failure", MaximumRetryCount: 2}, Cmd: []string{"false"}})
	if code != 1 || c.RestartCount != 2 {
		t.Errorf("status %d after %d restarts; want 1 after 2", code, c.RestartCount)
	}
}

func TestRemoveRunningNeedsForce(t *testing.T) {
	e := testEngine(t)
	c, _ := e.Create(CreateOptions{Image: "busybox", Name: "busy", Cmd: []string{"sleep", "60"}})
	e.Start(c.Id)
	if err := e.Remove("busy", false, false); err == nil || !strings.Contains(err.Error(), "rm -f") {
		t.Errorf("removing a running container: %v", err)
	}
	if _, err := e.Create(CreateOptions{Image: "busybox", Name: "busy", Cmd: []string{"true"}}); err == nil {
		t.Errorf("a second container got the name busy")
	}
	if err := e.Remove("busy", true, false); err != nil {
		t.Fatal(err)
	}
	devs, _ := e.opts.Storage.Devices()
	for _, d := range devs {
		if d.Name == c.Id {
			t.Errorf("the container's device is left")
		}
	}

}
