package engine

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/opencontainers/selinux/go-selinux"
	"github.com/opencontainers/selinux/go-selinux/label"
	"golang.org/x/sys/unix"
)

// ChildArg is the first argument with which the engine re-executes
// /proc/self/exe as a container's first process.
const ChildArg = "__container"

// Exit statuses of a container that berth could not start, as Docker's.
const (
	ExitEngineError = 125 // berth failed to set the container up
	ExitNotRunnable = 126 // the command exists but cannot be run
	ExitNotFound    = 127 // no such command
)

// childSpec is what the engine tells the container's first process,
// through file descriptor 3; it then waits for a byte on descriptor 4,
// sent once the network is attached.
type childSpec struct {
	ID         string
	RootDevice string // the container's thin device, /dev/dm-N
	RootMount  string // an empty directory to mount it on (in the container's own mount namespace)
	Hostname   string
	Args       []string
	Env        []string
	Workdir    string
	User       string
	Binds      []bindMount
	ReadOnly   bool
	Caps       []string
	// SELinux labels; empty when SELinux is not enabled.
	ProcessLabel, MountLabel string
}

type bindMount struct {
	Source, Target string
	ReadOnly       bool
	File           bool // a file, not a directory (the name files)
}

// RunChild is the container's first process. It runs in new mount, PID,
// network, IPC, UTS and cgroup namespaces, inside the container's cgroup.
// It never returns: it execs the user's command or exits with 125, 126 or
// 127, the reason on stderr (the container's log).
func RunChild() {
	runtime.LockOSThread()
	spec, err := readChildSpec()
	if err == nil {
		err = setUpContainer(spec)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "berth: %v\n", err)
		var code exitCode
		if errors.As(err, &code) {
			os.Exit(int(code))
		}
		os.Exit(ExitEngineError)
	}
}

type exitCode int

func (c exitCode) Error() string { return strconv.Itoa(int(c)) }

// withCode attaches an exit status to an error.
type codedError struct {
	code exitCode
	err  error
}

func (e codedError) Error() string      { return e.err.Error() }
func (e codedError) Unwrap() []error    { return []error{e.code, e.err} }
func coded(c int, err error) codedError { return codedError{exitCode(c), err} }

func readChildSpec() (*childSpec, error) {
	specFile := os.NewFile(3, "spec")
	var spec childSpec
	if err := json.NewDecoder(specFile).Decode(&spec); err != nil {
		return nil, fmt.Errorf("read the container's spec: %w", err)
	}
	specFile.Close()
	sync := os.NewFile(4, "sync")
	b := make([]byte, 1)
	if n, _ := sync.Read(b); n != 1 {
		return nil, errors.New("the engine went away before the container was ready")
	}
	sync.Close()
	return &spec, nil
}

func setUpContainer(s *childSpec) error {
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	root := s.RootMount
	if err := unix.Mount(s.RootDevice, root, "ext4", 0, label.FormatMountLabel("", s.MountLabel)); err != nil {
		return fmt.Errorf("mount the container's root %s: %w", s.RootDevice, err)
	}
	if err := mountSystem(root); err != nil {
		return err
	}
	for _, b := range s.Binds {
		if err := bindInto(root, b); err != nil {
			return err
		}
	}
	if err := maskProc(root); err != nil {
		return err
	}
	if err := pivotRoot(root); err != nil {
		return err
	}
	if s.ReadOnly {
		if err := unix.Mount("", "/", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("make the root read-only: %w", err)
		}
	}
	if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
		return fmt.Errorf("set hostname: %w", err)
	}
	cred, err := lookupUser(s.User)
	if err != nil {
		return err
	}
	env := withDefaults(s.Env, s.Hostname, cred.home)
	if s.Workdir != "" {
		if err := os.MkdirAll(s.Workdir, 0o755); err != nil {
			return fmt.Errorf("working directory %s: %w", s.Workdir, err)
		}
		if err := os.Chdir(s.Workdir); err != nil {
			return fmt.Errorf("working directory %s: %w", s.Workdir, err)
		}
	} else if err := os.Chdir("/"); err != nil {
		return err
	}
	return execAs(cred, s.Caps, s.ProcessLabel, s.Args, env)
}

// execAs finds args[0] in the container's PATH, takes the SELinux label,
// the user and capabilities, and execs it: the last step of a container's
// first process and of an exec helper. It returns only with an error that
// carries Docker's exit status: 127 for no such command, 126 for one that
// cannot run.
func execAs(cred credentials, caps []string, processLabel string, args, env []string) error {
	argv0, err := lookPath(args[0], env)
	if err != nil {
		return err
	}
	if processLabel != "" {
		if err := selinux.SetExecLabel(processLabel); err != nil {
			return fmt.Errorf("SELinux label %s: %w", processLabel, err)
		}
	}
	if err := dropPrivileges(cred, caps); err != nil {
		return err
	}
	err = unix.Exec(argv0, args, env)
	if errors.Is(err, unix.ENOENT) {
		return coded(ExitNotFound, fmt.Errorf("exec %s: %w", args[0], err))
	}
	return coded(ExitNotRunnable, fmt.Errorf("exec %s: %w", args[0], err))
}

// systemMount is one of the filesystems every container gets.
type systemMount struct {
	source, target, fstype string
	flags                  uintptr
	data                   string
}

var containerMounts = []systemMount{
	{"proc", "proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
	{"tmpfs", "dev", "tmpfs", unix.MS_NOSUID | unix.MS_STRICTATIME, "mode=755,size=65536k"},
	{"devpts", "dev/pts", "devpts", unix.MS_NOSUID | unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5"},
	{"shm", "dev/shm", "tmpfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, "mode=1777,size=65536k"},
	{"mqueue", "dev/mqueue", "mqueue", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC, ""},
	{"sysfs", "sys", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY, ""},
	{"cgroup", "sys/fs/cgroup", "cgroup2", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY, ""},
}

// containerDevices are the device nodes of a container's /dev.
var containerDevices = []struct {
	name         string
	major, minor uint32
}{{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}}

func mountSystem(root string) error {
	for _, m := range containerMounts {
		target := filepath.Join(root, m.target)
		if err := os.MkdirAll(target, 0o755); err != nil {
			return fmt.Errorf("make %s: %w", m.target, err)
		}
		if err := unix.Mount(m.source, target, m.fstype, m.flags, m.data); err != nil {
			return fmt.Errorf("mount %s on /%s: %w", m.fstype, m.target, err)
		}
		if m.target == "dev" {
			for _, d := range containerDevices {
				p := filepath.Join(target, d.name)
				if err := unix.Mknod(p, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor))); err != nil {
					return fmt.Errorf("make /dev/%s: %w", d.name, err)
				}
				unix.Chmod(p, 0o666)
			}
			for link, to := range map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
				"stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx", "core": "/proc/kcore"} {
				if err := os.Symlink(to, filepath.Join(target, link)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// maskedPaths are hidden from containers, as Docker hides them.
var maskedPaths = []string{"proc/kcore", "proc/keys", "proc/latency_stats", "proc/timer_list", "proc/timer_stats",
	"proc/sched_debug", "proc/scsi", "proc/acpi", "sys/firmware"}

// readonlyPaths are read-only in containers.
var readonlyPaths = []string{"proc/asound", "proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger"}

func maskProc(root string) error {
	for _, p := range maskedPaths {
		target := filepath.Join(root, p)
		fi, err := os.Stat(target)
		if err != nil {
			continue
		}
		if fi.IsDir() {
			err = unix.Mount("tmpfs", target, "tmpfs", unix.MS_RDONLY, "size=0")
		} else {
			err = unix.Mount("/dev/null", target, "", unix.MS_BIND, "")
		}
		if err != nil {
			return fmt.Errorf("mask /%s: %w", p, err)
		}
	}
	for _, p := range readonlyPaths {
		target := filepath.Join(root, p)
		if _, err := os.Stat(target); err != nil {
			continue
		}
		if err := unix.Mount(target, target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("read-only /%s: %w", p, err)
		}
		if err := unix.Mount("", target, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("read-only /%s: %w", p, err)
		}
	}
	return nil
}

// bindInto bind-mounts b.Source onto b.Target inside root. The target is
// made, and resolved, beneath root: a symlink in the image cannot send a
// volume elsewhere.
func bindInto(root string, b bindMount) error {
	rootFD, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(rootFD)
	x := &extractor{root: rootFD, created: map[string]bool{}}
	rel := strings.TrimPrefix(path.Clean(b.Target), "/")
	if b.File {
		pfd, name, err := x.parent(rel)
		if err != nil {
			return fmt.Errorf("mount %s on %s: %w", b.Source, b.Target, err)
		}
		fd, err := unix.Openat(pfd, name, unix.O_CREAT|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
		unix.Close(pfd)
		if err != nil && err != unix.EISDIR {
			return fmt.Errorf("mount %s on %s: %w", b.Source, b.Target, err)
		}
		if err == nil {
			unix.Close(fd)
		}
	} else if err := x.mkdirAll(rel); err != nil {
		return fmt.Errorf("volume %s: %w", b.Target, err)
	}
	open := func() (int, error) {
		return unix.Openat2(rootFD, rel, &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS})
	}
	fd, err := open()
	if err != nil {
		return fmt.Errorf("volume %s: %w", b.Target, err)
	}
	err = unix.Mount(b.Source, fmt.Sprintf("/proc/self/fd/%d", fd), "", unix.MS_BIND|unix.MS_REC, "")
	unix.Close(fd)
	if err != nil {
		return fmt.Errorf("mount %s on %s: %w (does %s exist on the host?)", b.Source, b.Target, err, b.Source)
	}
	if !b.ReadOnly {
		return nil
	}
	// The old descriptor names the directory under the new mount; the
	// remount needs the mount itself.
	if fd, err = open(); err != nil {
		return fmt.Errorf("volume %s: %w", b.Target, err)
	}
	defer unix.Close(fd)
	if err := unix.Mount("", fmt.Sprintf("/proc/self/fd/%d", fd), "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		return fmt.Errorf("make %s read-only: %w", b.Target, err)
	}
	return nil
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

// credentials of the container's process.
type credentials struct {
	uid, gid uint32
	groups   []uint32
	home     string
}

// lookupUser resolves user[:group] (names or numbers) against the
// container's /etc/passwd and /etc/group, as docker run -u does.
func lookupUser(spec string) (credentials, error) {
	c := credentials{home: "/root"}
	if spec == "" {
		return c, nil
	}
	user, group, hasGroup := strings.Cut(spec, ":")
	passwd := readColonFile("/etc/passwd")
	found := false
	for _, f := range passwd {
		if len(f) >= 6 && (f[0] == user || f[2] == user) {
			uid, _ := strconv.ParseUint(f[2], 10, 32)
			gid, _ := strconv.ParseUint(f[3], 10, 32)
			c.uid, c.gid, c.home, found = uint32(uid), uint32(gid), f[5], true
			break
		}
	}
	if !found {
		uid, err := strconv.ParseUint(user, 10, 32)
		if err != nil {
			return c, fmt.Errorf("no user %q in the container's /etc/passwd", user)
		}
		c.uid, c.gid, c.home = uint32(uid), uint32(uid), "/"
	}
	groups := readColonFile("/etc/group")
	if hasGroup {
		gfound := false
		for _, f := range groups {
			if len(f) >= 3 && (f[0] == group || f[2] == group) {
				gid, _ := strconv.ParseUint(f[2], 10, 32)
				c.gid, gfound = uint32(gid), true
			}
		}
		if !gfound {
			gid, err := strconv.ParseUint(group, 10, 32)
			if err != nil {
				return c, fmt.Errorf("no group %q in the container's /etc/group", group)
			}
			c.gid = uint32(gid)
		}
	}
	for _, f := range groups {
		if len(f) >= 4 {
			for _, member := range strings.Split(f[3], ",") {
				if member != "" && member == user {
					gid, _ := strconv.ParseUint(f[2], 10, 32)
					c.groups = append(c.groups, uint32(gid))
				}
			}
		}
	}
	return c, nil
}

func readColonFile(path string) [][]string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, strings.Split(sc.Text(), ":"))
	}
	return out
}

// withDefaults adds PATH, HOSTNAME and HOME unless the container sets them.
func withDefaults(env []string, hostname, home string) []string {
	has := map[string]bool{}
	for _, e := range env {
		k, _, _ := strings.Cut(e, "=")
		has[k] = true
	}
	out := append([]string(nil), env...)
	for _, kv := range []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME=" + hostname, "HOME=" + home} {
		k, _, _ := strings.Cut(kv, "=")
		if !has[k] {
			out = append(out, kv)
		}
	}
	return out
}

// lookPath finds the command in the container's PATH.
func lookPath(cmd string, env []string) (string, error) {
	if strings.Contains(cmd, "/") {
		if _, err := os.Stat(cmd); err != nil {
			return "", coded(ExitNotFound, fmt.Errorf("exec %s: %w", cmd, err))
		}
		return cmd, nil
	}
	pathVar := ""
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			pathVar = v
		}
	}
	for _, dir := range filepath.SplitList(pathVar) {
		p := filepath.Join(dir, cmd)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", coded(ExitNotFound, fmt.Errorf("exec %s: executable file not found in $PATH", cmd))
}
