package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// ExecArg is the first argument with which the engine re-executes
// /proc/self/exe to run a command in a running container (docker exec).
const ExecArg = "__exec"

// ExecConfig is the body of POST /containers/{id}/exec, as Docker's.
type ExecConfig struct {
	AttachStdin  bool
	AttachStdout bool
	AttachStderr bool
	Tty          bool
	Detach       bool
	Env          []string
	User         string
	WorkingDir   string
	Cmd          []string
}

// ExecInspect is what GET /exec/{id}/json answers.
type ExecInspect struct {
	ID            string
	ContainerID   string
	Running       bool
	ExitCode      *int
	Pid           int
	OpenStdin     bool
	ProcessConfig struct {
		Entrypoint string
		Arguments  []string
		Tty        bool
		User       string
	}
}

// execRun is a command made by ExecCreate, run by ExecStart.
type execRun struct {
	mu      sync.Mutex
	config  ExecConfig
	inspect ExecInspect
	started bool
	size    Winsize
	pty     *os.File
}

// execSpec is what the engine tells the exec helper on descriptor 3.
type execSpec struct {
	Pid          int // the container's first process, in the host's PID namespace
	Args         []string
	Env          []string
	Workdir      string
	User         string
	Caps         []string
	ProcessLabel string
}

// ExecCreate records a command to run in a running container.
func (e *Engine) ExecCreate(ref string, cfg ExecConfig) (string, error) {
	en, err := e.find(ref)
	if err != nil {
		return "", err
	}
	if len(cfg.Cmd) == 0 {
		return "", errors.New("no command given: berth exec CONTAINER COMMAND [ARG...]")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !en.c.State.Running {
		return "", fmt.Errorf("%w: container %s is not running", ErrConflict, ShortID(en.c.Id))
	}
	id := newID()
	x := &execRun{config: cfg}
	x.inspect.ID, x.inspect.ContainerID, x.inspect.OpenStdin = id, en.c.Id, cfg.AttachStdin
	x.inspect.ProcessConfig.Entrypoint, x.inspect.ProcessConfig.Arguments = cfg.Cmd[0], cfg.Cmd[1:]
	x.inspect.ProcessConfig.Tty, x.inspect.ProcessConfig.User = cfg.Tty, cfg.User
	if e.execs == nil {
		e.execs = map[string]*execRun{}
	}
	e.execs[id] = x
	return id, nil
}

func (e *Engine) execByID(id string) (*execRun, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.execs[id]
	if !ok {
		return nil, fmt.Errorf("%w: no such exec instance: %s", ErrNotFound, id)
	}
	return x, nil
}

// ExecInspect returns the state of an exec instance.
func (e *Engine) ExecInspect(id string) (ExecInspect, error) {
	x, err := e.execByID(id)
	if err != nil {
		return ExecInspect{}, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.inspect, nil
}

// ExecResize sets the size of an exec instance's terminal.
func (e *Engine) ExecResize(id string, size Winsize) error {
	x, err := e.execByID(id)
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.size = size
	if x.pty != nil {
		return setWinsize(x.pty, size)
	}
	return nil
}

// ExecStart runs the command in the container's namespaces and cgroup,
// as its user, with its capabilities. With conn (nil when detached) it
// streams the command's terminal, or its stdout and stderr framed as
// Docker's multiplexed stream, and feeds input to its stdin; it returns
// when the command has ended and its output is all sent.
func (e *Engine) ExecStart(id string, conn io.Writer, input io.Reader) (err error) {
	x, err := e.execByID(id)
	if err != nil {
		return err
	}
	x.mu.Lock()
	if x.started {
		x.mu.Unlock()
		return fmt.Errorf("%w: exec %s has already run", ErrConflict, ShortID(id))
	}
	x.started = true
	defer func() {
		x.mu.Lock()
		if err != nil && x.inspect.ExitCode == nil {
			code := ExitEngineError
			x.inspect.ExitCode = &code
		}
		x.mu.Unlock()
	}()
	cfg := x.config
	x.mu.Unlock()
	c, err := e.Inspect(x.inspect.ContainerID)
	if err != nil {
		return err
	}
	if !c.State.Running {
		return fmt.Errorf("%w: container %s is not running", ErrConflict, ShortID(c.Id))
	}
	caps, _ := Caps(c.HostConfig.CapAdd, c.HostConfig.CapDrop)
	spec := execSpec{Pid: c.State.Pid, Args: cfg.Cmd, Env: mergeEnv(e.runEnv(&c), cfg.Env), Workdir: c.Config.WorkingDir,
		User: c.Config.User, Caps: caps, ProcessLabel: c.ProcessLabel}
	if cfg.WorkingDir != "" {
		spec.Workdir = cfg.WorkingDir
	}
	if cfg.User != "" {
		spec.User = cfg.User
	}
	if cfg.Tty {
		spec.Env = mergeEnv(spec.Env, []string{"TERM=xterm"})
	}

	// What can fail before the command's streams exist comes first: a
	// failure after them would leave their copiers waiting.
	cgDir, err := os.Open(filepath.Join(cgroupParent, c.Id))
	if err != nil {
		return fmt.Errorf("engine: exec: %w", err)
	}
	defer cgDir.Close()
	specR, specW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer specR.Close()
	defer specW.Close()

	cmd := exec.Command("/proc/self/exe", ExecArg)
	var copiers sync.WaitGroup
	var closeAfter []*os.File
	attached := conn != nil && !cfg.Detach
	switch {
	case attached && cfg.Tty:
		x.mu.Lock()
		master, slave, err := openPty(x.size)
		x.pty = master
		x.mu.Unlock()
		if err != nil {
			return err
		}
		defer master.Close()
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		closeAfter = append(closeAfter, slave)
		copiers.Add(1)
		go func() { defer copiers.Done(); io.Copy(conn, master) }()
		if input != nil {
			go io.Copy(master, input)
		}
	case attached:
		for _, s := range []struct {
			want   bool
			stream byte
			set    func(*os.File)
		}{{cfg.AttachStdout, streamStdout, func(f *os.File) { cmd.Stdout = f }}, {cfg.AttachStderr, streamStderr, func(f *os.File) { cmd.Stderr = f }}} {
			if !s.want {
				continue
			}
			r, w, err := os.Pipe()
			if err != nil {
				return err
			}
			s.set(w)
			closeAfter = append(closeAfter, w)
			copiers.Add(1)
			go func() { defer copiers.Done(); defer r.Close(); io.Copy(frameWriter{conn, s.stream}, r) }()
		}
		if cfg.AttachStdin && input != nil {
			r, w, err := os.Pipe()
			if err != nil {
				return err
			}
			cmd.Stdin = r
			closeAfter = append(closeAfter, r)
			go func() { io.Copy(w, input); w.Close() }()
		}
	}
	cmd.ExtraFiles = []*os.File{specR}
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cgDir.Fd()), Setsid: true,
		Setctty: attached && cfg.Tty, Ctty: 0}
	pid, exited, err := e.startInPIDNamespace(cmd, c.State.Pid)
	specR.Close()
	for _, f := range closeAfter {
		f.Close()
	}
	if err != nil {
		return fmt.Errorf("engine: exec in %s: %w", ShortID(c.Id), err)
	}
	json.NewEncoder(specW).Encode(spec)
	specW.Close()
	x.mu.Lock()
	x.inspect.Running, x.inspect.Pid = true, pid
	x.mu.Unlock()
	finish := func() {
		ws := <-exited
		code := ws.ExitStatus()
		if ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		x.mu.Lock()
		x.inspect.Running, x.inspect.ExitCode = false, &code
		x.mu.Unlock()
	}
	if !attached {
		go finish()
		return nil
	}
	finish()
	copiers.Wait()
	return nil
}

// startInPIDNamespace starts cmd as a child in the PID namespace of
// process pid: a thread of the engine enters it (for its children only,
// as setns does for PID namespaces), forks, and then ends, so that no
// other goroutine ever runs on it.
func (e *Engine) startInPIDNamespace(cmd *exec.Cmd, pid int) (int, <-chan unix.WaitStatus, error) {
	type result struct {
		pid    int
		exited <-chan unix.WaitStatus
		err    error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/pid", pid))
		if err != nil {
			ch <- result{err: err}
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWPID); err != nil {
			ch <- result{err: fmt.Errorf("enter the PID namespace: %w", err)}
			return
		}
		p, exited, err := e.opts.Reaper.Start(cmd)
		ch <- result{p, exited, err}
	}()
	r := <-ch
	return r.pid, r.exited, r.err
}

// RunExec is the exec helper. Started by the engine inside the
// container's PID namespace and cgroup, it enters the container's other
// namespaces, mount namespace last (which needs a thread with a
// filesystem context of its own), then takes the container's user,
// capabilities and SELinux label and execs the command. It never returns.
func RunExec() {
	runtime.LockOSThread()
	// Nothing in the container may read this process's memory or files
	// while it still has the host's privileges.
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	err := enterAndExec()
	fmt.Fprintf(os.Stderr, "berth: exec: %v\n", err)
	var code exitCode
	if errors.As(err, &code) {
		os.Exit(int(code))
	}
	os.Exit(ExitEngineError)
}

func enterAndExec() error {
	f := os.NewFile(3, "spec")
	var s execSpec
	if err := json.NewDecoder(f).Decode(&s); err != nil {
		return fmt.Errorf("read the exec spec: %w", err)
	}
	f.Close()
	kinds := []struct {
		name string
		flag int
	}{{"ipc", unix.CLONE_NEWIPC}, {"uts", unix.CLONE_NEWUTS}, {"net", unix.CLONE_NEWNET}, {"cgroup", unix.CLONE_NEWCGROUP}, {"mnt", unix.CLONE_NEWNS}}
	fds := make([]int, len(kinds))
	for i, k := range kinds {
		fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/%s", s.Pid, k.name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("the container's %s namespace: %w", k.name, err)
		}
		fds[i] = fd
	}
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("unshare the filesystem context: %w", err)
	}
	for i, k := range kinds {
		if err := unix.Setns(fds[i], k.flag); err != nil {
			return fmt.Errorf("enter the container's %s namespace: %w", k.name, err)
		}
		unix.Close(fds[i])
	}
	cred, err := lookupUser(s.User)
	if err != nil {
		return err
	}
	hostname, _ := os.Hostname()
	env := withDefaults(s.Env, hostname, cred.home)
	dir := s.Workdir
	if dir == "" {
		dir = "/"
	}
	if err := unix.Chdir(dir); err != nil {
		return fmt.Errorf("working directory %s: %w", dir, err)
	}
	return execAs(cred, s.Caps, s.ProcessLabel, s.Args, env)
}
