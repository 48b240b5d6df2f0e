package filecontexts

import (
	"io/fs"
	"strings"
	"testing"
)

const sample = `/.*	system_u:object_r:default_t:s0
/usr(/.*)?	system_u:object_r:usr_t:s0
/usr/bin(/.*)?	system_u:object_r:bin_t:s0
/usr/bin/berth	--	system_u:object_r:berth_exec_t:s0
/etc(/.*)?	system_u:object_r:etc_t:s0
/etc/shadow.*	--	system_u:object_r:shadow_t:s0
/etc/skip	<<none>>
/dev/.*	-c	system_u:object_r:chr_t:s0
/dev/null	-c	system_u:object_r:null_device_t:s0
/var/lib(/.*)?	system_u:object_r:var_lib_t:s0
/var/lib/[^/]+/data(/.*)?	-d	system_u:object_r:data_dir_t:s0
`

func TestLookup(t *testing.T) {
	c, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	c.addSubs("# comment\n/bin /usr/bin\n")
	for _, tc := range []struct {
		path string
		mode fs.FileMode
		want string
	}{
		{"/", fs.ModeDir, "default_t"},
		{"/usr/lib/x", 0, "usr_t"},
		{"/usr/bin/ls", 0, "bin_t"},
		{"/usr/bin/berth", 0, "berth_exec_t"},       // exact beats the regex below it
		{"/usr/bin/berth", fs.ModeSymlink, "bin_t"}, // a type that does not fit
		{"/bin/berth", 0, "berth_exec_t"},           // through /bin = /usr/bin
		{"/binary", 0, "default_t"},                 // not a /bin path
		{"/etc/shadow-", 0, "shadow_t"},             // the later regex wins
		{"/etc/shadow-", fs.ModeDir, "etc_t"},       // a directory: -- does not fit
		{"/dev/null", fs.ModeDevice | fs.ModeCharDevice, "null_device_t"},
		{"/dev/zero", fs.ModeDevice | fs.ModeCharDevice, "chr_t"},
		{"/dev/sda", fs.ModeDevice, "default_t"}, // a block device: -c does not fit
		{"/var/lib/berth/data", fs.ModeDir, "data_dir_t"},
		{"/var/lib/berth/data", 0, "var_lib_t"},
		{"/var/lib/berth/more/data", fs.ModeDir, "var_lib_t"}, // [^/]+ is one component
	} {
		got, ok := c.Lookup(tc.path, tc.mode)
		if !ok || !strings.Contains(got, ":"+tc.want+":") {
			t.Errorf("%s (%v): %q %v, want %s", tc.path, tc.mode, got, ok, tc.want)
		}
	}
	if got, ok := c.Lookup("/etc/skip", 0); ok {
		t.Errorf("/etc/skip: %q, want no label (<<none>>)", got)
	}
	if _, err := Parse(strings.NewReader("/x -q system_u:object_r:x_t:s0\n")); err == nil {
		t.Error("an unknown file type was accepted")
	}
}
