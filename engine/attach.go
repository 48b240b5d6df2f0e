package engine

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"time"

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
			n := byte(streamStdout)
			if stream == "stderr" {
				n = streamStderr
			}
			_, err = frameWriter{a.w, n}.Write(p)
		}
		if err != nil {
			delete(l.attached, a)
			close(a.done)
		}
	}
}

// feedStdin copies a client's input to the container's stdin until the
// input ends; then, when the container was created to read one client's
// input only (docker run -i), its stdin is closed.
func (l *logBook) feedStdin(r io.Reader, a *attachment) {
	// Attached before the start, as docker run is: wait for the run.
	l.mu.Lock()
	started := l.started
	l.mu.Unlock()
	select {
	case <-started:
	case <-a.done:
		return
	}
	buf := make([]byte, 32*1024)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			l.mu.Lock()
			in := l.stdin
			l.mu.Unlock()
			if in == nil {
				return
			}
			if _, werr := in.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			l.mu.Lock()
			if l.stdinOnce && !l.tty && l.stdin != nil {
				l.stdin.Close()
				l.stdin = nil
			}
			l.mu.Unlock()
			return
		}
	}
}

// resize sets the size of the container's terminal.
func (l *logBook) resize(size Winsize) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.tty || l.stdin == nil {
		return fmt.Errorf("%w: the container has no terminal", ErrConflict)
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
	fd := fileFD(master)
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("engine: unlock the terminal: %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
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
	if err := unix.IoctlSetWinsize(fileFD(f), unix.TIOCSWINSZ, ws); err != nil {
		return fmt.Errorf("engine: set the terminal's size: %w", err)
	}
	return nil
}

// frameWriter writes Docker's multiplexed stream: each chunk preceded by
// an 8-byte header, the stream number and the length.
type frameWriter struct {
	w      io.Writer
	stream byte
}

func (f frameWriter) Write(p []byte) (int, error) {
	hdr := make([]byte, 8)
	hdr[0] = f.stream
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(p)))
	if _, err := f.w.Write(append(hdr, p...)); err != nil {
		return 0, err
	}
	if fl, ok := f.w.(interface{ Flush() }); ok {
		fl.Flush()
	}
	return len(p), nil
}
