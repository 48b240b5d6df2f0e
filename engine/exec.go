package engine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"berth/runtime"
)

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
			code := runtime.ExitSetupFailed
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
	workdir, user := c.Config.WorkingDir, c.Config.User
	if cfg.WorkingDir != "" {
		workdir = cfg.WorkingDir
	}
	if cfg.User != "" {
		user = cfg.User
	}
	env := mergeEnv(e.runEnv(&c), cfg.Env)
	if cfg.Tty {
		env = mergeEnv(env, []string{"TERM=xterm"})
	}
	proc, err := e.process(&c, cfg.Cmd, env, workdir, user)
	if err != nil {
		return err
	}
	spec := &runtime.ExecSpec{Pid: c.State.Pid, Process: proc}

	var stdio runtime.Stdio
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
		stdio = runtime.Stdio{Stdin: slave, Stdout: slave, Stderr: slave, Terminal: true}
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
		}{{cfg.AttachStdout, streamStdout, func(f *os.File) { stdio.Stdout = f }}, {cfg.AttachStderr, streamStderr, func(f *os.File) { stdio.Stderr = f }}} {
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
			stdio.Stdin = r
			closeAfter = append(closeAfter, r)
			go func() { io.Copy(w, input); w.Close() }()
		}
	}
	launch, err := e.opts.Runtime.NewExec(c.Id, spec, stdio)
	if err != nil {
		for _, f := range closeAfter {
			f.Close()
		}
		return fmt.Errorf("engine: exec in %s: %w", ShortID(c.Id), err)
	}
	defer launch.Close()
	pid, exited, err := e.opts.Reaper.Start(launch.Cmd)
	for _, f := range closeAfter {
		f.Close()
	}
	if err == nil {
		err = launch.Started()
	}
	if err != nil {
		return fmt.Errorf("engine: exec in %s: %w", ShortID(c.Id), err)
	}
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
