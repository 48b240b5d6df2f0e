//go:build guest

package engine

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
	"golang.org/x/sys/unix"

	"berth/config"
	"berth/errdefs"
	"berth/hostpath"
	"berth/netconf"
	"berth/runtime"
	"berth/supervise"
	"berth/thinpool/thinpooltest"
)

// TestMain lets this test binary be a container's first process too, as
// the berth binary is: the engine re-executes /proc/self/exe.
func TestMain(m *testing.M) {
	runtime.RunRole(os.Args)
	code := m.Run()
	shared.close()
	os.Exit(code)
}

// shared is the one engine the tests use, made by the first of them:
// each pool, image load and network set up costs seconds under emulation.
// Each test removes its containers when it ends.
var shared sharedEngine

type sharedEngine struct {
	once    sync.Once
	e       *Engine
	err     error
	cleanup []func() // run last to first by close
}

func (s *sharedEngine) open() (*Engine, error) {
	s.once.Do(func() { s.e, s.err = s.make() })
	return s.e, s.err
}

func (s *sharedEngine) make() (*Engine, error) {
	reaper := supervise.NewChildReaper()
	ch := make(chan os.Signal, 16)
	signal.Notify(ch, unix.SIGCHLD)
	go func() {
		for range ch {
			reaper.ReapAll()
		}
	}()
	dir, err := os.MkdirTemp("", "engine-test")
	if err != nil {
		return nil, err
	}
	s.cleanup = append(s.cleanup, func() { os.RemoveAll(dir) })
	st, err := thinpooltest.OpenIn(dir)
	if err != nil {
		return nil, err
	}
	s.cleanup = append(s.cleanup, func() { st.Shutdown(); st.Close() })
	network, err := netconf.Open(config.Bridge{Name: config.DefaultBridgeName, Address: config.DefaultBridgeAddress}, hostpath.Network)
	if err != nil {
		return nil, err
	}
	rt, err := runtime.New(runtime.Config{CgroupParent: "/berth-test"})
	if err != nil {
		return nil, err
	}
	s.cleanup = append(s.cleanup, func() { rt.Close() })
	e, err := New(Options{StateDir: dir, RunDir: filepath.Join(dir, "run"), Storage: st, Network: network, Reaper: reaper,
		Runtime: rt, LogMaxSize: 10 << 20, LogMaxFiles: 3})
	if err != nil {
		return nil, err
	}
	if _, err := e.Images.LoadArchive(filepath.Join(hostpath.BundledImages, "busybox.tar"), io.Discard); err != nil {
		return nil, err
	}
	return e, nil
}

func (s *sharedEngine) close() {
	for i := len(s.cleanup) - 1; i >= 0; i-- {
		s.cleanup[i]()
	}
}

// testEngine is the shared engine (busybox loaded, on a pool of its own
// and the guest's bridge); the test's containers are removed when it
// ends.
func testEngine(t *testing.T) *Engine {
	t.Helper()
	e, err := shared.open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range e.List(true) {
			e.Remove(c.Id, true, false)
		}
	})
	return e
}

// spec is what a test asks of a container, as berth run's flags say it.
type spec struct {
	Image, Name, Hostname, User, Workdir string
	Env, Cmd, Binds                      []string
	Memory, PidsLimit                    int64
	CPUs                                 float64
	ReadOnly                             bool
	Ports                                nat.PortMap
	Restart                              container.RestartPolicy
}

// create makes the container s asks for.
func create(e *Engine, s spec) (*Container, error) {
	if s.Image == "" {
		s.Image = "busybox"
	}
	cfg := &container.Config{Image: s.Image, Hostname: s.Hostname, User: s.User, WorkingDir: s.Workdir, Env: s.Env, Cmd: s.Cmd}
	hc := &container.HostConfig{Binds: s.Binds, ReadonlyRootfs: s.ReadOnly, PortBindings: s.Ports, RestartPolicy: s.Restart,
		Resources: container.Resources{Memory: s.Memory, NanoCPUs: int64(s.CPUs * 1e9)}}
	if s.PidsLimit != 0 {
		hc.PidsLimit = &s.PidsLimit
	}
	c, _, err := e.Create(s.Name, cfg, hc)
	return c, err
}

// runToEnd runs a container to its end and returns its output and status.
func runToEnd(t *testing.T, e *Engine, s spec) (Container, string, int) {
	t.Helper()
	c, err := create(e, s)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ContainerStart(c.Id); err != nil {
		t.Fatal(err)
	}
	code, err := e.Wait(c.Id)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	e.ContainerLogs(context.Background(), c.Id, container.LogsOptions{ShowStdout: true, ShowStderr: true}, &out, &out)
	got, _ := e.Inspect(c.Id)
	return got, out.String(), code
}

func sh(script string) []string { return []string{"sh", "-c", script} }

func TestRunEcho(t *testing.T) {
	e := testEngine(t)
	c, out, code := runToEnd(t, e, spec{Cmd: []string{"echo", "hello", "world"}})
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
	_, out, code := runToEnd(t, e, spec{Hostname: "iso", Memory: 64 << 20, PidsLimit: 50, CPUs: 0.5, Cmd: sh(
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
	}{{[]string{"false"}, 1}, {sh("exit 42"), 42}} {
		if _, out, code := runToEnd(t, e, spec{Cmd: tc.cmd}); code != tc.code {
			t.Errorf("%v: status %d, want %d (%s)", tc.cmd, code, tc.code, out)
		}
	}
	// A command that cannot run fails the start, as Docker's: the error
	// says why, the state keeps the shell's status and stays created.
	for _, tc := range []struct {
		cmd  []string
		code int
		why  string
	}{{[]string{"no-such-command"}, runtime.ExitNotFound, "executable file not found"}, {[]string{"/etc/passwd"}, runtime.ExitNotRunnable, "permission denied"}} {
		c, err := create(e, spec{Cmd: tc.cmd})
		if err != nil {
			t.Fatal(err)
		}
		err = e.ContainerStart(c.Id)
		if err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%v: start gave %v, want %q", tc.cmd, err, tc.why)
		}
		got, _ := e.Inspect(c.Id)
		if got.State.ExitCode != tc.code || got.State.Status != "created" || !strings.Contains(got.State.Error, tc.why) {
			t.Errorf("%v: state %+v, want status %d", tc.cmd, got.State, tc.code)
		}
	}
}

func TestUserWorkdirEnv(t *testing.T) {
	e := testEngine(t)
	_, out, _ := runToEnd(t, e, spec{User: "nobody", Workdir: "/opt/app", Env: []string{"GREETING=hi there"},
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
	_, out, _ := runToEnd(t, e, spec{ReadOnly: true, Binds: []string{host + ":/www:z", ro + ":/conf:ro,z"},
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
	a, _ := create(e, spec{Image: "busybox", Cmd: sh("echo secret > /secret; sleep 30")})
	e.ContainerStart(a.Id)
	defer e.Remove(a.Id, true, false)
	_, out, _ := runToEnd(t, e, spec{Cmd: sh("ls /secret 2>&1; ps -o comm | grep -c sleep")})
	if !strings.Contains(out, "No such file") || !strings.HasSuffix(out, "0\n") {
		t.Errorf("another container's file or process is visible:\n%s", out)
	}
}

func TestPublishedWebServer(t *testing.T) {
	e := testEngine(t)
	www := t.TempDir()
	os.WriteFile(filepath.Join(www, "index.html"), []byte("served by busybox httpd"), 0o644)
	c, err := create(e, spec{Image: "busybox", Name: "web", Workdir: "/www",
		Binds: []string{www + ":/www:z"},
		Ports: nat.PortMap{"8000/tcp": {{HostPort: "8088"}}},
		Cmd:   []string{"httpd", "-f", "-p", "8000"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ContainerStart("web"); err != nil {
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
	one := 1
	if err := e.ContainerStop("web", container.StopOptions{Timeout: &one}); err != nil {
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
	c, _, code := runToEnd(t, e, spec{Memory: 16 << 20, Cmd: sh(`x=a; while :; do x="$x$x"; done`)})
	if code != 137 || !c.State.OOMKilled {
		t.Errorf("status %d, OOMKilled %v; want 137 and true", code, c.State.OOMKilled)
	}
}

func TestPidsLimitStopsForkBomb(t *testing.T) {
	e := testEngine(t)
	_, out, _ := runToEnd(t, e, spec{PidsLimit: 10, Cmd: sh(`for i in $(seq 30); do sleep 2 & done 2>&1; wait; echo done`)})
	if !strings.Contains(out, "can't fork") && !strings.Contains(out, "Resource temporarily unavailable") {
		t.Errorf("30 processes started under a limit of 10:\n%s", out)
	}
}

func TestRestartOnFailure(t *testing.T) {
	e := testEngine(t)
	c, _, code := runToEnd(t, e, spec{Restart: container.RestartPolicy{Name: "on-failure", MaximumRetryCount: 2}, Cmd: []string{"false"}})
	if code != 1 || c.RestartCount != 2 {
		t.Errorf("status %d after %d restarts; want 1 after 2", code, c.RestartCount)
	}
}

func TestRemoveRunningNeedsForce(t *testing.T) {
	e := testEngine(t)
	c, _ := create(e, spec{Image: "busybox", Name: "busy", Cmd: []string{"sleep", "60"}})
	e.ContainerStart(c.Id)
	if err := e.Remove("busy", false, false); err == nil || !strings.Contains(err.Error(), "force remove") {
		t.Errorf("removing a running container: %v", err)
	}
	if _, err := create(e, spec{Image: "busybox", Name: "busy", Cmd: []string{"true"}}); err == nil {
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

// TestPauseWhileExecing pauses and thaws a container again and again while
// execs start in it: an exec cloned into a frozen cgroup would stop before
// its exec and hold the engine's reaper with it; the pause waits for a
// start in flight instead, and an exec into a paused container is refused.
func TestPauseWhileExecing(t *testing.T) {
	e := testEngine(t)
	c, err := create(e, spec{Cmd: []string{"sleep", "1d"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.ContainerStart(c.Id); err != nil {
		t.Fatal(err)
	}
	defer e.ContainerRemove(c.Id, container.RemoveOptions{Force: true})
	// Execs start over and over while the container is paused and
	// unpaused: at least 8 cycles, and on until 3 execs have run between
	// them (the emulated CPU is slow), within a deadline.
	var ran atomic.Int32
	stop := make(chan struct{})
	execs := make(chan error, 1)
	go func() {
		for {
			select {
			case <-stop:
				execs <- nil
				return
			default:
			}
			id, err := e.ExecCreate(c.Id, container.ExecOptions{Cmd: []string{"true"}})
			if err != nil {
				continue // paused when created: refused, as Docker's
			}
			if err := e.ExecStart(id, io.Discard, nil); err == nil {
				ran.Add(1)
			} else if !errors.Is(err, errdefs.ErrConflict) {
				execs <- err
				return
			}
		}
	}()
	done := make(chan error, 1)
	go func() {
		deadline := time.Now().Add(90 * time.Second)
		for cycles := 0; cycles < 8 || ran.Load() < 3; cycles++ {
			if time.Now().After(deadline) {
				done <- fmt.Errorf("%d execs ran in %d pause cycles", ran.Load(), cycles)
				return
			}
			if err := e.ContainerPause(c.Id); err != nil {
				done <- err
				return
			}
			if err := e.ContainerUnpause(c.Id); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("pause and unpause hung while execs started")
	}
	close(stop)
	select {
	case err := <-execs:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("an exec hung")
	}
}

// TestSystemMountsStayInsideTheRoot: an image whose /proc is a symbolic
// link out of its root is refused at start; nothing is made or mounted
// where the link points on the host.
func TestSystemMountsStayInsideTheRoot(t *testing.T) {
	e := testEngine(t)
	escape := filepath.Join("/run", "berth-escape-"+strconv.Itoa(os.Getpid()))
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: "proc", Typeflag: tar.TypeSymlink, Linkname: escape, Mode: 0o777})
	tw.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755})
	tw.Close()
	if _, err := e.Images.Import(&buf, "escape:1", nil, io.Discard); err != nil {
		t.Fatal(err)
	}
	c, err := create(e, spec{Image: "escape:1", Cmd: []string{"/bin/true"}})
	if err != nil {
		t.Fatal(err)
	}
	err = e.ContainerStart(c.Id)
	if err == nil {
		t.Error("a container whose /proc leads out of its root started")
	}
	if _, serr := os.Lstat(escape); serr == nil {
		os.RemoveAll(escape)
		t.Errorf("starting it made %s on the host (start error: %v)", escape, err)
	}
}
