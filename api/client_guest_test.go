//go:build guest

// The API as Docker's Go client sees it, against the engine of a booted
// appliance (BERTH_TEST_DOCKER_HOST, for example unix:///run/berth.sock):
// Docker's own client package, unmodified, is the judge.
package api_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/stdcopy"
)

// dockerClient is Docker's client for the engine under test, speaking
// version (empty: the client's own, negotiated down to the engine's).
func dockerClient(t *testing.T, version string) *client.Client {
	t.Helper()
	host := os.Getenv("BERTH_TEST_DOCKER_HOST")
	if host == "" {
		t.Skip("BERTH_TEST_DOCKER_HOST is not set: these tests run in a booted appliance")
	}
	opts := []client.Opt{client.WithHost(host)}
	if version != "" {
		opts = append(opts, client.WithVersion(version))
	} else {
		opts = append(opts, client.WithAPIVersionNegotiation())
	}
	c, err := client.NewClientWithOpts(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestClientVersion(t *testing.T) {
	c, ctx := dockerClient(t, ""), testContext(t)
	ping, err := c.Ping(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ping.APIVersion != "1.41" || ping.OSType != "linux" {
		t.Errorf("ping: %+v", ping)
	}
	v, err := c.ServerVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.APIVersion != "1.41" || v.MinAPIVersion != "1.24" || v.Os != "linux" {
		t.Errorf("version: %+v", v)
	}
	if c.ClientVersion() != "1.41" {
		t.Errorf("negotiated version %s, want 1.41", c.ClientVersion())
	}
	// An unknown route is Docker's JSON error with its status.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://berth/v1.41/no/such/route", nil)
	resp, err := c.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Message string }
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || body.Message == "" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("unknown route: status %d, %s, message %q", resp.StatusCode, resp.Header.Get("Content-Type"), body.Message)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Driver != "devicemapper" || info.CgroupVersion != "2" {
		t.Errorf("info: driver %q, cgroup version %q", info.Driver, info.CgroupVersion)
	}
}

// TestClientRun is what docker run does: wait for the next exit, start,
// read the demultiplexed logs, inspect and remove.
func TestClientRun(t *testing.T) {
	c, ctx := dockerClient(t, ""), testContext(t)
	created, err := c.ContainerCreate(ctx, &container.Config{Image: "busybox", Cmd: []string{"sh", "-c", "echo out; echo err >&2; exit 3"},
		Labels: map[string]string{"suite": "client"}}, &container.HostConfig{}, nil, nil, "client-run")
	if err != nil {
		t.Fatal(err)
	}
	defer c.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	waitC, errC := c.ContainerWait(ctx, created.ID, container.WaitConditionNextExit)
	if err := c.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-waitC:
		if r.StatusCode != 3 {
			t.Errorf("exit status %d, want 3", r.StatusCode)
		}
	case err := <-errC:
		t.Fatal(err)
	}
	logs, err := c.ContainerLogs(ctx, created.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if _, err := stdcopy.StdCopy(&stdout, &stderr, logs); err != nil {
		t.Fatal(err)
	}
	logs.Close()
	if stdout.String() != "out\n" || stderr.String() != "err\n" {
		t.Errorf("logs: stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	in, err := c.ContainerInspect(ctx, "client-run")
	if err != nil {
		t.Fatal(err)
	}
	if in.State.ExitCode != 3 || in.State.Status != "exited" || in.Name != "/client-run" {
		t.Errorf("inspect: %+v", in.State)
	}
	list, err := c.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", "suite=client"))})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != created.ID || !strings.HasPrefix(list[0].Status, "Exited (3)") {
		t.Errorf("list: %+v", list)
	}
	if err := c.ContainerRemove(ctx, created.ID, container.RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ContainerInspect(ctx, created.ID); !errdefs.IsNotFound(err) {
		t.Errorf("inspect after remove: %v, want not found", err)
	}
}

// TestClientExecAndCopy runs exec and the archive endpoints on a running
// container.
func TestClientExecAndCopy(t *testing.T) {
	c, ctx := dockerClient(t, ""), testContext(t)
	created, err := c.ContainerCreate(ctx, &container.Config{Image: "busybox", Cmd: []string{"sleep", "1d"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.ContainerRemove(context.Background(), created.ID, container.RemoveOptions{Force: true})
	if err := c.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	ex, err := c.ContainerExecCreate(ctx, created.ID, container.ExecOptions{Cmd: []string{"sh", "-c", "echo $V; exit 4"},
		Env: []string{"V=from-exec"}, AttachStdout: true, AttachStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	att, err := c.ContainerExecAttach(ctx, ex.ID, container.ExecAttachOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, io.Discard, att.Reader); err != nil {
		t.Fatal(err)
	}
	att.Close()
	if out.String() != "from-exec\n" {
		t.Errorf("exec output %q", out.String())
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		ins, err := c.ContainerExecInspect(ctx, ex.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !ins.Running {
			if ins.ExitCode != 4 {
				t.Errorf("exec exit code %d, want 4", ins.ExitCode)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("exec still running")
		}
		time.Sleep(50 * time.Millisecond)
	}

	var archive bytes.Buffer
	tw := tar.NewWriter(&archive)
	tw.WriteHeader(&tar.Header{Name: "copied.txt", Mode: 0o644, Size: 6, Typeflag: tar.TypeReg})
	tw.Write([]byte("copied"))
	tw.Close()
	if err := c.CopyToContainer(ctx, created.ID, "/tmp", &archive, container.CopyToContainerOptions{}); err != nil {
		t.Fatal(err)
	}
	rc, stat, err := c.CopyFromContainer(ctx, created.ID, "/tmp/copied.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if stat.Name != "copied.txt" || stat.Size != 6 {
		t.Errorf("stat: %+v", stat)
	}
	tr := tar.NewReader(rc)
	h, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(tr)
	if h.Name != "copied.txt" || string(body) != "copied" {
		t.Errorf("copied back %s: %q", h.Name, body)
	}
	if _, err := c.ContainerStatPath(ctx, created.ID, "/nonexistent"); !errdefs.IsNotFound(err) {
		t.Errorf("stat of a missing path: %v, want not found", err)
	}
}

// TestClientEvents follows the event stream while a container runs.
func TestClientEvents(t *testing.T) {
	c, ctx := dockerClient(t, ""), testContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs, errs := c.Events(ctx, events.ListOptions{Filters: filters.NewArgs(filters.Arg("type", "container"), filters.Arg("event", "die"))})
	created, err := c.ContainerCreate(ctx, &container.Config{Image: "busybox", Cmd: []string{"true"}}, &container.HostConfig{AutoRemove: true}, nil, nil, "client-events")
	if err != nil {
		t.Fatal(err)
	}
	removed, werr := c.ContainerWait(ctx, created.ID, container.WaitConditionRemoved)
	if err := c.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-msgs:
		if m.Action != events.ActionDie || m.Actor.ID != created.ID || m.Actor.Attributes["name"] != "client-events" || m.Actor.Attributes["exitCode"] != "0" {
			t.Errorf("event: %+v", m)
		}
	case err := <-errs:
		t.Fatal(err)
	}
	select {
	case r := <-removed:
		if r.StatusCode != 0 {
			t.Errorf("removed with status %d", r.StatusCode)
		}
	case err := <-werr:
		t.Fatal(err)
	}
}

// TestClientImages tags, lists, inspects and removes images.
func TestClientImages(t *testing.T) {
	c, ctx := dockerClient(t, ""), testContext(t)
	if err := c.ImageTag(ctx, "busybox", "client/box:1"); err != nil {
		t.Fatal(err)
	}
	imgs, err := c.ImageList(ctx, image.ListOptions{Filters: filters.NewArgs(filters.Arg("reference", "client/box"))})
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || len(imgs[0].RepoTags) == 0 || !strings.HasPrefix(imgs[0].ID, "sha256:") {
		t.Fatalf("list: %+v", imgs)
	}
	in, err := c.ImageInspect(ctx, "client/box:1")
	if err != nil {
		t.Fatal(err)
	}
	if in.ID != imgs[0].ID || in.Os != "linux" || in.Architecture != "amd64" {
		t.Errorf("inspect: %s %s %s", in.ID, in.Os, in.Architecture)
	}
	del, err := c.ImageRemove(ctx, "client/box:1", image.RemoveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(del) != 1 || del[0].Untagged != "client/box:1" {
		t.Errorf("remove: %+v", del)
	}
	if _, err := c.ImageInspect(ctx, "client/box:1"); !errdefs.IsNotFound(err) {
		t.Errorf("inspect after remove: %v, want not found", err)
	}
}

// TestClientOlderVersion speaks API 1.24, the oldest berth answers, and
// 1.23, which it refuses as Docker does.
func TestClientOlderVersion(t *testing.T) {
	ctx := testContext(t)
	old := dockerClient(t, "1.24")
	if _, err := old.ContainerList(ctx, container.ListOptions{All: true}); err != nil {
		t.Errorf("list with API 1.24: %v", err)
	}
	if _, err := old.ImageList(ctx, image.ListOptions{}); err != nil {
		t.Errorf("images with API 1.24: %v", err)
	}
	tooOld := dockerClient(t, "1.23")
	if _, err := tooOld.ContainerList(ctx, container.ListOptions{}); err == nil || !strings.Contains(err.Error(), "1.23") {
		t.Errorf("list with API 1.23: %v, want a refusal naming the version", err)
	}
}
