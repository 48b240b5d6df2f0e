package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// movedRootEnv marks the second start of /init, after the move.
const movedRootEnv = "BERTH_ROOT=tmpfs"

// newRoot is where the tmpfs root is assembled.
const newRoot = "/.root"

// moveRoot moves the system out of the initramfs into a tmpfs and starts
// /init again there. Container runtimes need pivot_root(2), and it fails
// with EINVAL when the caller's root is the initramfs itself (rootfs cannot
// be pivoted away), so this comes before anything else, as in LinuxKit's
// init. Files are moved, not copied: each is deleted from the initramfs as
// soon as its copy is written, so memory use does not double.
//
// On failure the system boots on from the initramfs and says why; only
// containers will be unable to start.
func moveRoot() {
	for _, e := range os.Environ() {
		if e == movedRootEnv {
			os.Unsetenv("BERTH_ROOT")
			return
		}
	}
	if err := moveRootToTmpfs(); err != nil {
		fmt.Fprintf(os.Stdout, "berth: move root to tmpfs FAILED: %v; containers will not be able to start\n", err)
		return
	}
	env := append(os.Environ(), movedRootEnv)
	err := syscall.Exec("/init", os.Args, env)
	fmt.Fprintf(os.Stdout, "berth: re-exec /init after moving the root FAILED: %v\n", err)
}

// The tmpfs is mounted with the source name "root": tools such as busybox
// df skip mounts named rootfs, taking them for the hidden initramfs.
func moveRootToTmpfs() error {
	if err := os.Mkdir(newRoot, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("root", newRoot, "tmpfs", 0, "mode=0755"); err != nil {
		return fmt.Errorf("mount tmpfs: %w", err)
	}
	if err := moveTree("/", newRoot); err != nil {
		return err
	}
	if err := os.Chdir(newRoot); err != nil {
		return err
	}
	if err := unix.Mount(".", "/", "", unix.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move tmpfs to /: %w", err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot: %w", err)
	}
	return os.Chdir("/")
}

// moveTree moves every entry under src (but dst itself) into dst.
func moveTree(src, dst string) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return err
	}
	for _, e := range entries {
		from := filepath.Join(src, e.Name())
		if from == newRoot {
			continue
		}
		to := filepath.Join(dst, e.Name())
		if err := moveEntry(from, to, e); err != nil {
			return fmt.Errorf("move %s: %w", from, err)
		}
	}
	return nil
}

func moveEntry(from, to string, e fs.DirEntry) error {
	info, err := e.Info()
	if err != nil {
		return err
	}
	st := info.Sys().(*syscall.Stat_t)
	switch {
	case info.IsDir():
		if err := os.Mkdir(to, info.Mode().Perm()|info.Mode()&fs.ModeSticky); err != nil {
			return err
		}
		if err := os.Chmod(to, info.Mode().Perm()|info.Mode()&fs.ModeSticky); err != nil {
			return err
		}
		if err := moveTree(from, to); err != nil {
			return err
		}
	case info.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(from)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, to); err != nil {
			return err
		}
	case info.Mode().IsRegular():
		if err := copyRegular(from, to, info.Mode().Perm()); err != nil {
			return err
		}
	default: // device nodes
		if err := unix.Mknod(to, st.Mode, int(st.Rdev)); err != nil {
			return err
		}
	}
	if err := os.Lchown(to, int(st.Uid), int(st.Gid)); err != nil {
		return err
	}
	return os.Remove(from)
}

func copyRegular(from, to string, perm fs.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
