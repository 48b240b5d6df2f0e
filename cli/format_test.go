package cli

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/go-connections/nat"
)

// TestRequestBuilding turns docker run's flags into the create request,
// as Docker's CLI does.
func TestRequestBuilding(t *testing.T) {
	parse := func(args ...string) (*container.Config, *container.HostConfig, error) {
		f := newFlags("run", io.Discard)
		var c createFlags
		c.register(f, true)
		if err := f.parse(args); err != nil {
			return nil, nil, err
		}
		return c.request(f)
	}
	cfg, hc, err := parse("-d", "--name", "web", "-p", "127.0.0.1:8080:80", "-p", "9000-9001:9000-9001/udp", "-e", "A=1",
		"--restart", "on-failure:3", "-m", "64m", "--cpus", "0.5", "--pids-limit", "50", "--read-only", "--cap-drop", "ALL",
		"-v", "/srv:/data:ro", "--tmpfs", "/run:size=1m", "--init", "--entrypoint", "", "-w", "/app", "-u", "1000:1000",
		"busybox", "httpd", "-f")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Image != "busybox" || strings.Join(cfg.Cmd, " ") != "httpd -f" || cfg.WorkingDir != "/app" || cfg.User != "1000:1000" ||
		len(cfg.Entrypoint) != 1 || cfg.Entrypoint[0] != "" || cfg.AttachStdout || cfg.OpenStdin {
		t.Errorf("config %+v", cfg)
	}
	if len(cfg.Env) != 1 || cfg.Env[0] != "A=1" {
		t.Errorf("env %q", cfg.Env)
	}
	if _, ok := cfg.ExposedPorts[nat.Port("80/tcp")]; !ok {
		t.Errorf("exposed ports %v lack 80/tcp", cfg.ExposedPorts)
	}
	if b := hc.PortBindings[nat.Port("80/tcp")]; len(b) != 1 || b[0].HostIP != "127.0.0.1" || b[0].HostPort != "8080" {
		t.Errorf("80/tcp bound to %v", b)
	}
	if b := hc.PortBindings[nat.Port("9001/udp")]; len(b) != 1 || b[0].HostPort != "9001" {
		t.Errorf("9001/udp bound to %v", b)
	}
	if hc.RestartPolicy.Name != container.RestartPolicyOnFailure || hc.RestartPolicy.MaximumRetryCount != 3 {
		t.Errorf("restart %+v", hc.RestartPolicy)
	}
	if hc.Memory != 64<<20 || hc.NanoCPUs != 5e8 || hc.PidsLimit == nil || *hc.PidsLimit != 50 || !hc.ReadonlyRootfs ||
		hc.Init == nil || !*hc.Init || len(hc.CapDrop) != 1 || hc.CapDrop[0] != "ALL" {
		t.Errorf("host config %+v", hc)
	}
	if len(hc.Binds) != 1 || hc.Binds[0] != "/srv:/data:ro" || hc.Tmpfs["/run"] != "size=1m" {
		t.Errorf("binds %q, tmpfs %v", hc.Binds, hc.Tmpfs)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "an image name is required"},
		{[]string{"--restart", "sometimes", "busybox"}, "no such policy: sometimes"},
		{[]string{"--restart", "always:3", "busybox"}, "maximum retry count can only be used with 'on-failure'"},
		{[]string{"-p", "notaport", "busybox"}, "notaport"},
		{[]string{"-m", "lots", "busybox"}, "lots"},
		{[]string{"--platform", "linux/arm64", "busybox"}, "linux/amd64 images only"},
	} {
		if _, _, err := parse(tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestParseFilters(t *testing.T) {
	args, err := parseFilters([]string{"status=exited", " Label = a=b", "status=created"})
	if err != nil {
		t.Fatal(err)
	}
	if got := args.Get("status"); len(got) != 2 || !args.ExactMatch("status", "exited") || !args.ExactMatch("status", "created") {
		t.Errorf("status filter %q", got)
	}
	if !args.ExactMatch("label", "a=b") {
		t.Errorf("label filter %q", args.Get("label"))
	}
	if _, err := parseFilters([]string{"dangling"}); err == nil || !strings.Contains(err.Error(), "expected name=value") {
		t.Errorf("a filter without a value: %v", err)
	}
}

// TestTableFormats prints rows as Docker's tables and templates do.
func TestTableFormats(t *testing.T) {
	now := time.Now()
	rows := []any{
		imageRow{img: image.Summary{ID: "sha256:" + strings.Repeat("ab", 32), Created: now.Add(-2 * time.Hour).Unix(), Size: 1234567},
			repo: "busybox", tag: "latest", trunc: true},
		imageRow{img: image.Summary{ID: "sha256:" + strings.Repeat("cd", 32), Created: now.Add(-3 * 24 * time.Hour).Unix(), Size: 99},
			repo: "<none>", tag: "<none>", trunc: true},
	}
	for _, tc := range []struct{ format, want string }{
		{"table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}",
			"REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\n" +
				"busybox      latest    abababababab   2 hours ago   1.23MB\n" +
				"<none>       <none>    cdcdcdcdcdcd   3 days ago    99B\n"},
		{"{{.Repository}}:{{.Tag}}", "busybox:latest\n<none>:<none>\n"},
		{"{{json .Tag}} {{upper .Repository}} {{len .ID}}", "\"latest\" BUSYBOX 12\n\"<none>\" <NONE> 12\n"},
	} {
		f, err := parseFormat(tc.format, "")
		if err != nil {
			t.Fatalf("%q: %v", tc.format, err)
		}
		var out bytes.Buffer
		if err := f.write(&out, imageHeader{}, rows); err != nil {
			t.Fatalf("%q: %v", tc.format, err)
		}
		if out.String() != tc.want {
			t.Errorf("%q printed\n%s\nwant\n%s", tc.format, out.String(), tc.want)
		}
	}
	f, err := parseFormat("json", "")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	f.write(&out, imageHeader{}, rows[:1])
	if !strings.Contains(out.String(), `"Repository":"busybox"`) || !strings.Contains(out.String(), `"ID":"abababababab"`) {
		t.Errorf("--format json printed %s", out.String())
	}
	if _, err := parseFormat("{{.Repository", ""); err == nil || !strings.Contains(err.Error(), "template parsing error") {
		t.Errorf("a broken template: %v", err)
	}
	f, _ = parseFormat("{{.NoSuchField}}", "")
	if err := f.write(io.Discard, imageHeader{}, rows); err == nil {
		t.Error("a template naming no field printed")
	}
}

// TestInspectFormat: docker inspect's -f runs on Docker's types, and on
// the raw JSON for what the types lack; without -f, an indented array.
func TestInspectFormat(t *testing.T) {
	objs := []inspected{{typed: container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{Name: "/web",
		State: &container.State{Status: "running"}}}, raw: []byte(`{"Name":"/web","State":{"Status":"running"},"Extra":7}`)}}
	for _, tc := range []struct{ format, want string }{
		{"{{.Name}} {{.State.Status}}", "/web running\n"},
		{"{{.Extra}}", "7\n"},
		{"{{json .State}}", `{"Status":"running","Running":false,"Paused":false,"Restarting":false,"OOMKilled":false,"Dead":false,"Pid":0,"ExitCode":0,"Error":"","StartedAt":"","FinishedAt":""}` + "\n"},
	} {
		tmpl, err := inspectTemplate(tc.format)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := printInspect(&out, objs, tmpl); err != nil {
			t.Fatalf("%q: %v", tc.format, err)
		}
		if out.String() != tc.want {
			t.Errorf("%q printed %q, want %q", tc.format, out.String(), tc.want)
		}
	}
	var out bytes.Buffer
	printInspect(&out, objs, nil)
	if !strings.HasPrefix(out.String(), "[\n    {\n        \"Name\": \"/web\",") {
		t.Errorf("inspect without -f printed %q", out.String())
	}
	out.Reset()
	printInspect(&out, nil, nil)
	if out.String() != "[]\n" {
		t.Errorf("inspect of nothing printed %q", out.String())
	}
}

func TestCutting(t *testing.T) {
	for _, tc := range []struct {
		s     string
		n     int
		trunc string
		ell   string
	}{
		{"hello", 10, "hello", "hello"},
		{"hello world", 5, "hello", "hell…"},
		{"héllo", 2, "hé", "h…"},
		{"abc", 1, "a", "a"},
	} {
		if got := truncate(tc.s, tc.n); got != tc.trunc {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.trunc)
		}
		if got := ellipsis(tc.s, tc.n); got != tc.ell {
			t.Errorf("ellipsis(%q, %d) = %q, want %q", tc.s, tc.n, got, tc.ell)
		}
	}
	if got := since(time.Now().Add(-90 * time.Second)); got != "About a minute ago" {
		t.Errorf("since 90 s: %q", got)
	}
	for n, want := range map[int64]string{0: "0B", 999: "999B", 1000: "1kB", 1234567: "1.23MB", 5 << 30: "5.37GB"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}
