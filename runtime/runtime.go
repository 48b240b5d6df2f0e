package runtime

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// Runtime starts containers' processes: each from a sealed copy of the
// running binary, inside its container's cgroup, which the runtime makes
// too, under one parent cgroup for all containers.
type Runtime struct {
	exe     *os.File // the sealed copy
	cgroups *cgroupTree
}

// Config is how a runtime is set up.
type Config struct {
	// CgroupParent is the cgroup every container's lives in, relative to
	// /sys/fs/cgroup ("/berth").
	CgroupParent string
	// MemoryMax caps the memory of all containers together (memory.max of
	// CgroupParent), to keep a reserve for the host; 0 is no cap.
	MemoryMax int64
}

// New seals a copy of the running binary and sets up the parent cgroup.
func New(cfg Config) (*Runtime, error) {
	cg, err := newCgroupTree(cfg.CgroupParent, cfg.MemoryMax)
	if err != nil {
		return nil, err
	}
	exe, err := sealedSelf()
	if err != nil {
		return nil, err
	}
	return &Runtime{exe: exe, cgroups: cg}, nil
}

// Close lets go of the sealed binary.
func (r *Runtime) Close() error { return r.exe.Close() }

// exePath names the sealed binary for exec: it is resolved in the new
// process, which inherits the descriptor (close-on-exec closes it only
// once the exec has opened the file).
func (r *Runtime) exePath() string { return fmt.Sprintf("/proc/self/fd/%d", r.exe.Fd()) }

// Stdio are a process's standard streams; nil is /dev/null.
type Stdio struct {
	Stdin, Stdout, Stderr *os.File
	// Terminal makes stdin the process's controlling terminal.
	Terminal bool
}

// Launch is a runtime process: made, then started by the caller (Cmd,
// through its reaper), then told its spec (Started) and, for a container's
// first process, let go (Release) once the caller has attached its
// network.
type Launch struct {
	Cmd       *exec.Cmd
	spec      any
	childEnds []*os.File // the process's ends and the cgroup: closed once it started
	specW     *os.File
	syncW     *os.File
	// execR reads nothing: it ends when the held process has executed its
	// program (close-on-exec closes the other end) or has died.
	execR *os.File
}

// NewInit makes the first process of container s.ID, whose cgroup
// (CreateCgroup) must exist. The process is not born in its cgroup: the
// cgroup's device filter would keep it from mounting its own root device.
// It mounts the root first, then joins the cgroup through descriptor 5
// (cgroup.procs) and takes a cgroup namespace of its own there. Its
// descriptor 6 is open until it executes its program: Release waits for
// that, so that nothing (an exec, say) meets a container half set up.
func (r *Runtime) NewInit(s *Spec, stdio Stdio) (*Launch, error) {
	flags := unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS
	if !s.HostNetwork {
		flags |= unix.CLONE_NEWNET
	}
	l, err := r.newLaunch(s.ID, InitArg, s, stdio, uintptr(flags), true)
	if err != nil {
		return nil, err
	}
	procs, err := os.OpenFile(filepath.Join(r.cgroups.path(s.ID), "cgroup.procs"), os.O_WRONLY, 0)
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("runtime: cgroup of %s: %w", s.ID, err)
	}
	execR, execW, err := os.Pipe()
	if err != nil {
		procs.Close()
		l.Close()
		return nil, err
	}
	l.childEnds = append(l.childEnds, procs, execW)
	l.execR = execR
	l.Cmd.ExtraFiles = append(l.Cmd.ExtraFiles, procs, execW)
	l.Cmd.SysProcAttr.UseCgroupFD = false
	l.Cmd.SysProcAttr.Setctty = stdio.Terminal
	return l, nil
}

// NewExec makes the exec helper that runs s.Process in container id.
func (r *Runtime) NewExec(id string, s *ExecSpec, stdio Stdio) (*Launch, error) {
	s.Terminal = stdio.Terminal
	return r.newLaunch(id, ExecArg, s, stdio, 0, false)
}

func (r *Runtime) newLaunch(id, arg string, spec any, stdio Stdio, cloneflags uintptr, held bool) (*Launch, error) {
	cg, err := os.Open(r.cgroups.path(id))
	if err != nil {
		return nil, fmt.Errorf("runtime: cgroup of %s: %w", id, err)
	}
	l := &Launch{spec: spec, childEnds: []*os.File{cg}}
	specR, specW, err := os.Pipe()
	if err != nil {
		l.Close()
		return nil, err
	}
	l.childEnds, l.specW = append(l.childEnds, specR), specW
	extra := []*os.File{specR}
	if held {
		syncR, syncW, err := os.Pipe()
		if err != nil {
			l.Close()
			return nil, err
		}
		l.childEnds, l.syncW = append(l.childEnds, syncR), syncW
		extra = append(extra, syncR)
	}
	l.Cmd = &exec.Cmd{Path: r.exePath(), Args: []string{"berth", arg}, Env: []string{}, ExtraFiles: extra,
		SysProcAttr: &syscall.SysProcAttr{Cloneflags: cloneflags, UseCgroupFD: true, CgroupFD: int(cg.Fd()), Setsid: true}}
	// An untyped nil, not a nil *os.File: os/exec reads that as "none".
	if stdio.Stdin != nil {
		l.Cmd.Stdin = stdio.Stdin
	}
	if stdio.Stdout != nil {
		l.Cmd.Stdout = stdio.Stdout
	}
	if stdio.Stderr != nil {
		l.Cmd.Stderr = stdio.Stderr
	}
	return l, nil
}

// Started tells the started process its spec and closes the caller's
// copies of the process's ends.
func (l *Launch) Started() error {
	for _, f := range l.childEnds {
		f.Close()
	}
	l.childEnds = nil
	err := json.NewEncoder(l.specW).Encode(l.spec)
	l.specW.Close()
	l.specW = nil
	if err != nil {
		return fmt.Errorf("runtime: send the spec: %w", err)
	}
	return nil
}

// Release lets a container's first process go on, and returns once it
// has executed its program, or a StartError when it could not.
func (l *Launch) Release() error {
	if l.syncW == nil {
		return nil
	}
	_, err := l.syncW.Write([]byte{1})
	l.syncW.Close()
	l.syncW = nil
	if err != nil {
		return fmt.Errorf("runtime: release the container's process: %w", err)
	}
	if l.execR != nil {
		b, _ := io.ReadAll(io.LimitReader(l.execR, 64<<10))
		l.execR.Close()
		l.execR = nil
		if len(b) > 0 {
			return &StartError{Code: int(b[0]), Message: string(b[1:])}
		}
	}
	return nil
}

// StartError is why a container's first process did not run its program:
// the status it exits with (125, 126 or 127) and the reason, as Docker's
// runtime reports a failed start.
type StartError struct {
	Code    int
	Message string
}

func (e *StartError) Error() string { return e.Message }

// Close releases what the launch still holds; a held process that was
// never released ends with an error of its own.
func (l *Launch) Close() {
	for _, f := range append(l.childEnds, l.specW, l.syncW, l.execR) {
		if f != nil {
			f.Close()
		}
	}
	l.childEnds, l.specW, l.syncW, l.execR = nil, nil, nil, nil
}
