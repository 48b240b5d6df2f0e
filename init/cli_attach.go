package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"berth/engine"
	"berth/runtime"
)

// detachKeys is Docker's default escape from an attached terminal:
// ctrl-p ctrl-q leaves the container running.
var detachKeys = []byte{0x10, 0x11}

// session is a CLI attached to a container or an exec instance: the
// console's input to the stream, the stream to the console.
type session struct {
	conn   *net.UnixConn
	output io.Reader
	tty    bool // a terminal: raw bytes both ways, the console in raw mode
	stdin  bool // the console's input goes to the container
}

// stream runs the session until the engine ends the stream (the run or
// command ended) or the user types the detach keys; it reports which.
func (s session) stream(stdout, stderr io.Writer) (detached bool) {
	defer s.conn.Close()
	if s.tty && s.stdin && term.IsTerminal(int(os.Stdin.Fd())) {
		if old, err := term.MakeRaw(int(os.Stdin.Fd())); err == nil {
			defer term.Restore(int(os.Stdin.Fd()), old)
		}
	}
	detach := make(chan struct{})
	if s.stdin {
		go func() {
			if s.copyInput(os.Stdin) {
				close(detach)
				s.conn.Close()
				return
			}
			s.conn.CloseWrite() // end of input: the container's stdin ends too
		}()
	}
	done := make(chan struct{})
	go func() {
		if s.tty {
			io.Copy(stdout, s.output)
		} else {
			engine.Demux(s.output, stdout, stderr)
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
		fmt.Fprintln(stderr)
		return true
	}
}

// copyInput sends the console's input until it ends; with a terminal it
// watches for the detach keys and reports whether they came.
func (s session) copyInput(in io.Reader) (detached bool) {
	buf := make([]byte, 4096)
	pending := false // the first detach key came last
	for {
		n, err := in.Read(buf)
		if n > 0 {
			p := buf[:n]
			if s.tty {
				if pending && p[0] == detachKeys[1] {
					return true
				}
				if pending {
					s.conn.Write(detachKeys[:1])
				}
				pending = false
				if i := bytes.Index(p, detachKeys); i >= 0 {
					s.conn.Write(p[:i])
					return true
				}
				if p[len(p)-1] == detachKeys[0] {
					p, pending = p[:len(p)-1], true
				}
			}
			if _, err := s.conn.Write(p); err != nil {
				return false
			}
		}
		if err != nil {
			return false
		}
	}
}

// attachTo attaches to a container's streams, before it starts or while
// it runs.
func attachTo(id string, tty, stdin bool) (session, error) {
	q := url.Values{"stream": {"1"}, "stdout": {"1"}, "stderr": {"1"}}
	if stdin {
		q.Set("stdin", "1")
	}
	conn, out, err := client().Hijack("POST", "/containers/"+id+"/attach", q, nil)
	if err != nil {
		return session{}, err
	}
	return session{conn: conn, output: out, tty: tty, stdin: stdin}, nil
}

// resizeTo gives the terminal of a container or exec instance (path
// prefix /containers/ID or /exec/ID) the console's size.
func resizeTo(prefix string) {
	w, h, err := term.GetSize(int(os.Stdin.Fd()))
	if err != nil || w == 0 || h == 0 {
		return
	}
	client().Do("POST", prefix+"/resize", url.Values{"h": {strconv.Itoa(h)}, "w": {strconv.Itoa(w)}}, nil, nil)
}

// proxySignals forwards SIGINT and SIGTERM the CLI gets to the container,
// as docker run's --sig-proxy does, until stop is called.
func proxySignals(id string) (stop func()) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, unix.SIGINT, unix.SIGTERM)
	go func() {
		for sig := range ch {
			client().Do("POST", "/containers/"+id+"/kill", url.Values{"signal": {strconv.Itoa(int(sig.(unix.Signal)))}}, nil, nil)
		}
	}()
	return func() { signal.Stop(ch); close(ch) }
}

// waitExit returns the exit status of the container's current run.
func waitExit(id string, stderr io.Writer) int {
	var w struct{ StatusCode int }
	if _, err := client().Do("POST", "/containers/"+id+"/wait", nil, nil, &w); err != nil {
		return fail(stderr, runtime.ExitSetupFailed, err)
	}
	return w.StatusCode
}

// attachVerb is docker attach: the console to a running container's
// streams; it returns the container's exit status, or 0 after detaching.
func attachVerb(args []string, stdout, stderr io.Writer) int {
	f := newFlags("attach", stderr)
	var noStdin bool
	f.boolVar(&noStdin, "no-stdin")
	if f.parse(args) != nil || f.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: berth attach [--no-stdin] CONTAINER")
		return 2
	}
	var c engine.Container
	if _, err := client().Do("GET", "/containers/"+f.Arg(0)+"/json", nil, nil, &c); err != nil {
		return fail(stderr, 1, err)
	}
	if !c.State.Running {
		return fail(stderr, 1, fmt.Errorf("you cannot attach to a stopped container %s; start it first", f.Arg(0)))
	}
	s, err := attachTo(c.Id, c.Config.Tty, c.Config.OpenStdin && !noStdin)
	if err != nil {
		return fail(stderr, 1, err)
	}
	if c.Config.Tty {
		resizeTo("/containers/" + c.Id)
	}
	if s.stream(stdout, stderr) {
		return 0
	}
	return waitExit(c.Id, stderr)
}

// execVerb is docker exec: a command in a running container, attached
// (-i for input, -t for a terminal) or detached (-d); it returns the
// command's exit status.
func execVerb(args []string, stdout, stderr io.Writer) int {
	f := newFlags("exec", stderr)
	var detach, interactive, tty bool
	var user, workdir string
	var env listFlag
	f.boolVar(&detach, "d", "detach")
	f.boolVar(&interactive, "i", "interactive")
	f.boolVar(&tty, "t", "tty")
	f.stringVar(&user, "", "u", "user")
	f.stringVar(&workdir, "", "w", "workdir")
	f.listVar(&env, "e", "env")
	if f.parse(args) != nil || f.NArg() < 2 {
		fmt.Fprintln(stderr, "usage: berth exec [-d] [-i] [-t] [-u USER] [-w DIR] [-e VAR=VALUE] CONTAINER COMMAND [ARG...]")
		return 2
	}
	cfg := engine.ExecConfig{AttachStdin: interactive && !detach, AttachStdout: !detach, AttachStderr: !detach,
		Tty: tty, Detach: detach, User: user, WorkingDir: workdir, Env: env, Cmd: f.Args()[1:]}
	var created struct{ Id string }
	if _, err := client().Do("POST", "/containers/"+f.Arg(0)+"/exec", nil, cfg, &created); err != nil {
		return fail(stderr, runtime.ExitSetupFailed, err)
	}
	start := map[string]bool{"Detach": detach, "Tty": tty}
	if detach {
		if _, err := client().Do("POST", "/exec/"+created.Id+"/start", nil, start, nil); err != nil {
			return fail(stderr, runtime.ExitSetupFailed, err)
		}
		return 0
	}
	if tty {
		resizeTo("/exec/" + created.Id)
	}
	conn, out, err := client().Hijack("POST", "/exec/"+created.Id+"/start", nil, start)
	if err != nil {
		return fail(stderr, runtime.ExitSetupFailed, err)
	}
	if (session{conn: conn, output: out, tty: tty, stdin: interactive}).stream(stdout, stderr) {
		return 0
	}
	var x engine.ExecInspect
	if _, err := client().Do("GET", "/exec/"+created.Id+"/json", nil, nil, &x); err != nil {
		return fail(stderr, runtime.ExitSetupFailed, err)
	}
	if x.ExitCode == nil {
		return runtime.ExitSetupFailed
	}
	return *x.ExitCode
}
