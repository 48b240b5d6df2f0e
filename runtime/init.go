package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"

	"github.com/opencontainers/selinux/go-selinux/label"
	"golang.org/x/sys/unix"
)

// InitArg is the first argument with which the runtime starts (the sealed
// copy of) the running binary as a container's first process; its main
// calls RunInit.
const InitArg = "__container"

// RunRole runs the runtime's part args[1] names, RunInit or RunExec, and
// never returns then; for any other args it returns at once. The main of
// every binary the runtime starts again (berth, and test binaries) calls
// it first.
func RunRole(args []string) {
	if len(args) < 2 {
		return
	}
	switch args[1] {
	case InitArg:
		RunInit()
	case ExecArg:
		RunExec()
	}
}

// RunInit is a container's first process. Started in new mount, PID,
// IPC, UTS and (unless the host's is shared) network namespaces, it reads
// its Spec from descriptor 3 and waits for a byte on descriptor 4 (sent
// once the network is attached); then, in this order, it:
//
//  1. sets its oom_score_adj;
//  2. makes every mount private and mounts the root device;
//  3. joins the container's cgroup (descriptor 5 is its cgroup.procs), from
//     now on under its device filter, and takes a new cgroup namespace;
//  4. mounts /proc, /dev (with its nodes), /dev/pts, /dev/shm, mqueue,
//     /sys and the cgroup filesystem, read-only where Docker's are;
//  5. binds the volumes and name files;
//  6. masks and write-protects Docker's paths in /proc and /sys;
//  7. pivot_root, and detaches the host's tree;
//  8. sets the hostname, finds the user, enters the working directory;
//  9. and finishes as every container process does (finish).
//
// It never returns: it execs the user's command, or exits with 125, 126
// or 127 and the reason on stderr (the container's log).
func RunInit() {
	goruntime.LockOSThread()
	spec, err := readSpec()
	if err == nil {
		err = setUp(spec)
	}
	if code, ok := reportToEngine(err); ok {
		// The engine has the reason: it answers the start with it, as
		// Docker's does, and the container's log stays clean.
		os.Exit(code)
	}
	exitWith(err)
}

// execNotifyFD is descriptor 6 of a container's first process: it closes
// when the program is executed; until then, the process writes there its
// status and the reason it could not run the program (Launch.Release).
const execNotifyFD = 6

// reportToEngine tells the engine, through execNotifyFD, why the program
// could not be run: its exit status, then the message.
func reportToEngine(err error) (int, bool) {
	code := ExitSetupFailed
	var c exitCode
	if errors.As(err, &c) {
		code = int(c)
	}
	_, werr := unix.Write(execNotifyFD, append([]byte{byte(code)}, err.Error()...))
	return code, werr == nil
}

// exitWith reports err and exits with its status.
func exitWith(err error) {
	fmt.Fprintf(os.Stderr, "berth: %v\n", err)
	var code exitCode
	if errors.As(err, &code) {
		os.Exit(int(code))
	}
	os.Exit(ExitSetupFailed)
}

type exitCode int

func (c exitCode) Error() string { return strconv.Itoa(int(c)) }

// codedError is an error with the exit status it ends the process with.
type codedError struct {
	code exitCode
	err  error
}

func (e codedError) Error() string      { return e.err.Error() }
func (e codedError) Unwrap() []error    { return []error{e.code, e.err} }
func coded(c int, err error) codedError { return codedError{exitCode(c), err} }

func readSpec() (*Spec, error) {
	specFile := os.NewFile(3, "spec")
	var spec Spec
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

func setUp(s *Spec) error {
	if err := setOOMScoreAdj(s.Process.OOMScoreAdj); err != nil {
		return err
	}
	last := lastCap() // from the host's /proc, before it goes
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make mounts private: %w", err)
	}
	root := s.Root.MountPoint
	if err := unix.Mount(s.Root.Device, root, "ext4", 0, label.FormatMountLabel("", s.Root.MountLabel)); err != nil {
		return fmt.Errorf("mount the container's root %s: %w", s.Root.Device, err)
	}
	if err := joinCgroup(os.NewFile(5, "cgroup.procs")); err != nil {
		return err
	}
	if err := mountSystem(root, s.Devices, s.Privileged, s.Root.MountLabel); err != nil {
		return err
	}
	for _, m := range s.Mounts {
		if err := bindInto(root, m, s.Root.MountLabel); err != nil {
			return err
		}
	}
	if s.Init != "" {
		if err := copyInit(s.Init, filepath.Join(root, InitPath)); err != nil {
			return err
		}
	}
	if !s.Privileged {
		if err := maskPaths(root, s.MaskedPaths, s.ReadonlyPaths); err != nil {
			return err
		}
	}
	if err := pivotRoot(root); err != nil {
		return err
	}
	if s.Root.ReadOnly {
		if err := unix.Mount("", "/", "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
			return fmt.Errorf("make the root read-only: %w", err)
		}
	}
	if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
		return fmt.Errorf("set hostname: %w", err)
	}
	cred, err := lookupUser(s.Process.User)
	if err != nil {
		return err
	}
	cwd := s.Process.Cwd
	if cwd == "" {
		cwd = "/"
	}
	// As Docker, a missing working directory is made.
	if err := os.MkdirAll(cwd, 0o755); err != nil {
		return fmt.Errorf("working directory %s: %w", cwd, err)
	}
	if err := os.Chdir(cwd); err != nil {
		return fmt.Errorf("working directory %s: %w", cwd, err)
	}
	argv0, err := lookPath(s.Process.Args[0], s.Process.Env)
	if err != nil {
		return err
	}
	if err := finish(s.Process, cred, last); err != nil {
		return err
	}
	return execve(argv0, s.Process.Args, withDefaults(s.Process.Env, s.Hostname, cred.home))
}

// finish is the end of every container process, first or exec'd, on the
// calling (locked) thread, in runc's order: the SELinux label for the
// next exec; the seccomp filter now if no_new_privs is off (installing it
// then needs CAP_SYS_ADMIN, which is about to go); the capabilities and
// the user; no_new_privs; every descriptor above stdio marked
// close-on-exec; the seccomp filter last, so that as little as possible
// runs under it before the exec.
func finish(p Process, cred credentials, last int) error {
	prog, flags, err := CompileSeccomp(p.Seccomp)
	if err != nil {
		return err
	}
	if p.Label != "" {
		if err := setExecLabel(p.Label); err != nil {
			return err
		}
	}
	if !p.NoNewPrivileges {
		if err := loadSeccomp(prog, flags); err != nil {
			return err
		}
	}
	if err := setRlimits(p.Rlimits); err != nil {
		return err
	}
	if err := dropPrivileges(cred, p.Capabilities, last); err != nil {
		return err
	}
	if p.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("no_new_privs: %w", err)
		}
	}
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("mark descriptors close-on-exec: %w", err)
	}
	if p.NoNewPrivileges {
		return loadSeccomp(prog, flags)
	}
	return nil
}

// execve replaces the process with the container's program. It returns
// only with an error that carries Docker's status: 127 for no such
// command, 126 for one that cannot run.
func execve(argv0 string, args, env []string) error {
	err := unix.Exec(argv0, args, env)
	if errors.Is(err, unix.ENOENT) {
		return coded(ExitNotFound, fmt.Errorf("exec %s: %w", args[0], err))
	}
	return coded(ExitNotRunnable, fmt.Errorf("exec %s: %w", args[0], err))
}

// copyInit copies the host's init program into the container's /dev
// (a tmpfs of its own, labelled as the container's files): the container
// runs its own copy, never the host's file.
func copyInit(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("--init: %w", err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		return fmt.Errorf("--init: %w", err)
	}
	return nil
}

// joinCgroup moves the process into the cgroup whose cgroup.procs is
// procs, and gives it a cgroup namespace rooted there.
func joinCgroup(procs *os.File) error {
	_, err := procs.WriteString("0")
	procs.Close()
	if err != nil {
		return fmt.Errorf("join the container's cgroup: %w", err)
	}
	if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
		return fmt.Errorf("new cgroup namespace: %w", err)
	}
	return nil
}

// setOOMScoreAdj sets the calling process's OOM score adjustment.
func setOOMScoreAdj(v int) error {
	if err := os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(v)), 0); err != nil {
		return fmt.Errorf("oom_score_adj: %w", err)
	}
	return nil
}
