package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(good, []byte("[[container]]\nname = \"a\"\nimage = \"busybox\"\n"), 0o644)
	os.WriteFile(bad, []byte("[host]\nhostname = \"x\"\nport = 1\n"), 0o644)
	for _, tc := range []struct {
		args       []string
		code       int
		out, error string
	}{
		{[]string{"config", "check", good}, 0, "good.toml: ok (1 containers)", ""},
		{[]string{"config", "check", bad}, 1, "", "bad.toml:3:1: host.port: unknown key"},
		{[]string{"config", "check"}, 2, "", "usage: berth config check FILE"},
		{[]string{"config", "check", filepath.Join(dir, "missing.toml")}, 1, "", "no such file"},
		{[]string{"frobnicate"}, 2, "", `"frobnicate" is not a berth command`},
		{[]string{"version"}, 0, "berth version " + Version, ""},
		{[]string{"help"}, 0, "berth config check FILE", ""},
	} {
		var out, errb bytes.Buffer
		code := Run(tc.args, strings.NewReader(""), &out, &errb)
		if code != tc.code || !strings.Contains(out.String(), tc.out) || !strings.Contains(errb.String(), tc.error) {
			t.Errorf("berth %v: status %d, stdout %q, stderr %q; want %d, %q, %q",
				tc.args, code, out.String(), errb.String(), tc.code, tc.out, tc.error)
		}
	}
}
