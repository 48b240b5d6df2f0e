package image

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"berth/runtime"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// PythonTag is the name of the image BuildPythonImage makes: the Debian
// image of the classic Docker walkthrough, which serves a directory with
// python3 -m http.server.
const PythonTag = "python:bookworm"

// DebianMirror is where debootstrap fetches Debian's packages.
var DebianMirror = "http://deb.debian.org/debian"

// BuildPythonImage writes a docker save tarball of python:bookworm: a
// Debian bookworm tree made by debootstrap (minbase, with python3), kept
// in cacheDir so that it is made once. Documentation, locales and apt's
// lists are left out. It needs root (debootstrap does).
func BuildPythonImage(cacheDir, out string, log io.Writer) error {
	root := filepath.Join(cacheDir, "python-rootfs")
	done := filepath.Join(cacheDir, "python-rootfs.done")
	if _, err := os.Stat(done); err != nil {
		os.RemoveAll(root)
		fmt.Fprintf(log, "python image: debootstrap bookworm (minbase, python3) into %s; this takes a few minutes once\n", root)
		cmd := exec.Command("debootstrap", "--variant=minbase", "--include=python3", "bookworm", root, DebianMirror)
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("image: python image: debootstrap: %v\n%s", err, tailOf(b, 2000))
		}
		for _, junk := range []string{"usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "var/lib/apt/lists", "var/cache/apt", "var/log"} {
			os.RemoveAll(filepath.Join(root, junk))
			os.MkdirAll(filepath.Join(root, junk), 0o755)
		}
		if err := os.WriteFile(done, nil, 0o644); err != nil {
			return err
		}
	}
	if fi, err := os.Stat(out); err == nil {
		if di, err := os.Stat(done); err == nil && fi.ModTime().After(di.ModTime()) {
			return nil // made from this tree already
		}
	}
	layerTar := out + ".layer"
	defer os.Remove(layerTar)
	// GNU tar keeps owners, modes, hard links, symlinks and device nodes;
	// the kernel's filesystems and /dev are the container's own.
	cmd := exec.Command("tar", "--numeric-owner", "--sort=name", "--xattrs", "-C", root, "-cf", layerTar,
		"--exclude=./proc/*", "--exclude=./sys/*", "--exclude=./dev/*", "--exclude=./run/*", "--exclude=./tmp/*", ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("image: python image: tar: %v: %s", err, b)
	}
	layer, err := tarball.LayerFromFile(layerTar)
	if err != nil {
		return fmt.Errorf("image: python layer: %w", err)
	}
	di, _ := os.Stat(done)
	return saveImage(out, PythonTag, layer, di.ModTime().UTC().Truncate(time.Second),
		v1.Config{Cmd: []string{"python3"}, Env: []string{"PATH=" + runtime.DefaultPath, "LANG=C.UTF-8"}})
}

func tailOf(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
