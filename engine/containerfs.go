package engine

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stringid"
	"github.com/opencontainers/selinux/go-selinux/label"
	"golang.org/x/sys/unix"

	"berth/archive"
	"berth/errdefs"
	"berth/runtime"
)

// This file is what the engine does in a container's filesystem from the
// outside: docker diff, export, cp, the sizes of ps -s, and the layer of
// a commit.

// withRoot mounts the container's root device (as it is mounted for its
// run when it runs: read-write, with its SELinux label, or the kernel
// refuses a second mount) and, with lower, its image's top layer, read
// only, and runs f with their mount points. Nothing is written through
// them.
func (e *Engine) withRoot(c Container, lower bool, f func(lower, root string) error) error {
	flags, label := uintptr(unix.MS_RDONLY), ""
	if c.State.Running {
		flags, label = 0, c.MountLabel
	}
	root, unmount, err := e.Images.MountLabelled(c.Id, flags, !c.State.Running, label)
	if err != nil {
		return err
	}
	defer unmount()
	if !lower {
		return f("", root)
	}
	img, err := e.Images.Get(c.Image)
	if err != nil {
		return err
	}
	dev := img.TopLayer()
	if dev == "" {
		dev = "base"
	}
	low, unmountLower, err := e.Images.Mount(dev, unix.MS_RDONLY, true)
	if err != nil {
		return err
	}
	defer unmountLower()
	return f(low, root)
}

// ContainerChanges is docker diff: what the container changed in its
// image's filesystem.
func (e *Engine) ContainerChanges(ref string) ([]container.FilesystemChange, error) {
	c, err := e.Inspect(ref)
	if err != nil {
		return nil, err
	}
	var out []container.FilesystemChange
	timeOnly := map[string]bool{} // directories changed in their times alone
	err = e.withRoot(c, true, func(lower, root string) error {
		return archive.WalkDiff(lower, root, runtime.Made, func(kind container.ChangeType, rel, p string, fi os.FileInfo) error {
			if kind == container.ChangeModify && fi.IsDir() {
				if li, err := os.Lstat(filepath.Join(lower, rel)); err == nil && sameExceptTimes(fi, li) {
					timeOnly[rel] = true
				}
			}
			out = append(out, container.FilesystemChange{Kind: kind, Path: "/" + rel})
			return nil
		})
	})
	return dropRuntimeParents(out, timeOnly), err
}

// dropRuntimeParents leaves out the directories whose only change is the
// time the runtime's mount points (/etc/hosts...) gave them: Docker keeps
// those in an init layer under the container's, so its diff never shows
// them.
func dropRuntimeParents(changes []container.FilesystemChange, timeOnly map[string]bool) []container.FilesystemChange {
	made := map[string]bool{}
	for p := range runtime.Made {
		made[path.Dir(p)] = true
	}
	changedIn := map[string]bool{} // directories with a change of their own inside
	for _, ch := range changes {
		changedIn[strings.TrimPrefix(path.Dir(ch.Path), "/")] = true
	}
	var out []container.FilesystemChange
	for _, ch := range changes {
		rel := strings.TrimPrefix(ch.Path, "/")
		if timeOnly[rel] && made[rel] && !changedIn[rel] {
			continue
		}
		out = append(out, ch)
	}
	return out
}

// sameExceptTimes reports whether two entries differ at most in their
// times.
func sameExceptTimes(a, b os.FileInfo) bool {
	sa, sb := a.Sys().(*syscall.Stat_t), b.Sys().(*syscall.Stat_t)
	return a.Mode() == b.Mode() && sa.Uid == sb.Uid && sa.Gid == sb.Gid
}

// sizes are the size of what the container wrote (the files it added or
// changed) and of its whole root, as docker ps -s shows them.
func (e *Engine) sizes(c Container) (rw, rootfs int64) {
	e.withRoot(c, true, func(lower, root string) error {
		return archive.WalkDiff(lower, root, runtime.Made, func(kind container.ChangeType, _, _ string, fi os.FileInfo) error {
			if kind != container.ChangeDelete && !fi.IsDir() {
				rw += fi.Size()
			}
			return nil
		})
	})
	if img, err := e.Images.Get(c.Image); err == nil {
		rootfs = img.Size
	}
	return rw, rw + rootfs
}

// ContainerExport is docker export: the container's root filesystem as
// a flat tar, without the filesystems mounted on it.
func (e *Engine) ContainerExport(ref string, w io.Writer) error {
	c, err := e.Inspect(ref)
	if err != nil {
		return err
	}
	err = e.withRoot(c, false, func(_, root string) error { return archive.WriteTree(w, root) })
	if err == nil {
		e.event("container", "export", &c)
	}
	return err
}

// inContainerFS runs f on a thread of its own whose root is the
// container's filesystem as the container sees it, with its volumes and
// binds, as Docker's docker cp does: a running container's mount
// namespace; for a stopped one, its root and volumes mounted in a mount
// namespace of the thread's own. Paths f opens are the container's, and
// no symbolic link in it can lead out.
func (e *Engine) inContainerFS(c Container, f func() error) error {
	var dev string
	if !c.State.Running {
		var err error
		if dev, err = e.opts.Storage.Activate(c.Id); err != nil {
			return err
		}
		defer e.opts.Storage.Deactivate(c.Id)
	}
	done := make(chan error, 1)
	go func() {
		// The thread's root and mounts change: it is never given back to
		// the Go scheduler, and ends with this goroutine.
		goruntime.LockOSThread()
		done <- func() error {
			if err := unix.Unshare(unix.CLONE_FS); err != nil {
				return fmt.Errorf("engine: unshare: %w", err)
			}
			if c.State.Running {
				fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/mnt", c.State.Pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					return fmt.Errorf("engine: container %s: %w", stringid.TruncateID(c.Id), err)
				}
				defer unix.Close(fd)
				// setns puts the thread's root and directory at the
				// namespace's root: the container's.
				if err := unix.Setns(fd, unix.CLONE_NEWNS); err != nil {
					return fmt.Errorf("engine: enter container %s: %w", stringid.TruncateID(c.Id), err)
				}
				return f()
			}
			if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
				return fmt.Errorf("engine: unshare: %w", err)
			}
			if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
				return fmt.Errorf("engine: %w", err)
			}
			root := filepath.Join(e.opts.RunDir, "containers", c.Id, "cp")
			if err := os.MkdirAll(root, 0o700); err != nil {
				return err
			}
			defer os.Remove(root)
			if err := unix.Mount(dev, root, "ext4", 0, label.FormatMountLabel("", c.MountLabel)); err != nil {
				return fmt.Errorf("engine: mount the root of %s: %w", stringid.TruncateID(c.Id), err)
			}
			defer unix.Unmount(root, unix.MNT_DETACH)
			for _, m := range c.Mounts {
				if m.Type == "tmpfs" || m.Source == "" {
					continue
				}
				if err := bindInto(root, m.Source, m.Destination, !m.RW); err != nil {
					return fmt.Errorf("engine: mount %s: %w", m.Destination, err)
				}
			}
			old, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				return err
			}
			defer unix.Close(old)
			if err := unix.Chroot(root); err != nil {
				return err
			}
			unix.Chdir("/")
			ferr := f()
			// Back to the host's root, so that the mounts can be undone.
			unix.Fchdir(old)
			unix.Chroot(".")
			return ferr
		}()
	}()
	return <-done
}

// bindInto binds src onto dst under root, dst resolved inside root and
// made when missing (a directory, or a file for a file).
func bindInto(root, src, dst string, readOnly bool) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	target, err := securejoin.SecureJoin(root, dst)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		err = os.MkdirAll(target, 0o755)
	} else if err = os.MkdirAll(filepath.Dir(target), 0o755); err == nil {
		var f *os.File
		if f, err = os.OpenFile(target, os.O_CREATE|os.O_RDONLY, 0o644); err == nil {
			f.Close()
		}
	}
	if err != nil {
		return err
	}
	if err := unix.Mount(src, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	if readOnly {
		return unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_REC, "")
	}
	return nil
}

// cpPath is a docker cp path made absolute, keeping a trailing "/" or
// "/.", which say "the directory's contents".
func cpPath(p string) string {
	abs := path.Join("/", p)
	switch {
	case strings.HasSuffix(p, "/."):
		return strings.TrimSuffix(abs, "/") + "/."
	case strings.HasSuffix(p, "/") && abs != "/":
		return abs + "/"
	}
	return abs
}

// statPath is the stat docker cp reads, of a path of the container's
// filesystem (inside inContainerFS): the entry itself, not what a last
// symbolic link names, and for a link its target with every link
// followed.
func statPath(p string) (container.PathStat, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return container.PathStat{}, errdefs.Kind(errdefs.ErrNotFound, fmt.Errorf("Could not find the file %s in container", p))
		}
		return container.PathStat{}, err
	}
	st := container.PathStat{Name: filepath.Base(p), Size: fi.Size(), Mode: fi.Mode(), Mtime: fi.ModTime()}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(p)
		if err != nil {
			target, _ = os.Readlink(p)
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(p), target)
			}
		}
		st.LinkTarget = target
	}
	return st, nil
}

// ContainerStatPath is HEAD /containers/{id}/archive.
func (e *Engine) ContainerStatPath(ref, p string) (container.PathStat, error) {
	c, err := e.Inspect(ref)
	if err != nil {
		return container.PathStat{}, err
	}
	var st container.PathStat
	err = e.inContainerFS(c, func() error {
		var err error
		st, err = statPath(cpPath(p))
		return err
	})
	return st, err
}

// ContainerArchive is GET /containers/{id}/archive: the path as a tar, a
// directory with its contents, named by the path's last element, as
// Docker's.
func (e *Engine) ContainerArchive(ref, p string, w io.Writer) error {
	c, err := e.Inspect(ref)
	if err != nil {
		return err
	}
	err = e.inContainerFS(c, func() error {
		abs := cpPath(p)
		st, err := statPath(abs)
		if err != nil {
			return err
		}
		if st.Mode.IsDir() {
			return archive.WriteTreeAs(w, abs, path.Base(abs))
		}
		return archive.WriteTreeAs(w, abs, "")
	})
	if err == nil {
		e.event("container", "archive-path", &c)
	}
	return err
}

// ContainerExtract is PUT /containers/{id}/archive: a tar extracted into
// a directory of the container's, which must exist, following a last
// symbolic link to it, as Docker's.
func (e *Engine) ContainerExtract(ref, p string, r io.Reader, o container.CopyToContainerOptions) error {
	c, err := e.Inspect(ref)
	if err != nil {
		return err
	}
	if c.HostConfig.ReadonlyRootfs {
		return errdefs.Kind(errdefs.ErrInvalid, errors.New("container rootfs is marked read-only"))
	}
	err = e.inContainerFS(c, func() error {
		dir, err := filepath.EvalSymlinks(path.Join("/", p))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return errdefs.Kind(errdefs.ErrNotFound, fmt.Errorf("Could not find the file %s in container %s", p, strings.TrimPrefix(c.Name, "/")))
			}
			return err
		}
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return errdefs.Kind(errdefs.ErrInvalid, errors.New("extraction point is not a directory"))
		}
		opts := archive.Options{NoOverwriteDirNonDir: !o.AllowOverwriteDirWithFile}
		if !o.CopyUIDGID {
			// As Docker: without -a the files belong to root.
			opts.Owner = &[2]int{0, 0}
		}
		_, err = archive.Extract(dir, r, opts)
		if errors.Is(err, unix.EROFS) {
			return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("%s is on a read-only filesystem of the container", p))
		}
		return err
	})
	if err == nil {
		e.event("container", "extract-to-dir", &c)
	}
	return err
}
