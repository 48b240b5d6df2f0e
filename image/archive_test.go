package image

import (
	"bytes"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"
)

func TestArchiveIsReproducibleAndComplete(t *testing.T) {
	build := func(order []string) []byte {
		a := NewArchive()
		for _, name := range order {
			a.File(name, 0o644, []byte("content of "+name))
		}
		a.Symlink("/init", "bin/berth")
		a.CharDev("/dev/console", 0o600, 5, 1)
		var buf bytes.Buffer
		if _, err := a.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	one := build([]string{"/bin/berth", "/etc/berth/berth.toml", "/lib/modules/x/kernel/a.ko"})
	two := build([]string{"/lib/modules/x/kernel/a.ko", "/etc/berth/berth.toml", "/bin/berth"})
	if !bytes.Equal(one, two) {
		t.Fatal("the same files added in another order give other bytes")
	}

	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(one)))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if r.MTime != 0 || r.UID != 0 {
			t.Errorf("%s: mtime %d uid %d, want 0", r.Name, r.MTime, r.UID)
		}
		// The kernel ignores an entry whose directory does not exist yet.
		if dir := parentDir(r.Name); dir != "" && !seen[dir] {
			t.Errorf("%s comes before its directory %s", r.Name, dir)
		}
		seen[r.Name] = true
	}
	for _, want := range []string{"bin", "etc/berth", "lib/modules/x/kernel", "init", "dev/console"} {
		if !seen[want] {
			t.Errorf("archive lacks %s", want)
		}
	}
}

func parentDir(name string) string {
	i := bytes.LastIndexByte([]byte(name), '/')
	if i < 0 {
		return ""
	}
	return name[:i]
}
