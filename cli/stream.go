package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"berth/api"
)

// session is a CLI attached to a container or an exec instance: the
// console's input to the stream, the stream to the console.
type session struct {
	resp  types.HijackedResponse
	tty   bool // a terminal: raw bytes both ways, the console in raw mode
	stdin bool // the console's input goes to the container
	keys  []byte
}

// stream runs the session until the engine ends the stream (the run or
// command ended) or the user types the detach keys; it reports which.
func (s session) stream(e *env) (detached bool) {
	defer s.resp.Close()
	in, isFile := e.stdin.(*os.File)
	if s.tty && s.stdin && isFile && term.IsTerminal(int(in.Fd())) {
		if old, err := term.MakeRaw(int(in.Fd())); err == nil {
			defer term.Restore(int(in.Fd()), old)
		}
	}
	detach := make(chan struct{})
	if s.stdin {
		go func() {
			keys := s.keys // only a terminal watches for the detach keys
			if !s.tty {
				keys = nil
			}
			if api.CopyInput(s.resp.Conn, e.stdin, keys) {
				close(detach)
				s.resp.Close()
				return
			}
			s.resp.CloseWrite() // end of input: the container's stdin ends too
		}()
	}
	done := make(chan struct{})
	go func() {
		if s.tty {
			io.Copy(e.stdout, s.resp.Reader)
		} else {
			api.Demux(s.resp.Reader, e.stdout, e.stderr)
		}
		close(done)
	}()
	select {
	case <-done:
		select {
		case <-detach:
			return true
		default:
			return false
		}
	case <-detach:
		fmt.Fprintln(e.stderr)
		return true
	}
}

// attachTo attaches to a container's streams, before it starts or while
// it runs.
func (e *env) attachTo(id string, tty, stdin bool, keys []byte, detachKeys string) (session, error) {
	resp, err := e.client.ContainerAttach(e.ctx, id, container.AttachOptions{Stream: true, Stdin: stdin, Stdout: true, Stderr: true,
		DetachKeys: detachKeys})
	if err != nil {
		return session{}, err
	}
	return session{resp: resp, tty: tty, stdin: stdin, keys: keys}, nil
}

// resizeContainer gives a container's (or, with exec, an exec instance's)
// terminal the console's size.
func (e *env) resizeTerminal(id string, exec bool) {
	f, ok := e.stdin.(*os.File)
	if !ok {
		return
	}
	w, h, err := term.GetSize(int(f.Fd()))
	if err != nil || w == 0 || h == 0 {
		if out, ok := e.stdout.(*os.File); ok {
			w, h, err = term.GetSize(int(out.Fd()))
		}
		if err != nil || w == 0 || h == 0 {
			return
		}
	}
	o := container.ResizeOptions{Height: uint(h), Width: uint(w)}
	if exec {
		e.client.ContainerExecResize(e.ctx, id, o)
	} else {
		e.client.ContainerResize(e.ctx, id, o)
	}
}

// proxySignals forwards the signals the CLI gets to the container, as
// docker run's --sig-proxy does, until stop is called.
func (e *env) proxySignals(id string) (stop func()) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, unix.SIGINT, unix.SIGTERM, unix.SIGHUP, unix.SIGQUIT, unix.SIGUSR1, unix.SIGUSR2)
	go func() {
		for sig := range ch {
			e.client.ContainerKill(context.Background(), id, strconv.Itoa(int(sig.(unix.Signal))))
		}
	}()
	return func() { signal.Stop(ch); close(ch) }
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
