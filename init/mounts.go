package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"berth/runtime"
)

// mount is one filesystem PID 1 mounts at boot.
type mount struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
}

// systemMounts is the layout of a booted berth host, mounted in order.
var systemMounts = []mount{
	{"proc", "/proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
	{"sysfs", "/sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
	{"devtmpfs", "/dev", "devtmpfs", unix.MS_NOSUID, "mode=0755"},
	{"devpts", "/dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "mode=0620,ptmxmode=0666"},
	{"shm", "/dev/shm", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777"},
	{"tmpfs", "/run", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=0755"},
	{"tmpfs", "/tmp", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV, "mode=1777"},
	{"cgroup2", runtime.CgroupRoot, "cgroup2", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "nsdelegate"},
}

// devLinks are the /dev symlinks devtmpfs does not make.
var devLinks = map[string]string{
	"/dev/fd":     "/proc/self/fd",
	"/dev/stdin":  "/proc/self/fd/0",
	"/dev/stdout": "/proc/self/fd/1",
	"/dev/stderr": "/proc/self/fd/2",
}

// mountFilesystems mounts systemMounts. A filesystem already mounted at
// its target (PID 1 re-executes itself once its SELinux policy is
// loaded, and mounts again) is left as it is.
func mountFilesystems(*system) error {
	for _, m := range systemMounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			return fmt.Errorf("mount %s: %w", m.target, err)
		}
		if err := unix.Mount(m.source, m.target, m.fstype, m.flags, m.data); err != nil && err != unix.EBUSY {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.target, err)
		}
	}
	for link, target := range devLinks {
		if err := os.Symlink(target, link); err != nil && !os.IsExist(err) {
			return fmt.Errorf("link %s: %w", link, err)
		}
	}
	return nil
}

func enableControllers(*system) error {
	have, err := os.ReadFile(filepath.Join(runtime.CgroupRoot, "cgroup.controllers"))
	if err != nil {
		return fmt.Errorf("read cgroup controllers: %w", err)
	}
	available := map[string]bool{}
	for _, c := range strings.Fields(string(have)) {
		available[c] = true
	}
	var enable []string
	// The controllers the limits berth puts on containers need.
	for _, c := range runtime.CgroupControllers {
		if !available[c] {
			return fmt.Errorf("the kernel offers no %s cgroup controller (it has: %s)", c, strings.TrimSpace(string(have)))
		}
		enable = append(enable, "+"+c)
	}
	if err := os.WriteFile(filepath.Join(runtime.CgroupRoot, "cgroup.subtree_control"), []byte(strings.Join(enable, " ")), 0); err != nil {
		return fmt.Errorf("enable cgroup controllers %v: %w", enable, err)
	}
	return nil
}
