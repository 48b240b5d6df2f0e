package archive

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

type layerEntry struct {
	name, link, body string
	kind             byte
	mode             int64
	uid              int
	xattrs           map[string]string
}

func layerTar(t *testing.T, entries ...layerEntry) *bytes.Reader {
	t.Helper()
	var buf bytes.Buffer
	w := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.kind, Mode: e.mode, Uid: e.uid,
			Size: int64(len(e.body)), ModTime: time.Unix(1400000000, 0), Format: tar.FormatPAX}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if e.kind == tar.TypeChar {
			hdr.Devmajor, hdr.Devminor = 1, 3
		}
		for k, v := range e.xattrs {
			if hdr.PAXRecords == nil {
				hdr.PAXRecords = map[string]string{}
			}
			hdr.PAXRecords["SCHILY.xattr."+k] = v
		}
		if err := w.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(e.body))
	}
	w.Close()
	return bytes.NewReader(buf.Bytes())
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestApplyLayersWithWhiteouts(t *testing.T) {
	root := t.TempDir()
	lower := layerTar(t,
		layerEntry{name: "etc/", kind: tar.TypeDir, mode: 0o755},
		layerEntry{name: "etc/passwd", kind: tar.TypeReg, body: "root:x:0:0::/root:/bin/sh\n"},
		layerEntry{name: "etc/motd", kind: tar.TypeReg, body: "welcome"},
		layerEntry{name: "var/cache/", kind: tar.TypeDir, mode: 0o755},
		layerEntry{name: "var/cache/old", kind: tar.TypeReg, body: "stale"},
		layerEntry{name: "bin/busybox", kind: tar.TypeReg, body: "ELF", mode: 0o4755, uid: 1000},
		layerEntry{name: "bin/sh", kind: tar.TypeSymlink, link: "busybox"},
		layerEntry{name: "bin/ls", kind: tar.TypeLink, link: "bin/busybox"},
		layerEntry{name: "dev/null", kind: tar.TypeChar, mode: 0o666},
		layerEntry{name: "etc/labelled", kind: tar.TypeReg, body: "x", xattrs: map[string]string{"trusted.berth": "yes"}},
	)
	if _, err := ApplyLayer(root, lower); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(root, "etc")); fi.ModTime().Unix() != 1400000000 {
		t.Errorf("etc mtime %v, want the header's", fi.ModTime())
	}
	upper := layerTar(t,
		layerEntry{name: "etc/.wh.motd", kind: tar.TypeReg},
		layerEntry{name: "var/cache/.wh..wh..opq", kind: tar.TypeReg},
		layerEntry{name: "var/cache/new", kind: tar.TypeReg, body: "fresh"},
		layerEntry{name: "etc/passwd", kind: tar.TypeReg, body: "root:x:0:0::/root:/bin/ash\n"},
	)
	if _, err := ApplyLayer(root, upper); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "etc/motd")); !os.IsNotExist(err) {
		t.Errorf("whiteout left etc/motd: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "var/cache/old")); !os.IsNotExist(err) {
		t.Errorf("opaque directory kept the lower layer's file: %v", err)
	}
	if got := read(t, filepath.Join(root, "var/cache/new")); got != "fresh" {
		t.Errorf("var/cache/new = %q", got)
	}
	if got := read(t, filepath.Join(root, "etc/passwd")); !strings.Contains(got, "/bin/ash") {
		t.Errorf("etc/passwd not replaced: %q", got)
	}
	if l, _ := os.Readlink(filepath.Join(root, "bin/sh")); l != "busybox" {
		t.Errorf("bin/sh -> %q", l)
	}
	var a, b unix.Stat_t
	unix.Stat(filepath.Join(root, "bin/busybox"), &a)
	unix.Stat(filepath.Join(root, "bin/ls"), &b)
	if a.Ino != b.Ino {
		t.Errorf("bin/ls is not a hard link of bin/busybox")
	}
	if a.Mode&0o7777 != 0o4755 || a.Uid != 1000 {
		t.Errorf("bin/busybox mode %o uid %d, want 4755 and 1000", a.Mode&0o7777, a.Uid)
	}
	var d unix.Stat_t
	unix.Stat(filepath.Join(root, "dev/null"), &d)
	if d.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(d.Rdev) != 1 || unix.Minor(d.Rdev) != 3 {
		t.Errorf("dev/null is not the 1:3 character device")
	}
	if v := make([]byte, 8); true {
		n, err := unix.Lgetxattr(filepath.Join(root, "etc/labelled"), "trusted.berth", v)
		if err != nil || string(v[:n]) != "yes" {
			t.Errorf("xattr trusted.berth = %q, %v", v[:n], err)
		}
	}
}

// TestApplyLayerRefusesEscapes feeds layers that try to write outside the
// root in each known way; each is refused, and nothing appears outside.
func TestApplyLayerRefusesEscapes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []layerEntry
	}{
		{"dot-dot path", []layerEntry{{name: "../escaped", kind: tar.TypeReg, body: "x"}}},
		{"dot-dot inside a path", []layerEntry{{name: "etc/../../escaped", kind: tar.TypeReg, body: "x"}}},
		{"write through an absolute symlink", []layerEntry{
			{name: "out", kind: tar.TypeSymlink, link: "OUTSIDE"},
			{name: "out/escaped", kind: tar.TypeReg, body: "x"}}},
		{"write through a climbing symlink", []layerEntry{
			{name: "up", kind: tar.TypeSymlink, link: "../../.."},
			{name: "up/escaped", kind: tar.TypeReg, body: "x"}}},
		{"hard link out of the root", []layerEntry{{name: "stolen", kind: tar.TypeLink, link: "../secret"}}},
		{"whiteout through a symlink", []layerEntry{
			{name: "out", kind: tar.TypeSymlink, link: "OUTSIDE"},
			{name: "out/.wh.victim", kind: tar.TypeReg}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outside := t.TempDir()
			os.WriteFile(filepath.Join(outside, "secret"), []byte("s"), 0o600)
			os.WriteFile(filepath.Join(outside, "victim"), []byte("v"), 0o600)
			root := filepath.Join(outside, "a", "b", "root")
			os.MkdirAll(root, 0o755)
			for i := range tc.entries {
				tc.entries[i].link = strings.ReplaceAll(tc.entries[i].link, "OUTSIDE", outside)
			}
			_, err := ApplyLayer(root, layerTar(t, tc.entries...))
			if err == nil || !strings.Contains(err.Error(), "escape") {
				t.Errorf("error %v, want a refusal that says the entry escapes", err)
			}
			for _, p := range []string{filepath.Join(outside, "escaped"), filepath.Join(outside, "a", "escaped"), filepath.Join(outside, "a", "b", "escaped")} {
				if _, err := os.Stat(p); err == nil {
					t.Errorf("%s was written", p)
				}
			}
			if _, err := os.Stat(filepath.Join(outside, "victim")); err != nil {
				t.Errorf("the file outside was deleted")
			}
		})
	}
}

// TestExtractTarKeepsWhiteoutNames: a plain archive (a build context, an
// OCI layout) is not a layer: its .wh. files are files.
func TestExtractTarKeepsWhiteoutNames(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "x"), []byte("kept"), 0o644)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Name: ".wh.x", Mode: 0o644, Size: 2, Typeflag: tar.TypeReg})
	tw.Write([]byte("hi"))
	tw.WriteHeader(&tar.Header{Name: ".wh..wh..opq", Mode: 0o644, Typeflag: tar.TypeReg})
	tw.Close()
	if _, err := ExtractTar(root, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"x", ".wh.x", ".wh..wh..opq"} {
		if _, err := os.Stat(filepath.Join(root, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The same archive as a layer deletes x.
	if _, err := ApplyLayer(root, bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "x")); err == nil {
		t.Errorf("a layer's whiteout left x")
	}
}
