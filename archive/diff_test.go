package archive

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"
)

// TestWriteDiff checks the layer a RUN step makes: new, changed and
// deleted entries, hard links, and the runtime's files left out.
func TestWriteDiff(t *testing.T) {
	lower, upper := t.TempDir(), t.TempDir()
	old := time.Unix(1700000000, 0)
	for _, root := range []string{lower, upper} {
		for _, d := range []string{"etc", "gone", "same"} {
			os.Mkdir(filepath.Join(root, d), 0o755)
		}
		for _, f := range []string{"etc/keep", "etc/edit", "gone/x", "same/y"} {
			os.WriteFile(filepath.Join(root, f), []byte("v1"), 0o644)
			os.Chtimes(filepath.Join(root, f), old, old)
		}
		for _, d := range []string{"etc", "gone", "same"} {
			os.Chtimes(filepath.Join(root, d), old, old)
		}
	}
	os.WriteFile(filepath.Join(upper, "etc/edit"), []byte("v2, longer"), 0o644)
	os.RemoveAll(filepath.Join(upper, "gone"))
	os.WriteFile(filepath.Join(upper, "new"), []byte("n"), 0o600)
	os.Link(filepath.Join(upper, "new"), filepath.Join(upper, "new-link"))
	os.Symlink("new", filepath.Join(upper, "sym"))
	os.WriteFile(filepath.Join(upper, "etc/hosts"), nil, 0o644) // a bind mount target
	os.Mkdir(filepath.Join(upper, "proc"), 0o755)
	os.Chtimes(filepath.Join(upper, "etc"), old, old)

	var buf bytes.Buffer
	if err := WriteDiff(&buf, lower, upper, map[string]bool{"proc": true, "etc/hosts": true}); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		kind := string(h.Typeflag)
		if h.Typeflag == tar.TypeLink || h.Typeflag == tar.TypeSymlink {
			kind += "->" + h.Linkname
		}
		got[h.Name] = kind
	}
	want := map[string]string{"etc/edit": "0", "new": "0", "new-link": "1->new", "sym": "2->new", ".wh.gone": "0"}
	var names []string
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(got) != len(want) {
		t.Errorf("entries %v, want %v", names, want)
	}
	for n, k := range want {
		if got[n] != k {
			t.Errorf("%s: %q, want %q (all: %v)", n, got[n], k, names)
		}
	}
}
