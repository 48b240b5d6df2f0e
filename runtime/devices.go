package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// Device is a device node in a container's /dev, and what the container
// may do with it.
type Device struct {
	Path         string // inside the container, /dev/...
	Type         byte   // 'c' or 'b'
	Major, Minor int64
	Mode         os.FileMode // permission bits
	UID, GID     uint32
	// Access is the cgroup permission: some of r (read), w (write), m (mknod).
	Access string
}

// defaultDevices are the nodes of every container's /dev, as Docker's.
var defaultDevices = []Device{
	{Path: "/dev/null", Type: 'c', Major: 1, Minor: 3, Mode: 0o666, Access: "rwm"},
	{Path: "/dev/zero", Type: 'c', Major: 1, Minor: 5, Mode: 0o666, Access: "rwm"},
	{Path: "/dev/full", Type: 'c', Major: 1, Minor: 7, Mode: 0o666, Access: "rwm"},
	{Path: "/dev/random", Type: 'c', Major: 1, Minor: 8, Mode: 0o666, Access: "rwm"},
	{Path: "/dev/urandom", Type: 'c', Major: 1, Minor: 9, Mode: 0o666, Access: "rwm"},
	{Path: "/dev/tty", Type: 'c', Major: 5, Minor: 0, Mode: 0o666, Access: "rwm"},
}

// devicesAllowed are what the cgroup lets a default container use beyond
// its nodes, as runc's defaults: any node may be made (mknod, "m"), but
// opened only if it is one of these: the console, /dev/ptmx and the
// terminals of its own devpts.
var devicesAllowed = []specs.LinuxDeviceCgroup{
	{Allow: true, Type: "c", Major: wildcard(), Minor: wildcard(), Access: "m"},
	{Allow: true, Type: "b", Major: wildcard(), Minor: wildcard(), Access: "m"},
	{Allow: true, Type: "c", Major: num(5), Minor: num(1), Access: "rwm"},       // /dev/console
	{Allow: true, Type: "c", Major: num(5), Minor: num(2), Access: "rwm"},       // /dev/ptmx
	{Allow: true, Type: "c", Major: num(136), Minor: wildcard(), Access: "rwm"}, // /dev/pts/*
}

func wildcard() *int64   { v := int64(-1); return &v }
func num(n int64) *int64 { return &n }

// ErrDevice is returned for a --device that cannot be given.
var ErrDevice = errors.New("device")

// DeviceRules is the cgroup device filter of a container: deny all, then
// allow the default nodes, what devicesAllowed names and extra; with
// privileged, everything.
func DeviceRules(extra []Device, privileged bool) []specs.LinuxDeviceCgroup {
	if privileged {
		return []specs.LinuxDeviceCgroup{{Allow: true, Type: "a", Major: wildcard(), Minor: wildcard(), Access: "rwm"}}
	}
	rules := []specs.LinuxDeviceCgroup{{Allow: false, Type: "a", Major: wildcard(), Minor: wildcard(), Access: "rwm"}}
	rules = append(rules, devicesAllowed...)
	for _, d := range append(append([]Device(nil), defaultDevices...), extra...) {
		rules = append(rules, specs.LinuxDeviceCgroup{Allow: true, Type: string(d.Type), Major: num(d.Major), Minor: num(d.Minor), Access: d.Access})
	}
	return rules
}

// HostDevice describes the host's device node hostPath for --device
// HOST[:CONTAINER][:PERMISSIONS]; ctrPath "" means the same path, access
// "" means rwm.
func HostDevice(hostPath, ctrPath, access string) (Device, error) {
	var st unix.Stat_t
	if err := unix.Stat(hostPath, &st); err != nil {
		return Device{}, fmt.Errorf("%w %s: %w", ErrDevice, hostPath, err)
	}
	d := Device{Path: ctrPath, Major: int64(unix.Major(st.Rdev)), Minor: int64(unix.Minor(st.Rdev)),
		Mode: os.FileMode(st.Mode & 0o777), UID: st.Uid, GID: st.Gid, Access: access}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		d.Type = 'c'
	case unix.S_IFBLK:
		d.Type = 'b'
	default:
		return Device{}, fmt.Errorf("%w %s: not a device node", ErrDevice, hostPath)
	}
	if d.Path == "" {
		d.Path = hostPath
	}
	if !strings.HasPrefix(filepath.Clean(d.Path), "/dev/") {
		return Device{}, fmt.Errorf("%w %s: the path in the container must be under /dev", ErrDevice, d.Path)
	}
	if d.Access == "" {
		d.Access = "rwm"
	}
	if strings.Trim(d.Access, "rwm") != "" {
		return Device{}, fmt.Errorf("%w %s: permissions %q: use some of r, w and m", ErrDevice, hostPath, d.Access)
	}
	return d, nil
}

// HostDevices lists every device node of the host's /dev, as a privileged
// container gets them (Docker's list: not the terminals of /dev/pts, nor
// the console).
func HostDevices() ([]Device, error) {
	var out []Device
	err := filepath.WalkDir("/dev", func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if e.IsDir() {
			switch e.Name() {
			case "pts", "shm", "fd", "mqueue", "hugepages":
				return filepath.SkipDir
			}
			return nil
		}
		if e.Type()&(fs.ModeDevice|fs.ModeCharDevice) == 0 || p == "/dev/console" {
			return nil
		}
		if d, err := HostDevice(p, p, "rwm"); err == nil {
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

// makeDevices makes the device nodes in the container's /dev (at dev, before
// pivot_root).
func makeDevices(dev string, devices []Device) error {
	for _, d := range devices {
		p := filepath.Join(dev, strings.TrimPrefix(filepath.Clean(d.Path), "/dev/"))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("make %s: %w", d.Path, err)
		}
		mode := uint32(d.Mode.Perm())
		if d.Type == 'b' {
			mode |= unix.S_IFBLK
		} else {
			mode |= unix.S_IFCHR
		}
		os.Remove(p) // a default node replaced by the user's
		if err := unix.Mknod(p, mode, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor)))); err != nil {
			return fmt.Errorf("make %s: %w", d.Path, err)
		}
		// mknod honours the umask; the mode is the device's own.
		if err := unix.Chmod(p, uint32(d.Mode.Perm())); err != nil {
			return fmt.Errorf("make %s: %w", d.Path, err)
		}
		if err := unix.Chown(p, int(d.UID), int(d.GID)); err != nil {
			return fmt.Errorf("make %s: %w", d.Path, err)
		}
	}
	return nil
}
