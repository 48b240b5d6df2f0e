package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"sort"
	"strings"
	"time"

	"berth/runtime"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// BusyboxTag is the name of the image BuildBusyboxImage makes.
const BusyboxTag = "busybox:latest"

// busyboxPasswd and busyboxGroup are the accounts of Docker's busybox image.
const (
	busyboxPasswd = "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nbin:x:2:2:bin:/bin:/bin/false\nsys:x:3:3:sys:/dev:/bin/false\nsync:x:4:100:sync:/bin:/bin/sync\nmail:x:8:8:mail:/var/spool/mail:/bin/false\nwww-data:x:33:33:www-data:/var/www:/bin/false\noperator:x:37:37:Operator:/var:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
	busyboxGroup  = "root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\nadm:x:4:\ntty:x:5:\nmail:x:8:\nwww-data:x:33:\noperator:x:37:\nusers:x:100:\nnogroup:x:65534:\n"
)

// BuildBusyboxImage writes a docker save tarball of busybox:latest made
// from a static busybox (Debian's busybox-static): the binary, a link for
// every applet, the accounts, and Cmd ["sh"]. Its times come from the
// binary, so the same busybox gives the same image.
func BuildBusyboxImage(busybox, out string) error {
	bin, err := os.ReadFile(busybox)
	if err != nil {
		return fmt.Errorf("image: busybox image: %w", err)
	}
	fi, _ := os.Stat(busybox)
	mtime := fi.ModTime().UTC().Truncate(time.Second)
	list, err := exec.Command(busybox, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("image: busybox --list-full: %w", err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]int64{"bin": 0o755, "dev": 0o755, "etc": 0o755, "home": 0o755, "proc": 0o755, "root": 0o700,
		"sys": 0o755, "tmp": 0o1777, "usr": 0o755, "usr/bin": 0o755, "usr/sbin": 0o755, "sbin": 0o755,
		"var": 0o755, "var/spool": 0o755, "var/spool/mail": 0o755, "var/www": 0o755}
	var names []string
	for d := range dirs {
		names = append(names, d)
	}
	sort.Strings(names)
	for _, d := range names {
		tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: dirs[d], ModTime: mtime})
	}
	files := []struct {
		name string
		mode int64
		body []byte
	}{
		{"bin/busybox", 0o755, bin},
		{"etc/passwd", 0o644, []byte(busyboxPasswd)},
		{"etc/group", 0o644, []byte(busyboxGroup)},
	}
	for _, f := range files {
		tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: f.mode, Size: int64(len(f.body)), ModTime: mtime})
		tw.Write(f.body)
	}
	applets := strings.Fields(string(list))
	sort.Strings(applets)
	for _, p := range applets {
		if p == "bin/busybox" || path.Base(p) == "linuxrc" {
			continue
		}
		tw.WriteHeader(&tar.Header{Name: p, Typeflag: tar.TypeSymlink, Linkname: "/bin/busybox", Mode: 0o777, ModTime: mtime})
	}
	if err := tw.Close(); err != nil {
		return err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		return fmt.Errorf("image: busybox layer: %w", err)
	}
	return saveImage(out, BusyboxTag, layer, mtime, v1.Config{Cmd: []string{"sh"}, Env: []string{"PATH=" + runtime.DefaultPath}})
}

// saveImage writes a docker save tarball of a one-layer image named tag
// with the given config and creation time.
func saveImage(out, tagName string, layer v1.Layer, created time.Time, config v1.Config) error {
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture, cfg.OS = "amd64", "linux"
	cfg.Created = v1.Time{Time: created}
	for i := range cfg.History {
		cfg.History[i].Created = cfg.Created
	}
	cfg.Config = config
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		return err
	}
	tag, err := name.NewTag(tagName)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(path.Dir(out), 0o755); err != nil {
		return err
	}
	// A name of its own: tests build images in parallel.
	f, err := os.CreateTemp(path.Dir(out), path.Base(out)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	f.Close()
	defer os.Remove(tmp)
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		return fmt.Errorf("image: write %s: %w", out, err)
	}
	return os.Rename(tmp, out)
}
