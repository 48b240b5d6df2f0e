//go:build guest

// These tests run inside a booted berth guest (see tests/engine_test.go).
package imagestore

import (
	"archive/tar"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/pkg/stringid"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/sys/unix"

	"berth/hostpath"
	"berth/thinpool"
	"berth/thinpool/thinpooltest"
)

var bundledBusybox = filepath.Join(hostpath.BundledImages, "busybox.tar")

// testStore is an image store on a loopback pool of its own.
func testStore(t *testing.T) (*Store, *thinpool.Storage) {
	t.Helper()
	st, dir := thinpooltest.Open(t)
	store, err := New(filepath.Join(dir, "images"), st)
	if err != nil {
		t.Fatal(err)
	}
	return store, st
}

// mounted mounts a snapshot of the image's top layer and returns its path.
func mounted(t *testing.T, st *thinpool.Storage, img Image) string {
	t.Helper()
	name := "check-" + stringid.TruncateID(img.ID)
	if err := st.Create(name, img.TopLayer()); err != nil {
		t.Fatal(err)
	}
	dev, err := st.Activate(name)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := unix.Mount(dev, dir, "ext4", 0, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(dir, 0); st.Deactivate(name); st.Remove(name) })
	return dir
}

func TestLoadBusybox(t *testing.T) {
	store, st := testStore(t)
	var progress bytes.Buffer
	loaded, err := store.LoadArchive(bundledBusybox, &progress)
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 1 || loaded[0] != "busybox:latest" {
		t.Errorf("loaded %v", loaded)
	}
	if !strings.Contains(progress.String(), "layer 1/1") || !strings.Contains(progress.String(), "MB in") {
		t.Errorf("no progress shown: %q", progress.String())
	}
	img, err := store.Get("busybox")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(img.Config.Config.Cmd, " "); got != "sh" || img.Size < 1<<20 {
		t.Errorf("image cmd %q size %d", got, img.Size)
	}
	root := mounted(t, st, img)
	if fi, err := os.Stat(filepath.Join(root, "bin/busybox")); err != nil || fi.Size() < 1<<20 || fi.Mode()&0o111 == 0 {
		t.Errorf("bin/busybox: %v %v", fi, err)
	}
	if l, _ := os.Readlink(filepath.Join(root, "bin/sh")); l != "/bin/busybox" {
		t.Errorf("bin/sh -> %q", l)
	}
	if fi, _ := os.Stat(filepath.Join(root, "tmp")); fi.Mode()&os.ModeSticky == 0 {
		t.Errorf("tmp is not sticky: %v", fi.Mode())
	}
	// Loading again shares the layer.
	progress.Reset()
	if _, err := store.LoadArchive(bundledBusybox, &progress); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "already present") {
		t.Errorf("second load: %q", progress.String())
	}
	if err := store.Tag("busybox", "registry.local:5000/tools/busybox:1.35"); err != nil {
		t.Fatal(err)
	}
	if same, err := store.Get("registry.local:5000/tools/busybox:1.35"); err != nil || same.ID != img.ID {
		t.Errorf("tagged image: %v %v", same.ID, err)
	}
	if byID, err := store.Get(stringid.TruncateID(img.ID)); err != nil || byID.ID != img.ID {
		t.Errorf("by short id: %v", err)
	}
	list, _ := store.List()
	if len(list) != 1 || len(list[0].RepoTags) != 2 {
		t.Errorf("list %+v", list)
	}
}

func TestLoadOCILayout(t *testing.T) {
	store, st := testStore(t)
	img, err := tarball.ImageFromPath(bundledBusybox, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": "oci/busybox:1"})); err != nil {
		t.Fatal(err)
	}
	if loaded, err := store.LoadArchive(dir, io.Discard); err != nil || loaded[0] != "oci/busybox:1" {
		t.Fatalf("layout directory: %v %v", loaded, err)
	}
	// The same layout as a tar, as docker buildx writes it.
	tarPath := filepath.Join(t.TempDir(), "oci.tar")
	if out, err := exec.Command("tar", "-C", dir, "-cf", tarPath, ".").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, out)
	}
	if loaded, err := store.LoadArchive(tarPath, io.Discard); err != nil || loaded[0] != "oci/busybox:1" {
		t.Fatalf("layout tar: %v %v", loaded, err)
	}
	got, err := store.Get("oci/busybox:1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(mounted(t, st, got), "bin/busybox")); err != nil {
		t.Error(err)
	}
}

func flatTar(t *testing.T, entries map[string]string) *bytes.Reader {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for name, body := range entries {
		tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))})
		tw.Write([]byte(body))
	}
	tw.Close()
	return bytes.NewReader(buf.Bytes())
}

func TestImportFlatRootfs(t *testing.T) {
	store, st := testStore(t)
	id, err := store.Import(flatTar(t, map[string]string{"etc/os-release": "NAME=flat\n", "srv/index.html": "hi"}), "flat:1", nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	img, err := store.Get("flat:1")
	if err != nil || img.ID != id || len(img.Config.RootFS.DiffIDs) != 1 {
		t.Fatalf("imported image %+v, %v", img, err)
	}
	if b, _ := os.ReadFile(filepath.Join(mounted(t, st, img), "srv/index.html")); string(b) != "hi" {
		t.Errorf("srv/index.html = %q", b)
	}
}

// TestMaliciousLayerRefused imports layers that try to escape the root:
// refused with a clear error, and no layer device is left behind.
func TestMaliciousLayerRefused(t *testing.T) {
	store, st := testStore(t)
	for _, tc := range []struct {
		name    string
		entries []*tar.Header
	}{
		{"dot-dot", []*tar.Header{{Name: "../../etc/evil", Typeflag: tar.TypeReg, Mode: 0o644}}},
		{"symlink out, then written through", []*tar.Header{
			{Name: "etc", Typeflag: tar.TypeSymlink, Linkname: "/etc"},
			{Name: "etc/evil", Typeflag: tar.TypeReg, Mode: 0o644}}},
	} {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, h := range tc.entries {
			tw.WriteHeader(h)
		}
		tw.Close()
		_, err := store.Import(&buf, "evil:"+strings.ReplaceAll(tc.name, " ", "-"), nil, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "escape") {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if _, err := os.Stat("/etc/evil"); err == nil {
		t.Fatal("/etc/evil was written on the host")
	}
	devs, _ := st.Devices()
	for _, d := range devs {
		if d.Name != thinpool.BaseDevice {
			t.Errorf("device %s left behind", d.Name)
		}
	}
	if list, _ := store.List(); len(list) != 0 {
		t.Errorf("images left behind: %+v", list)
	}
}

// TestPullFromRegistry pushes busybox to a registry served by this test
// on 127.0.0.1 (go-containerregistry's own) and pulls it back.
func TestPullFromRegistry(t *testing.T) {
	store, st := testStore(t)
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: registry.New()}
	go srv.Serve(l)
	defer srv.Close()
	ref := l.Addr().String() + "/tools/busybox:pulled"
	img, err := tarball.ImageFromPath(bundledBusybox, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := name.ParseReference(ref)
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	id, _, err := store.Pull(ref, Registry{Transport: http.DefaultTransport}, &progress)
	if err != nil {
		t.Fatal(err)
	}
	got, err := store.Get(ref)
	if err != nil || got.ID != id {
		t.Fatalf("pulled image: %v", err)
	}
	if !strings.Contains(progress.String(), "Pulling "+ref) {
		t.Errorf("progress: %q", progress.String())
	}
	if _, err := os.Stat(filepath.Join(mounted(t, st, got), "bin/busybox")); err != nil {
		t.Error(err)
	}
}
