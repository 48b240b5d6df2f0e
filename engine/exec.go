package engine

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stringid"

	"berth/api"
	"berth/errdefs"
	"berth/runtime"
)

// ErrNoSuchExec is returned for an exec id the engine does not know.
var ErrNoSuchExec = errdefs.Kind(errdefs.ErrNotFound, errors.New("No such exec instance"))

// execRun is a command made by ExecCreate, run by ExecStart.
type execRun struct {
	mu      sync.Mutex
	opts    container.ExecOptions
	inspect api.ExecInspect
	started bool
	size    Winsize
	pty     *os.File
}

// ExecCreate records a command to run in a running container, as docker
// exec does before it starts it.
func (e *Engine) ExecCreate(ref string, o container.ExecOptions) (string, error) {
	en, err := e.find(ref)
	if err != nil {
		return "", err
	}
	if len(o.Cmd) == 0 {
		return "", errdefs.Kind(errdefs.ErrInvalid, errors.New("No exec command specified"))
	}
	if _, err := api.DetachKeys(o.DetachKeys); err != nil {
		return "", err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := en.c
	switch {
	case !c.State.Running:
		return "", errdefs.Kind(errdefs.ErrConflict, fmt.Errorf("Container %s is not running", c.Id))
	case c.State.Paused:
		return "", errdefs.Kind(errdefs.ErrConflict, fmt.Errorf("Container %s is paused, unpause the container before exec", c.Id))
	}
	id := stringid.GenerateRandomID()
	x := &execRun{opts: o}
	if o.ConsoleSize != nil {
		x.size = Winsize{Height: uint16(o.ConsoleSize[0]), Width: uint16(o.ConsoleSize[1])}
	}
	priv := o.Privileged
	x.inspect = api.ExecInspect{ID: id, ContainerID: c.Id, OpenStdin: o.AttachStdin, OpenStdout: o.AttachStdout,
		OpenStderr: o.AttachStderr, CanRemove: false, DetachKeys: []byte(o.DetachKeys),
		ProcessConfig: &api.ExecProcessConfig{Tty: o.Tty, Entrypoint: o.Cmd[0], Arguments: append([]string{}, o.Cmd[1:]...),
			Privileged: &priv, User: o.User}}
	if e.execs == nil {
		e.execs = map[string]*execRun{}
	}
	e.execs[id] = x
	e.event("container", "exec_create: "+joinArgs(o.Cmd), c, "execID", id)
	return id, nil
}

func (e *Engine) execByID(id string) (*execRun, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.execs[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoSuchExec, id)
	}
	return x, nil
}

// ExecInspect returns the state of an exec instance.
func (e *Engine) ExecInspect(id string) (api.ExecInspect, error) {
	x, err := e.execByID(id)
	if err != nil {
		return api.ExecInspect{}, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	out := x.inspect
	if out.ExitCode != nil {
		code := *out.ExitCode
		out.ExitCode = &code
	}
	return out, nil
}

// ExecResize sets the size of an exec instance's terminal.
func (e *Engine) ExecResize(id string, o container.ResizeOptions) error {
	x, err := e.execByID(id)
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.size = Winsize{Height: uint16(o.Height), Width: uint16(o.Width)}
	if x.pty != nil {
		return setWinsize(x.pty, x.size)
	}
	return nil
}

// ExecStart runs the command in the container's namespaces and cgroup,
// as its user (or the exec's), with its capabilities (all of them with
// --privileged) and its SELinux label. With conn (nil when detached) it
// streams the command's terminal, or its stdout and stderr framed as
// Docker's multiplexed stream, and feeds in to its stdin; it returns when
// the command has ended and its output is all sent, or the client typed
// the detach keys.
func (e *Engine) ExecStart(id string, conn io.Writer, in io.Reader) (err error) {
	x, err := e.execByID(id)
	if err != nil {
		return err
	}
	x.mu.Lock()
	if x.started {
		x.mu.Unlock()
		return errdefs.Kind(errdefs.ErrConflict, fmt.Errorf("exec %s has already run", id))
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
	o := x.opts
	x.mu.Unlock()
	en, err := e.find(x.inspect.ContainerID)
	if err != nil {
		return err
	}
	e.mu.Lock()
	c := *en.c
	e.mu.Unlock()
	if !c.State.Running {
		return errdefs.Kind(errdefs.ErrConflict, fmt.Errorf("Container %s is not running", c.Id))
	}
	workdir, user := c.Config.WorkingDir, c.Config.User
	if o.WorkingDir != "" {
		workdir = o.WorkingDir
	}
	if o.User != "" {
		user = o.User
	}
	env := runtime.MergeEnv(e.runEnv(&c), o.Env)
	if o.Tty {
		env = runtime.MergeEnv(env, []string{"TERM=xterm"})
	}
	proc, err := e.processAs(&c, o.Cmd, env, workdir, user, c.HostConfig.Privileged || o.Privileged)
	if err != nil {
		return err
	}
	spec := &runtime.ExecSpec{Pid: c.State.Pid, Process: proc}
	keys, _ := api.DetachKeys(o.DetachKeys)

	var stdio runtime.Stdio
	var copiers sync.WaitGroup
	var closeAfter []*os.File
	detached := make(chan struct{})
	attached := conn != nil
	switch {
	case attached && o.Tty:
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
		copiers.Go(func() { io.Copy(conn, master) })
		if o.AttachStdin && in != nil {
			go func() {
				if api.CopyInput(master, in, keys) {
					close(detached)
				}
			}()
		}
	case attached:
		for _, s := range []struct {
			want   bool
			stream byte
			set    func(*os.File)
		}{{o.AttachStdout, api.StreamStdout, func(f *os.File) { stdio.Stdout = f }}, {o.AttachStderr, api.StreamStderr, func(f *os.File) { stdio.Stderr = f }}} {
			if !s.want {
				continue
			}
			r, w, err := os.Pipe()
			if err != nil {
				return err
			}
			s.set(w)
			closeAfter = append(closeAfter, w)
			copiers.Go(func() { defer r.Close(); io.Copy(api.FrameWriter{W: conn, Stream: s.stream}, r) })
		}
		if o.AttachStdin && in != nil {
			r, w, err := os.Pipe()
			if err != nil {
				return err
			}
			stdio.Stdin = r
			closeAfter = append(closeAfter, r)
			go func() { io.Copy(w, in); w.Close() }()
		}
	}
	launch, err := e.opts.Runtime.NewExec(c.Id, spec, stdio)
	if err != nil {
		for _, f := range closeAfter {
			f.Close()
		}
		return fmt.Errorf("engine: exec in %s: %w", stringid.TruncateID(c.Id), err)
	}
	defer launch.Close()
	pid, exited, err := e.startInside(en, launch)
	for _, f := range closeAfter {
		f.Close()
	}
	if err == nil {
		err = launch.Started()
	}
	if err != nil {
		return fmt.Errorf("engine: exec in %s: %w", stringid.TruncateID(c.Id), err)
	}
	x.mu.Lock()
	x.inspect.Running, x.inspect.Pid = true, pid
	x.mu.Unlock()
	e.event("container", "exec_start: "+joinArgs(o.Cmd), &c, "execID", id)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		ws := <-exited
		code := exitCode(ws)
		x.mu.Lock()
		x.inspect.Running, x.inspect.ExitCode, x.inspect.Pid = false, &code, 0
		x.mu.Unlock()
		e.event("container", "exec_die", &c, "execID", id, "exitCode", fmt.Sprint(code))
	}()
	if !attached {
		return nil
	}
	select {
	case <-finished:
		copiers.Wait()
	case <-detached:
	}
	return nil
}
