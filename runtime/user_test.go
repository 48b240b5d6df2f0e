package runtime

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestLookupUser(t *testing.T) {
	dir := t.TempDir()
	passwd, group := filepath.Join(dir, "passwd"), filepath.Join(dir, "group")
	os.WriteFile(passwd, []byte("root:x:0:0:root:/root:/bin/sh\nwww:x:33:33:www:/var/www:/bin/false\n"+
		"broken:x:10x:10:broken:/home/broken:/bin/sh\nnogid:x:70:seventy:x:/:/bin/sh\n"), 0o644)
	os.WriteFile(group, []byte("root:x:0:\nwww:x:33:\nstaff:x:50:www\nbad:x:5y:\n"), 0o644)
	for _, tc := range []struct {
		spec string
		want credentials
	}{
		{"", credentials{uid: 0, gid: 0, home: "/root"}},
		{"www", credentials{uid: 33, gid: 33, groups: []uint32{50}, home: "/var/www"}},
		{"33", credentials{uid: 33, gid: 33, groups: []uint32{50}, home: "/var/www"}},
		{"www:staff", credentials{uid: 33, gid: 50, home: "/var/www"}},
		{"www:7", credentials{uid: 33, gid: 7, home: "/var/www"}},
		// An id the files do not name: as Docker, group 0 and home /.
		{"1234", credentials{uid: 1234, gid: 0, home: "/"}},
		{"1234:1234", credentials{uid: 1234, gid: 1234, home: "/"}},
	} {
		got, err := lookupUserIn(tc.spec, passwd, group)
		if err != nil {
			t.Errorf("%q: %v", tc.spec, err)
			continue
		}
		if len(got.groups) == 0 {
			got.groups = nil
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %+v, want %+v", tc.spec, got, tc.want)
		}
	}
	for spec, want := range map[string]string{
		"broken":   "malformed",    // uid 10x must not become root
		"nogid":    "malformed",    // gid seventy must not become 0
		"www:bad":  "malformed",    // a group id 5y
		"nobody":   "no such user", // a name the files lack
		"www:nope": "no such user", // a group name the files lack
		"-1":       "",             // anything: refused
	} {
		_, err := lookupUserIn(spec, passwd, group)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want an error saying %q", spec, err, want)
		}
	}
}
