package engine

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// writeDiff writes to w the layer tar that turns the tree lower into the
// tree upper: what is new or changed in upper (by type, mode, owner, size,
// modification time, device number or link target, as Docker's naive diff
// compares), and a whiteout for what upper no longer has. With lower ""
// it writes all of upper: a flat root filesystem tar, as export does.
// Paths in skipNew are left out when lower lacks them: what the runtime
// made in a container's root (mount points, the name files).
func writeDiff(w io.Writer, lower, upper string, skipNew map[string]bool) error {
	tw := tar.NewWriter(w)
	links := map[[2]uint64]string{} // device and inode → the first name written
	err := filepath.WalkDir(upper, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(upper, p)
		if rel == "." {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if lower != "" {
			if li, err := os.Lstat(filepath.Join(lower, rel)); err == nil {
				if sameEntry(fi, li, p, filepath.Join(lower, rel)) {
					return nil
				}
			} else if skipNew[rel] {
				return nil
			}
		}
		return writeEntry(tw, p, filepath.ToSlash(rel), fi, links, false)
	})
	if err != nil {
		return fmt.Errorf("diff: %w", err)
	}
	if lower != "" {
		err = filepath.WalkDir(lower, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(lower, p)
			if rel == "." {
				return nil
			}
			if _, err := os.Lstat(filepath.Join(upper, rel)); os.IsNotExist(err) {
				dir, base := path.Split(filepath.ToSlash(rel))
				if err := tw.WriteHeader(&tar.Header{Name: dir + whiteoutPrefix + base, Typeflag: tar.TypeReg, Mode: 0o600, ModTime: time.Unix(0, 0)}); err != nil {
					return err
				}
				if d.IsDir() {
					return filepath.SkipDir
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("diff: %w", err)
		}
	}
	return tw.Close()
}

// sameEntry reports whether two entries are the same as far as a diff is
// concerned.
func sameEntry(a, b os.FileInfo, pa, pb string) bool {
	sa, sb := a.Sys().(*syscall.Stat_t), b.Sys().(*syscall.Stat_t)
	if a.Mode() != b.Mode() || sa.Uid != sb.Uid || sa.Gid != sb.Gid || sa.Rdev != sb.Rdev || !a.ModTime().Equal(b.ModTime()) {
		return false
	}
	switch {
	case a.IsDir():
		return true
	case a.Mode()&fs.ModeSymlink != 0:
		ta, _ := os.Readlink(pa)
		tb, _ := os.Readlink(pb)
		return ta == tb
	}
	return a.Size() == b.Size()
}

// WriteTree writes the tree at root as a tar archive: a build context,
// an exported root filesystem.
func WriteTree(w io.Writer, root string) error { return writeDiff(w, "", root, nil) }

// writeEntry writes the file, directory, link or device node at p as
// name, with its mode, times, extended attributes and owner (root with
// rootOwned, as COPY makes them); a further name of a hard linked file
// becomes a link to the first.
func writeEntry(tw *tar.Writer, p, name string, fi os.FileInfo, links map[[2]uint64]string, rootOwned bool) error {
	target := ""
	if fi.Mode()&fs.ModeSymlink != 0 {
		var err error
		if target, err = os.Readlink(p); err != nil {
			return err
		}
	}
	hdr, err := tar.FileInfoHeader(fi, target)
	if err != nil {
		return err
	}
	st := fi.Sys().(*syscall.Stat_t)
	hdr.Name = name
	if fi.IsDir() {
		hdr.Name += "/"
	}
	hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = int(st.Uid), int(st.Gid), "", ""
	if rootOwned {
		hdr.Uid, hdr.Gid = 0, 0
	}
	hdr.Format = tar.FormatPAX
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	if xattrs := readXattrs(p); len(xattrs) > 0 {
		hdr.PAXRecords = map[string]string{}
		for k, v := range xattrs {
			hdr.PAXRecords["SCHILY.xattr."+k] = v
		}
	}
	if fi.Mode().IsRegular() && st.Nlink > 1 {
		key := [2]uint64{st.Dev, st.Ino}
		if first, ok := links[key]; ok {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			return tw.WriteHeader(hdr)
		}
		links[key] = hdr.Name
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	return copyFileTo(tw, p)
}

// copyFileTo copies the contents of the file at p to w.
func copyFileTo(w io.Writer, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// selinuxXattr is the SELinux label of a file: the host's policy gives it,
// it is no part of an image (Docker leaves it out of layers too).
const selinuxXattr = "security.selinux"

// readXattrs returns the extended attributes of p, not following links,
// but its SELinux label.
func readXattrs(p string) map[string]string {
	size, err := unix.Llistxattr(p, nil)
	if err != nil || size <= 0 {
		return nil
	}
	buf := make([]byte, size)
	size, err = unix.Llistxattr(p, buf)
	if err != nil {
		return nil
	}
	out := map[string]string{}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:size]), "\x00"), "\x00") {
		if name == "" || name == selinuxXattr {
			continue
		}
		n, err := unix.Lgetxattr(p, name, nil)
		if err != nil || n < 0 {
			continue
		}
		v := make([]byte, n)
		if n, err = unix.Lgetxattr(p, name, v); err == nil {
			out[name] = string(v[:n])
		}
	}
	return out
}

// Export writes the container's root filesystem as a flat tar, as docker
// export does: what the container sees at /, without the filesystems
// mounted on it.
func (e *Engine) Export(ref string, w io.Writer) error {
	en, err := e.find(ref)
	if err != nil {
		return err
	}
	e.mu.Lock()
	id, running, mountLabel := en.c.Id, en.c.State.Running, en.c.MountLabel
	e.mu.Unlock()
	// A running container has its root mounted read-write, with its SELinux
	// label: a second mount must ask the same, or the kernel refuses it
	// (EBUSY). Nothing is written through it, and the device stays active.
	flags := uintptr(unix.MS_RDONLY)
	if !running {
		mountLabel = ""
	} else {
		flags = 0
	}
	dir, unmount, err := e.Images.mountLabelled(id, flags, !running, mountLabel)
	if err != nil {
		return err
	}
	defer unmount()
	return WriteTree(w, dir)
}
