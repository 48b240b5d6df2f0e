package archive

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

	"github.com/docker/docker/api/types/container"
	"golang.org/x/sys/unix"
)

// WalkDiff walks what turns the tree lower into the tree upper, as
// Docker's naive diff compares them: each entry of upper that is new
// (added) or differs by type, mode, owner, size, modification time, device
// number or link target (modified), then each entry of lower that upper no
// longer has (deleted; a deleted directory once, not its contents). p is
// the entry's path in upper, or in lower for a deletion. Paths in skipNew
// are left out when lower lacks them: what the runtime made in a
// container's root (mount points, the name files).
func WalkDiff(lower, upper string, skipNew map[string]bool, use func(kind container.ChangeType, rel, p string, fi os.FileInfo) error) error {
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
		kind := container.ChangeAdd
		if li, err := os.Lstat(filepath.Join(lower, rel)); err == nil {
			if sameEntry(fi, li, p, filepath.Join(lower, rel)) {
				return nil
			}
			kind = container.ChangeModify
		} else if skipNew[rel] {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		return use(kind, filepath.ToSlash(rel), p, fi)
	})
	if err != nil {
		return fmt.Errorf("diff: %w", err)
	}
	err = filepath.WalkDir(lower, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(lower, p)
		if rel == "." {
			return nil
		}
		if _, err := os.Lstat(filepath.Join(upper, rel)); os.IsNotExist(err) {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if err := use(container.ChangeDelete, filepath.ToSlash(rel), p, fi); err != nil {
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
	return nil
}

// WriteDiff writes to w the layer tar that turns the tree lower into the
// tree upper (WalkDiff): new and changed entries, and a whiteout for each
// deleted one.
func WriteDiff(w io.Writer, lower, upper string, skipNew map[string]bool) error {
	tw := newTarWriter(w)
	err := WalkDiff(lower, upper, skipNew, func(kind container.ChangeType, rel, p string, fi os.FileInfo) error {
		if kind == container.ChangeDelete {
			dir, base := path.Split(rel)
			return tw.tw.WriteHeader(&tar.Header{Name: dir + whiteoutPrefix + base, Typeflag: tar.TypeReg, Mode: 0o600, ModTime: time.Unix(0, 0)})
		}
		return tw.entry(p, rel, fi)
	})
	if err != nil {
		return err
	}
	return tw.close()
}

// tarWriter writes files as tar entries; a further name of a hard linked
// file becomes a link to the first.
type tarWriter struct {
	tw    *tar.Writer
	links map[[2]uint64]string // device and inode → the first name written
}

func newTarWriter(w io.Writer) *tarWriter {
	return &tarWriter{tw: tar.NewWriter(w), links: map[[2]uint64]string{}}
}

// entry writes the file at p, whose Lstat is fi, as name.
func (t *tarWriter) entry(p, name string, fi os.FileInfo) error {
	return WriteEntry(t.tw, p, name, fi, t.links, false)
}

func (t *tarWriter) close() error { return t.tw.Close() }

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
func WriteTree(w io.Writer, root string) error {
	tw := newTarWriter(w)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		return tw.entry(p, filepath.ToSlash(rel), fi)
	})
	if err != nil {
		return fmt.Errorf("archive %s: %w", root, err)
	}
	return tw.close()
}

// WriteEntry writes the file, directory, link or device node at p as
// name, with its mode, times, extended attributes and owner (root with
// rootOwned, as COPY makes them); a further name of a hard linked file
// becomes a link to the first.
func WriteEntry(tw *tar.Writer, p, name string, fi os.FileInfo, links map[[2]uint64]string, rootOwned bool) error {
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
	return CopyFile(tw, p)
}

// CopyFile copies the contents of the file at p to w.
func CopyFile(w io.Writer, p string) error {
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

// WriteTreeAs writes the file or directory at p as a tar whose entries
// are named under name (a directory) or, when name is "", the file alone
// under its own name.
func WriteTreeAs(w io.Writer, p, name string) error {
	tw := newTarWriter(w)
	if name == "" {
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		if err := tw.entry(p, path.Base(p), fi); err != nil {
			return err
		}
		return tw.close()
	}
	err := filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(p, q)
		fi, err := os.Lstat(q)
		if err != nil {
			return err
		}
		return tw.entry(q, path.Join(name, filepath.ToSlash(rel)), fi)
	})
	if err != nil {
		return err
	}
	return tw.close()
}
