package imagestore

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"berth/errdefs"
)

// TestRecordWritesReportErrors: the build cache's records (the cache,
// intermediate images, parents) are written durably and a write that
// fails is an error, not lost silently.
func TestRecordWritesReportErrors(t *testing.T) {
	s, err := New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	id := "sha256:" + strings.Repeat("ab", 32)
	if err := s.SetParent(id, "sha256:"+strings.Repeat("cd", 32)); err != nil {
		t.Fatal(err)
	}
	if got := s.Parent(id); got != "sha256:"+strings.Repeat("cd", 32) {
		t.Errorf("parent %q after SetParent", got)
	}
	if err := s.MarkIntermediate(id); err != nil || !s.Intermediate(id) {
		t.Fatalf("MarkIntermediate: %v, recorded %v", err, s.Intermediate(id))
	}
	// Something in the way of each record: a file where a directory goes.
	for _, p := range []string{"parents", "intermediate"} {
		os.RemoveAll(filepath.Join(s.dir, p))
		os.WriteFile(filepath.Join(s.dir, p), nil, 0o600)
	}
	os.Mkdir(s.cachePath(), 0o700)
	if err := s.SetParent(id, "x"); err == nil {
		t.Error("SetParent reported no error when its record could not be written")
	}
	if err := s.MarkIntermediate(id); err == nil {
		t.Error("MarkIntermediate reported no error when its record could not be written")
	}
	if err := s.Cache("key", id); err == nil {
		t.Error("Cache reported no error when the cache could not be written")
	}
}

// TestLoadBundledRefusesAnUnreadableRecord: a bundled-image record that
// cannot be read is an error and nothing is loaded (loading every bundle
// again would bring back images the user deleted); one that is missing
// is a first boot.
func TestLoadBundledRefusesAnUnreadableRecord(t *testing.T) {
	s, err := New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	bundles := t.TempDir()
	if err := s.LoadBundled(bundles, os.Stderr); err != nil {
		t.Fatalf("no record, no bundles: %v", err)
	}
	os.WriteFile(s.bundledPath(), []byte("{not json"), 0o600)
	os.WriteFile(filepath.Join(bundles, "x.tar"), []byte("not a tar"), 0o644)
	err = s.LoadBundled(bundles, os.Stderr)
	if err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("corrupt record: %v, want an error saying so", err)
	}
	os.Remove(s.bundledPath())
	os.Mkdir(s.bundledPath(), 0o700)
	if err := s.LoadBundled(bundles, os.Stderr); err == nil {
		t.Error("a record that cannot be read was taken as none")
	}
	// A bundle that fails to load is reported by name.
	os.Remove(s.bundledPath())
	err = s.LoadBundled(bundles, os.Stderr)
	if err == nil || !strings.Contains(err.Error(), "x.tar") {
		t.Errorf("a bundle that cannot load: %v, want an error naming x.tar", err)
	}
}

// TestErrorsSayItOnce: a missing image is ErrNoSuchImage (and so
// errdefs.ErrNotFound), and its message says so once, as Docker's does.
func TestErrorsSayItOnce(t *testing.T) {
	s, err := New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Get("nosuch")
	if !errors.Is(err, ErrNoSuchImage) || !errors.Is(err, errdefs.ErrNotFound) {
		t.Errorf("Get of a missing image: %v, not ErrNoSuchImage", err)
	}
	if err == nil || err.Error() != "No such image: nosuch" {
		t.Errorf("Get of a missing image says %q", err)
	}
}
