package cli

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
)

// TestFlagParsing parses as Docker's CLI does: combined short flags, values
// attached or apart, flags after the arguments, and a command's own flags
// left to the command.
func TestFlagParsing(t *testing.T) {
	for _, tc := range []struct {
		args         []string
		interspersed bool
		i, tty       bool
		name         string
		env          []string
		rest         []string
	}{
		{args: []string{"-it", "busybox", "sh"}, i: true, tty: true, rest: []string{"busybox", "sh"}},
		{args: []string{"-ti", "--name=x", "busybox"}, i: true, tty: true, name: "x", rest: []string{"busybox"}},
		{args: []string{"-eA=1", "-e", "B=2", "busybox", "env", "-i"}, env: []string{"A=1", "B=2"}, rest: []string{"busybox", "env", "-i"}},
		{args: []string{"--name", "x", "busybox", "-i"}, name: "x", rest: []string{"busybox", "-i"}},
		{args: []string{"a", "-i", "b"}, interspersed: true, i: true, rest: []string{"a", "b"}},
		{args: []string{"-i", "--", "-t"}, interspersed: true, i: true, rest: []string{"-t"}},
	} {
		f := newFlags("run", io.Discard)
		f.interspersed = tc.interspersed
		var i, tty bool
		var name string
		var env listFlag
		f.boolVar(&i, "i", "interactive")
		f.boolVar(&tty, "t", "tty")
		f.stringVar(&name, "", "name")
		f.listVar(&env, "e", "env")
		if err := f.parse(tc.args); err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if i != tc.i || tty != tc.tty || name != tc.name || !reflect.DeepEqual([]string(env), tc.env) && len(env)+len(tc.env) > 0 ||
			!reflect.DeepEqual(f.Args(), tc.rest) {
			t.Errorf("%q: i=%v t=%v name=%q env=%q rest=%q", tc.args, i, tty, name, env, f.Args())
		}
	}
	f := newFlags("run", io.Discard)
	if err := f.parse([]string{"--nosuch"}); err == nil {
		t.Error("an unknown flag was accepted")
	}
}

func TestReadEnv(t *testing.T) {
	file := filepath.Join(t.TempDir(), "env")
	os.WriteFile(file, []byte("# a comment\n\nA=1\n  B=two words\nFROM_CALLER\nUNSET_HERE\n"), 0o644)
	t.Setenv("FROM_CALLER", "caller")
	os.Unsetenv("UNSET_HERE")
	got, err := readEnv([]string{file}, []string{"C=3", "FROM_CALLER"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"A=1", "B=two words", "FROM_CALLER=caller", "C=3", "FROM_CALLER=caller"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("readEnv = %q, want %q", got, want)
	}
	os.WriteFile(file, []byte("A=1\nBAD NAME=2\n"), 0o644)
	if _, err := readEnv([]string{file}, nil); err == nil || !strings.Contains(err.Error(), file+":2:") {
		t.Errorf("a name with a space: %v, want an error naming %s:2", err, file)
	}
}

func TestParseMount(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want mount.Mount
		err  string
	}{
		{in: "type=bind,source=/a,target=/b,readonly", want: mount.Mount{Type: mount.TypeBind, Source: "/a", Target: "/b", ReadOnly: true}},
		{in: "src=vol,dst=/data", want: mount.Mount{Type: mount.TypeVolume, Source: "vol", Target: "/data"}},
		{in: "type=tmpfs,destination=/t,tmpfs-size=1m", want: mount.Mount{Type: mount.TypeTmpfs, Target: "/t", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 1 << 20}}},
		{in: "src=vol,dst=/data,volume-label=k=v,volume-label=bare", want: mount.Mount{Type: mount.TypeVolume, Source: "vol", Target: "/data",
			VolumeOptions: &mount.VolumeOptions{Labels: map[string]string{"k": "v", "bare": ""}}}},
		{in: "type=bind,source=/a,target=/b,ro=maybe", err: "invalid value for ro"},
		{in: "type=bind,nosuch=1,target=/b", err: "nosuch"},
	} {
		got, err := parseMount(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

// TestDisplayPorts lists ports as docker ps does: ranges folded, published
// ones with their address.
func TestDisplayPorts(t *testing.T) {
	for _, tc := range []struct {
		ports []container.Port
		want  string
	}{
		{nil, ""},
		{[]container.Port{{IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Type: "tcp"}}, "0.0.0.0:8080->80/tcp"},
		{[]container.Port{{PrivatePort: 53, Type: "udp"}, {PrivatePort: 80, Type: "tcp"}}, "80/tcp, 53/udp"},
		{[]container.Port{{IP: "0.0.0.0", PrivatePort: 7001, PublicPort: 9001, Type: "tcp"},
			{IP: "0.0.0.0", PrivatePort: 7000, PublicPort: 9000, Type: "tcp"}}, "0.0.0.0:9000-9001->7000-7001/tcp"},
	} {
		if got := displayPorts(tc.ports); got != tc.want {
			t.Errorf("displayPorts(%+v) = %q, want %q", tc.ports, got, tc.want)
		}
	}
}
