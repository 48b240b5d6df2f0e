package engine

import (
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

func (e *Engine) volumesDir() string { return filepath.Join(e.opts.StateDir, "volumes") }

// makeVolumes gives the container a volume of its own for each VOLUME of
// its image that no -v names, as Docker does: a directory under
// /var/lib/berth/volumes/<id>/_data holding a copy of what the image has
// at that path, mounted there at every start. berth rm -v removes them.
func (e *Engine) makeVolumes(c *Container, imageVolumes map[string]struct{}) error {
	var paths []string
	for p := range imageVolumes {
		p = path.Clean("/" + p)
		bound := false
		for _, m := range c.Mounts {
			bound = bound || path.Clean(m.Destination) == p
		}
		if !bound {
			paths = append(paths, p)
		}
	}
	if len(paths) == 0 {
		return nil
	}
	sort.Strings(paths)
	root, unmount, err := e.Images.mount(c.Id, unix.MS_RDONLY, true)
	if err != nil {
		return err
	}
	defer unmount()
	for _, p := range paths {
		id := newID()
		data := filepath.Join(e.volumesDir(), id, "_data")
		if err := os.MkdirAll(data, 0o755); err != nil {
			return fmt.Errorf("engine: volume %s: %w", p, err)
		}
		// Resolved inside the image's root: a symlink in the image cannot
		// make berth copy the host's files.
		src, err := securejoin.SecureJoin(root, p)
		if err != nil {
			return fmt.Errorf("engine: volume %s: %w", p, err)
		}
		if fi, err := os.Lstat(src); err == nil && fi.IsDir() {
			if err := copyTree(src, data); err != nil {
				return fmt.Errorf("engine: volume %s: copy the image's files: %w", p, err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			os.Chmod(data, fi.Mode().Perm())
			os.Lchown(data, int(st.Uid), int(st.Gid))
		}
		c.Mounts = append(c.Mounts, MountPoint{Type: "volume", Name: id, Source: data, Destination: p, RW: true})
	}
	return nil
}

// copyTree copies the tree at src into dst, owners, modes, links and
// attributes kept.
func copyTree(src, dst string) error {
	r, w := io.Pipe()
	go func() { w.CloseWithError(WriteTree(w, src)) }()
	_, err := ApplyLayer(dst, r)
	r.CloseWithError(err)
	return err
}
