// Package archive reads and writes the tar archives containers and images
// are made of: it applies an image layer onto a directory (whiteouts
// delete), extracts a plain archive (a build context, docker cp's input:
// a .wh. name is a file like another), and writes a tree, a file or the
// difference between two trees (docker diff, commit, a build's RUN) as a
// tar. Every path is resolved beneath the root it writes to. The design
// is in docs/design.md.
package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"time"

	"berth/errdefs"

	"golang.org/x/sys/unix"
)

// Whiteout names of the OCI and Docker layer formats.
const (
	whiteoutPrefix = ".wh."
	opaqueWhiteout = ".wh..wh..opq"
)

// ApplyLayer extracts the uncompressed layer tar r onto the directory
// root, as one layer of an image: Whiteouts delete what lower layers had,
// an opaque whiteout empties its directory of lower layers' entries, and
// hard links, symlinks, device nodes, ownership, modes, times and xattrs
// are kept.
//
// Every path is resolved with openat2(RESOLVE_BENEATH): an entry, a hard
// link or a write through a symbolic link that would leave root is refused
// with an error naming the entry. The caller applies layers onto a fresh
// snapshot and deletes it on error, so nothing half-written remains.
func ApplyLayer(root string, r io.Reader) (int64, error) {
	return Extract(root, r, Options{Whiteouts: true})
}

// ExtractTar extracts a plain tar r onto root: a build context, a
// volume's seed. It is ApplyLayer without layers' Whiteouts: a file named
// .wh.x is a file like another.
func ExtractTar(root string, r io.Reader) (int64, error) {
	return Extract(root, r, Options{})
}

// Options say how a tar is extracted.
type Options struct {
	Whiteouts bool // a layer's: .wh. names delete
	// NoOverwriteDirNonDir refuses an entry that would put a file where a
	// directory is, or a directory where a file is (docker cp's default).
	NoOverwriteDirNonDir bool
	Owner                *[2]int // every entry's uid and gid, instead of its own
}

func Extract(root string, r io.Reader, o Options) (int64, error) {
	rootFD, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("layer: open %s: %w", root, err)
	}
	defer unix.Close(rootFD)
	x := &extractor{root: rootFD, created: map[string]bool{}, Options: o}
	tr := tar.NewReader(r)
	var size int64
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return size, fmt.Errorf("layer: read tar: %w", err)
		}
		if o.Owner != nil {
			hdr.Uid, hdr.Gid = o.Owner[0], o.Owner[1]
		}
		n, err := x.entry(hdr, tr)
		if err != nil {
			return size, fmt.Errorf("layer: entry %q: %w", hdr.Name, err)
		}
		size += n
	}
	return size, x.finishDirs()
}

type extractor struct {
	Options
	root    int
	created map[string]bool // paths this layer made: an opaque whiteout keeps them
	dirs    []*tar.Header   // directory times are set last
}

// errEscape is the error of an entry that would leave the root.
var errEscape = errors.New("it would escape the image's root; the layer is refused")

// CleanName turns a tar name into a path relative to the root, refusing
// names that climb out of it.
func CleanName(name string) (string, error) {
	p := path.Clean(strings.TrimLeft(name, "/"))
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", errEscape
	}
	return p, nil
}

// openBeneath opens the directory rel below the root, refusing any
// resolution (a "..", an absolute or climbing symlink) that leaves it.
func (x *extractor) openBeneath(rel string) (int, error) {
	if rel == "" || rel == "." {
		return unix.FcntlInt(uintptr(x.root), unix.F_DUPFD_CLOEXEC, 0)
	}
	fd, err := unix.Openat2(x.root, rel, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err == unix.EXDEV {
		return -1, errEscape
	}
	return fd, err
}

// parent opens the parent directory of rel, making missing directories.
func (x *extractor) parent(rel string) (int, string, error) {
	dir, base := path.Split(rel)
	dir = strings.TrimSuffix(dir, "/")
	fd, err := x.openBeneath(dir)
	if err == unix.ENOENT {
		if err := x.mkdirAll(dir); err != nil {
			return -1, "", err
		}
		fd, err = x.openBeneath(dir)
	}
	return fd, base, err
}

func (x *extractor) mkdirAll(rel string) error {
	if rel == "" || rel == "." {
		return nil
	}
	if fd, err := x.openBeneath(rel); err == nil {
		unix.Close(fd)
		return nil
	} else if err != unix.ENOENT {
		return err
	}
	if err := x.mkdirAll(path.Dir(rel)); err != nil {
		return err
	}
	pfd, base, err := x.parent(rel)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	if err := unix.Mkdirat(pfd, base, 0o755); err != nil && err != unix.EEXIST {
		return err
	}
	x.created[rel] = true
	return nil
}

func (x *extractor) entry(hdr *tar.Header, r io.Reader) (int64, error) {
	rel, err := CleanName(hdr.Name)
	if err != nil {
		return 0, err
	}
	if rel == "." {
		return 0, nil
	}
	dir, base := path.Split(rel)
	if x.Whiteouts && base == opaqueWhiteout {
		return 0, x.opaque(strings.TrimSuffix(dir, "/"))
	}
	if x.Whiteouts && strings.HasPrefix(base, whiteoutPrefix) {
		victim := path.Join(dir, strings.TrimPrefix(base, whiteoutPrefix))
		pfd, name, err := x.parent(victim)
		if err != nil {
			return 0, err
		}
		defer unix.Close(pfd)
		return 0, removeAllAt(pfd, name)
	}

	pfd, name, err := x.parent(rel)
	if err != nil {
		return 0, err
	}
	defer unix.Close(pfd)
	// An entry replaces what is there, except a directory over a directory.
	var st unix.Stat_t
	if unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
		isDir := st.Mode&unix.S_IFMT == unix.S_IFDIR
		if x.NoOverwriteDirNonDir && isDir != (hdr.Typeflag == tar.TypeDir) {
			if isDir {
				return 0, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("cannot overwrite directory %q with non-directory", "/"+rel))
			}
			return 0, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("cannot overwrite non-directory %q with directory", "/"+rel))
		}
		if !(hdr.Typeflag == tar.TypeDir && isDir) {
			if err := removeAllAt(pfd, name); err != nil {
				return 0, err
			}
		}
	}
	x.created[rel] = true
	mode := uint32(hdr.Mode & 0o7777)
	var n int64
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := unix.Mkdirat(pfd, name, 0o700); err != nil && err != unix.EEXIST {
			return 0, err
		}
		x.dirs = append(x.dirs, hdr)
	case tar.TypeReg, tar.TypeRegA:
		fd, err := unix.Openat(pfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return 0, err
		}
		f := os.NewFile(uintptr(fd), rel)
		n, err = io.Copy(f, r)
		f.Close()
		if err != nil {
			return n, err
		}
	case tar.TypeSymlink:
		if err := unix.Symlinkat(hdr.Linkname, pfd, name); err != nil {
			return 0, err
		}
	case tar.TypeLink:
		target, err := CleanName(hdr.Linkname)
		if err != nil {
			return 0, fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
		}
		tfd, tname, err := x.parent(target)
		if err != nil {
			return 0, fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
		}
		err = unix.Linkat(tfd, tname, pfd, name, 0)
		unix.Close(tfd)
		if err != nil {
			return 0, fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
		}
		return 0, nil // a hard link shares its target's owner, mode and times
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		kind := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}[hdr.Typeflag]
		dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		if err := unix.Mknodat(pfd, name, kind|mode, int(dev)); err != nil {
			return 0, err
		}
	default:
		return 0, nil // tar extensions (global headers and the like) carry no file
	}
	return n, setAttributes(pfd, name, hdr)
}

// setAttributes gives a new entry the owner, mode, xattrs and times of its
// header, without following a symbolic link.
func setAttributes(pfd int, name string, hdr *tar.Header) error {
	if err := unix.Fchownat(pfd, name, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	if hdr.Typeflag != tar.TypeSymlink {
		if err := unix.Fchmodat(pfd, name, uint32(hdr.Mode&0o7777), 0); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	procPath := fmt.Sprintf("/proc/self/fd/%d/%s", pfd, name)
	for key, value := range hdr.PAXRecords {
		if attr, ok := strings.CutPrefix(key, "SCHILY.xattr."); ok && attr != selinuxXattr {
			if err := unix.Lsetxattr(procPath, attr, []byte(value), 0); err != nil && err != unix.ENOTSUP {
				return fmt.Errorf("xattr %s: %w", attr, err)
			}
		}
	}
	mtime := hdr.ModTime
	if mtime.IsZero() {
		mtime = time.Unix(0, 0)
	}
	ts := []unix.Timespec{unix.NsecToTimespec(mtime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	if err := unix.UtimesNanoAt(pfd, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("times: %w", err)
	}
	return nil
}

// opaque empties directory dir of what lower layers put in it.
func (x *extractor) opaque(dir string) error {
	fd, err := x.openBeneath(dir)
	if err == unix.ENOENT {
		return x.mkdirAll(dir)
	}
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	names, err := readDirNames(fd)
	if err != nil {
		return err
	}
	for _, n := range names {
		if x.created[path.Join(dir, n)] {
			continue
		}
		if err := removeAllAt(fd, n); err != nil {
			return err
		}
	}
	return nil
}

// finishDirs sets directory attributes after their contents are written.
func (x *extractor) finishDirs() error {
	for i := len(x.dirs) - 1; i >= 0; i-- {
		hdr := x.dirs[i]
		rel, _ := CleanName(hdr.Name)
		pfd, name, err := x.parent(rel)
		if err != nil {
			return fmt.Errorf("layer: directory %q: %w", hdr.Name, err)
		}
		err = setAttributes(pfd, name, hdr)
		unix.Close(pfd)
		if err != nil {
			return fmt.Errorf("layer: directory %q: %w", hdr.Name, err)
		}
	}
	return nil
}

func readDirNames(dirFD int) ([]string, error) {
	fd, err := unix.Openat(dirFD, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), ".")
	defer f.Close()
	return f.Readdirnames(-1)
}

// removeAllAt removes name in the directory dirFD and, for a directory,
// everything below it, never following a symbolic link.
func removeAllAt(dirFD int, name string) error {
	err := unix.Unlinkat(dirFD, name, 0)
	if err == nil || err == unix.ENOENT {
		return nil
	}
	if err != unix.EISDIR && err != unix.EPERM {
		return err
	}
	sub, err := unix.Openat(dirFD, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	names, err := readDirNames(sub)
	if err == nil {
		for _, n := range names {
			if err = removeAllAt(sub, n); err != nil {
				break
			}
		}
	}
	unix.Close(sub)
	if err != nil {
		return err
	}
	return unix.Unlinkat(dirFD, name, unix.AT_REMOVEDIR)
}
