package engine

import (
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"berth/api"
	"berth/errdefs"

	"github.com/docker/docker/api/types/container"
	"golang.org/x/sys/unix"
)

// attachment is a client attached to a container's streams, as docker
// attach and docker run in the foreground are.
type attachment struct {
	w              io.Writer // the client's connection
	stdout, stderr bool
	raw            bool          // plain bytes even without a terminal (build output)
	done           chan struct{} // closed when the run ends
}

// attach adds a client to the container's current or next run; its done
// channel is closed when that run ends.
func (l *logBook) attach(a *attachment) {
	a.done = make(chan struct{})
	l.mu.Lock()
	l.attached[a] = true
	l.mu.Unlock()
}

// detach removes a client that went away.
func (l *logBook) detach(a *attachment) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.attached[a] {
		delete(l.attached, a)
		close(a.done)
	}
}

// broadcast hands a chunk of output to every attached client: raw with a
// terminal, else framed as Docker's multiplexed stream. A client that
// cannot take it within a few seconds is let go.
func (l *logBook) broadcast(stream string, p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for a := range l.attached {
		if (stream == "stdout" && !a.stdout) || (stream == "stderr" && !a.stderr) {
			continue
		}
		if c, ok := a.w.(net.Conn); ok {
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		}
		var err error
		if l.tty || a.raw {
			_, err = a.w.Write(p)
		} else {
			n := byte(api.StreamStdout)
			if stream == "stderr" {
				n = api.StreamStderr
			}
			_, err = api.FrameWriter{W: a.w, Stream: n}.Write(p)
		}
		if err != nil {
			delete(l.attached, a)
			close(a.done)
		}
	}
}

// feedStdin copies a client's input to the container's stdin until the
// input ends or, with a terminal, the client types keys, the detach keys;
// it reports whether it did. When the input ends and the container was
// created to read one client's input only (docker run -i), its stdin is
// closed.
func (l *logBook) feedStdin(r io.Reader, a *attachment, keys []byte) (detached bool) {
	// Attached before the start, as docker run is: wait for the run.
	l.mu.Lock()
	started, tty := l.started, l.tty
	l.mu.Unlock()
	select {
	case <-started:
	case <-a.done:
		return false
	}
	if !tty {
		keys = nil
	}
	if api.CopyInput(stdinWriter{l}, r, keys) {
		return true
	}
	l.mu.Lock()
	if l.stdinOnce && !l.tty && l.stdin != nil {
		l.stdin.Close()
		l.stdin = nil
	}
	l.mu.Unlock()
	return false
}

// stdinWriter writes to the current run's stdin.
type stdinWriter struct{ l *logBook }

func (w stdinWriter) Write(p []byte) (int, error) {
	w.l.mu.Lock()
	in := w.l.stdin
	w.l.mu.Unlock()
	if in == nil {
		return 0, os.ErrClosed
	}
	return in.Write(p)
}

// resize sets the size of the container's terminal.
func (l *logBook) resize(size Winsize) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.tty || l.stdin == nil {
		return fmt.Errorf("%w: the container has no terminal", errdefs.ErrConflict)
	}
	return setWinsize(l.stdin, size)
}

// Winsize is a terminal's size; zero means 24 rows of 80 columns.
type Winsize struct{ Height, Width uint16 }

// openPty opens a new pseudo-terminal of the host's devpts: the master
// for the engine, the slave for the container.
func openPty(size Winsize) (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("engine: open a terminal: %w", err)
	}
	if err := withFD(master, func(fd int) error { return unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0) }); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("engine: unlock the terminal: %w", err)
	}
	var n uint32
	err = withFD(master, func(fd int) (err error) {
		n, err = unix.IoctlGetUint32(fd, unix.TIOCGPTN)
		return err
	})
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("engine: terminal number: %w", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("engine: open the terminal's other side: %w", err)
	}
	if err := setWinsize(master, size); err != nil {
		master.Close()
		slave.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

func setWinsize(f *os.File, size Winsize) error {
	if size.Height == 0 || size.Width == 0 {
		size = Winsize{24, 80}
	}
	ws := &unix.Winsize{Row: size.Height, Col: size.Width}
	if err := withFD(f, func(fd int) error { return unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, ws) }); err != nil {
		return fmt.Errorf("engine: set the terminal's size: %w", err)
	}
	return nil
}

// ContainerAttach joins a client to the container's streams, as docker
// attach and a foreground docker run do: with Logs what it wrote so far
// first, then, with Stream, what it writes until its run ends, the client
// goes or types the detach keys; its input goes to the container's stdin.
// Attached before the start, the client gets the whole run.
func (e *Engine) ContainerAttach(ref string, o container.AttachOptions, conn io.Writer, in io.Reader) error {
	en, err := e.find(ref)
	if err != nil {
		return err
	}
	keys, err := api.DetachKeys(o.DetachKeys)
	if err != nil {
		return err
	}
	e.mu.Lock()
	tty, openStdin, c := en.c.Config.Tty, en.c.Config.OpenStdin, *en.c
	e.mu.Unlock()
	a := &attachment{w: conn, stdout: o.Stdout, stderr: o.Stderr}
	if !a.stdout && !a.stderr && !o.Stdin {
		a.stdout, a.stderr = true, true
	}
	if o.Logs {
		var stdout, stderr io.Writer = api.FrameWriter{W: conn, Stream: api.StreamStdout}, api.FrameWriter{W: conn, Stream: api.StreamStderr}
		if tty {
			stdout, stderr = conn, conn
		}
		en.logs.write(LogOptions{Tail: -1, Stdout: a.stdout, Stderr: a.stderr}, stdout, stderr, nil)
	}
	if !o.Stream {
		return nil
	}
	en.logs.attach(a)
	defer en.logs.detach(a)
	e.event("container", "attach", &c)
	detached := make(chan struct{})
	if o.Stdin && openStdin && in != nil {
		go func() {
			if en.logs.feedStdin(in, a, keys) {
				close(detached)
			}
		}()
	}
	select {
	case <-a.done:
	case <-detached:
		e.event("container", "detach", &c)
	}
	return nil
}

// ContainerResize sets the size of the container's terminal.
func (e *Engine) ContainerResize(ref string, o container.ResizeOptions) error {
	en, err := e.find(ref)
	if err != nil {
		return err
	}
	e.mu.Lock()
	running := en.c.State.Running
	e.mu.Unlock()
	if !running {
		return errdefs.Kind(errdefs.ErrConflict, fmt.Errorf("Container %s is not running", en.c.Id))
	}
	return en.logs.resize(Winsize{Height: uint16(o.Height), Width: uint16(o.Width)})
}

// withFD runs f on file's descriptor, without Fd's switch to blocking
// mode: the engine's reads of a terminal must stay interruptible.
func withFD(file *os.File, f func(fd int) error) error {
	rc, err := file.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}
