package runtime

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/opencontainers/selinux/go-selinux/label"
	"golang.org/x/sys/unix"
)

// Mount is a host path bound into the container, or a tmpfs.
type Mount struct {
	Source, Target string
	ReadOnly       bool
	File           bool // a file, not a directory (the name files)
	// Tmpfs mounts a tmpfs with these options (--tmpfs's: size=, mode=,
	// exec...) instead of binding Source.
	Tmpfs bool
	Data  string
}

// DefaultMaskedPaths are hidden from a container, as current Docker hides
// them: a file is covered with /dev/null, a directory with an empty
// read-only tmpfs.
var DefaultMaskedPaths = []string{"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys",
	"/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
	"/sys/firmware", "/sys/devices/virtual/powercap"}

// DefaultReadonlyPaths are read-only in a container, as in Docker.
var DefaultReadonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}

// systemMount is one of the filesystems every container gets.
type systemMount struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
	// writablePrivileged drops MS_RDONLY for a privileged container.
	writablePrivileged bool
}

var containerMounts = []systemMount{
	{"proc", "proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "", false},
	{"tmpfs", "dev", "tmpfs", unix.MS_NOSUID | unix.MS_STRICTATIME, "mode=755,size=65536k", false},
	{"devpts", "dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5", false},
	{"shm", "dev/shm", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "mode=1777,size=65536k", false},
	{"mqueue", "dev/mqueue", "mqueue", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "", false},
	{"sysfs", "sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY, "", true},
	{"cgroup", "sys/fs/cgroup", "cgroup2", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY, "", true},
}

// devLinks are the symbolic links of a container's /dev.
var devLinks = map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
	"stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx", "core": "/proc/kcore"}

// mountSystem mounts /proc, /dev and /sys into root, with the device
// nodes. Each target is resolved beneath root (os.Root): an image whose
// /proc or /dev is a symbolic link out of it is refused.
func mountSystem(root string, devices []Device, privileged bool, mountLabel string) error {
	r, err := os.OpenRoot(root)
	if err != nil {
		return err
	}
	defer r.Close()
	for _, m := range containerMounts {
		if err := r.MkdirAll(m.target, 0o755); err != nil {
			return fmt.Errorf("make /%s: %w", m.target, err)
		}
		flags := m.flags
		if privileged && m.writablePrivileged {
			flags &^= unix.MS_RDONLY
		}
		data := m.data
		if m.fstype == "tmpfs" || m.fstype == "devpts" {
			data = label.FormatMountLabel(data, mountLabel)
		}
		if err := mountBeneath(r, m.target, m.source, m.fstype, flags, data); err != nil {
			return fmt.Errorf("mount %s on /%s: %w", m.fstype, m.target, err)
		}
		if m.target != "dev" {
			continue
		}
		// /dev is the tmpfs just mounted: nothing of the image's is in it.
		target := filepath.Join(root, m.target)
		if err := makeDevices(target, append(append([]Device(nil), defaultDevices...), devices...)); err != nil {
			return err
		}
		for link, to := range devLinks {
			if err := os.Symlink(to, filepath.Join(target, link)); err != nil && !os.IsExist(err) {
				return fmt.Errorf("link /dev/%s: %w", link, err)
			}
		}
	}
	return nil
}

// mountBeneath mounts onto rel, resolved beneath r, through an O_PATH
// descriptor of the target: the path is not walked again.
func mountBeneath(r *os.Root, rel, source, fstype string, flags uintptr, data string) error {
	f, err := r.OpenFile(rel, unix.O_PATH, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Mount(source, fmt.Sprintf("/proc/self/fd/%d", f.Fd()), fstype, flags, data)
}

// maskPaths hides masked and makes readonly read-only, inside root; each
// path is resolved beneath it.
func maskPaths(root string, masked, readonly []string) error {
	r, err := os.OpenRoot(root)
	if err != nil {
		return err
	}
	defer r.Close()
	for _, p := range masked {
		rel := strings.TrimPrefix(path.Clean(p), "/")
		fi, err := r.Stat(rel)
		if err != nil {
			continue
		}
		if fi.IsDir() {
			err = mountBeneath(r, rel, "tmpfs", "tmpfs", unix.MS_RDONLY, "size=0")
		} else {
			err = mountBeneath(r, rel, "/dev/null", "", unix.MS_BIND, "")
		}
		if err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
	}
	for _, p := range readonly {
		rel := strings.TrimPrefix(path.Clean(p), "/")
		if _, err := r.Stat(rel); err != nil {
			continue
		}
		f, err := r.OpenFile(rel, unix.O_PATH, 0)
		if err != nil {
			return fmt.Errorf("read-only %s: %w", p, err)
		}
		target := fmt.Sprintf("/proc/self/fd/%d", f.Fd())
		err = unix.Mount(target, target, "", unix.MS_BIND|unix.MS_REC, "")
		f.Close()
		if err != nil {
			return fmt.Errorf("read-only %s: %w", p, err)
		}
		// A new descriptor: the old one names the directory under the bind.
		if err := mountBeneath(r, rel, "", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return fmt.Errorf("read-only %s: %w", p, err)
		}
	}
	return nil
}

// tmpfsFlags are the mount flags of --tmpfs options; the rest are the
// tmpfs's data.
var tmpfsFlags = map[string]struct {
	set   bool
	flags uintptr
}{"ro": {true, unix.MS_RDONLY}, "rw": {false, unix.MS_RDONLY}, "noexec": {true, unix.MS_NOEXEC}, "exec": {false, unix.MS_NOEXEC},
	"nosuid": {true, unix.MS_NOSUID}, "suid": {false, unix.MS_NOSUID}, "nodev": {true, unix.MS_NODEV}, "dev": {false, unix.MS_NODEV}}

// tmpfsOptions splits --tmpfs options into flags (noexec, nosuid and
// nodev by default, as Docker's) and data.
func tmpfsOptions(opts string) (uintptr, string) {
	flags := uintptr(unix.MS_NOEXEC | unix.MS_NOSUID | unix.MS_NODEV)
	var data []string
	for _, o := range strings.Split(opts, ",") {
		if f, ok := tmpfsFlags[o]; ok {
			if f.set {
				flags |= f.flags
			} else {
				flags &^= f.flags
			}
		} else if o != "" {
			data = append(data, o)
		}
	}
	return flags, strings.Join(data, ",")
}

// bindInto mounts m onto m.Target inside root: a bind of m.Source, or a
// tmpfs. The target is made, and resolved, beneath root (os.Root): a
// symbolic link in the image cannot send a volume elsewhere.
func bindInto(root string, m Mount, mountLabel string) error {
	r, err := os.OpenRoot(root)
	if err != nil {
		return err
	}
	defer r.Close()
	rel := strings.TrimPrefix(path.Clean(m.Target), "/")
	if m.File {
		if err := r.MkdirAll(path.Dir(rel), 0o755); err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.Source, m.Target, err)
		}
		f, err := r.OpenFile(rel, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil && !isDirError(err) {
			return fmt.Errorf("mount %s on %s: %w", m.Source, m.Target, err)
		}
		if err == nil {
			f.Close()
		}
	} else if err := r.MkdirAll(rel, 0o755); err != nil {
		return fmt.Errorf("volume %s: %w", m.Target, err)
	}
	onTarget := func(flags uintptr, source, fstype, data string) error {
		return mountBeneath(r, rel, source, fstype, flags, data)
	}
	if m.Tmpfs {
		flags, data := tmpfsOptions(m.Data)
		if err := onTarget(flags, "tmpfs", "tmpfs", label.FormatMountLabel(data, mountLabel)); err != nil {
			return fmt.Errorf("tmpfs on %s: %w", m.Target, err)
		}
		return nil
	}
	if err := onTarget(unix.MS_BIND|unix.MS_REC, m.Source, "", ""); err != nil {
		return fmt.Errorf("mount %s on %s: %w (does %s exist on the host?)", m.Source, m.Target, err, m.Source)
	}
	if !m.ReadOnly {
		return nil
	}
	// A new descriptor: the old one names the directory under the mount.
	if err := onTarget(unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, "", "", ""); err != nil {
		return fmt.Errorf("make %s read-only: %w", m.Target, err)
	}
	return nil
}

func isDirError(err error) bool {
	pe, ok := err.(*os.PathError)
	return ok && pe.Err == unix.EISDIR
}

// pivotRoot makes root the root, and lets go of the host's tree.
func pivotRoot(root string) error {
	if err := unix.Chdir(root); err != nil {
		return err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the host's root: %w", err)
	}
	return unix.Chdir("/")
}
