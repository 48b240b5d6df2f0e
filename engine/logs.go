package engine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// logBook keeps a container's output as Docker's json-file driver did: a
// JSON object per line of stdout or stderr, with its time. While a run
// goes on it also hands the output to attached clients as it comes, and
// their input to the container's stdin.
type logBook struct {
	path    string
	mu      sync.Mutex
	f       *os.File
	copiers sync.WaitGroup
	changed chan struct{} // closed and replaced on every line and at the end of a run
	running bool

	started   chan struct{} // closed when the next run's streams are there
	tty       bool
	stdin     *os.File // the engine's end of the container's stdin: a pipe, or the pty
	stdinOnce bool     // close stdin when the first attached client's input ends
	attached  map[*attachment]bool
}

// logLine is one line of the log file.
type logLine struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

func newLogBook(path string) *logBook {
	return &logBook{path: path, changed: make(chan struct{}), attached: map[*attachment]bool{}, started: make(chan struct{})}
}

// runStreams are a run's streams: the container's ends, and the
// engine's, by name ("stdout", "stderr", "stdin", "pty"); the keeper holds
// the output ones too, so that they outlive an engine crash.
type runStreams struct {
	Stdin, Stdout, Stderr *os.File // the container's; Stdin nil for /dev/null
	Engine                map[string]*os.File
}

// closeContainerEnds closes the container's ends once it has them.
func (s *runStreams) closeContainerEnds() {
	for _, f := range []*os.File{s.Stdin, s.Stdout, s.Stderr} {
		if f != nil {
			f.Close()
		}
	}
}

// open makes the streams of a new run: a pty when tty, else pipes for
// stdout and stderr, and one for stdin when openStdin.
func (l *logBook) open(tty, openStdin, stdinOnce bool, size Winsize) (*runStreams, error) {
	s := &runStreams{Engine: map[string]*os.File{}}
	fail := func(err error) (*runStreams, error) {
		s.closeContainerEnds()
		for _, f := range s.Engine {
			f.Close()
		}
		return nil, err
	}
	if tty {
		master, slave, err := openPty(size)
		if err != nil {
			return nil, err
		}
		s.Stdin, s.Stdout, s.Stderr = slave, slave, slave
		s.Engine["pty"] = master
	} else {
		for _, name := range []string{"stdout", "stderr"} {
			r, w, err := os.Pipe()
			if err != nil {
				return fail(err)
			}
			s.Engine[name] = r
			if name == "stdout" {
				s.Stdout = w
			} else {
				s.Stderr = w
			}
		}
		if openStdin {
			r, w, err := os.Pipe()
			if err != nil {
				return fail(err)
			}
			s.Stdin, s.Engine["stdin"] = r, w
		}
	}
	if err := l.resume(s.Engine, stdinOnce); err != nil {
		return fail(err)
	}
	return s, nil
}

// resume copies a run's output into the log from the engine's ends of its
// streams: those of a new run, or those the keeper held through an engine
// restart.
func (l *logBook) resume(files map[string]*os.File, stdinOnce bool) error {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("engine: log: %w", err)
	}
	l.mu.Lock()
	l.f, l.running, l.stdinOnce = f, true, stdinOnce
	l.tty = files["pty"] != nil
	l.stdin = files["stdin"]
	if l.tty {
		l.stdin = files["pty"]
	}
	close(l.started)
	l.mu.Unlock()
	for _, name := range []string{"stdout", "stderr", "pty"} {
		if r := files[name]; r != nil {
			stream := name
			if name == "pty" {
				stream = "stdout"
			}
			l.copiers.Add(1)
			// The pty is stdin too: endRun closes it, not its copier.
			go l.copy(r, stream, name != "pty")
		}
	}
	return nil
}

// copy reads one stream until the container closes it: each chunk goes to
// the attached clients at once, each whole line into the log.
func (l *logBook) copy(r *os.File, stream string, closeAtEnd bool) {
	defer l.copiers.Done()
	buf := make([]byte, 32*1024)
	var pending []byte
	for {
		n, err := r.Read(buf)
		if n > 0 {
			l.broadcast(stream, buf[:n])
			pending = append(pending, buf[:n]...)
			for {
				i := bytes.IndexByte(pending, '\n')
				if i < 0 {
					break
				}
				l.record(stream, string(pending[:i+1]))
				pending = pending[i+1:]
			}
		}
		if err != nil { // EOF, or EIO from a pty whose other side is gone
			if len(pending) > 0 {
				l.record(stream, string(pending))
			}
			if closeAtEnd {
				r.Close()
			}
			return
		}
	}
}

func (l *logBook) record(stream, line string) {
	b, _ := json.Marshal(logLine{Log: line, Stream: stream, Time: time.Now().UTC()})
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Write(append(b, '\n'))
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// wait returns once the container's output is all in the log; then the
// run's streams are closed and its attached clients let go.
func (l *logBook) wait() {
	l.copiers.Wait()
	l.endRun()
}

// endRun closes what a run holds: after its end, or when it failed to
// start.
func (l *logBook) endRun() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	if l.stdin != nil {
		l.stdin.Close()
		l.stdin = nil
	}
	l.running = false
	select {
	case <-l.started:
		l.started = make(chan struct{})
	default:
	}
	for a := range l.attached {
		close(a.done)
	}
	l.attached = map[*attachment]bool{}
	close(l.changed)
	l.changed = make(chan struct{})
}

// LogOptions are docker logs' flags.
type LogOptions struct {
	Follow     bool
	Tail       int // -1 for all
	Timestamps bool
	Stdout     bool
	Stderr     bool
}

// write copies the log to stdout and stderr; with Follow, until the
// container stops or stop is closed.
func (l *logBook) write(o LogOptions, stdout, stderr io.Writer, stop <-chan struct{}) error {
	f, err := os.Open(l.path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	var lines []logLine
	br := bufio.NewReader(f)
	readNew := func() {
		for {
			s, err := br.ReadString('\n')
			if err != nil {
				if s != "" {
					f.Seek(-int64(len(s)), io.SeekCurrent) // a line being written: read it whole next time
					br.Reset(f)
				}
				return
			}
			var ll logLine
			if json.Unmarshal([]byte(s), &ll) == nil {
				lines = append(lines, ll)
			}
		}
	}
	emit := func(ll logLine) {
		w := stdout
		if ll.Stream == "stderr" {
			w = stderr
		}
		if (ll.Stream == "stderr" && !o.Stderr) || (ll.Stream == "stdout" && !o.Stdout) {
			return
		}
		if o.Timestamps {
			fmt.Fprintf(w, "%s %s", ll.Time.Format(time.RFC3339Nano), ll.Log)
		} else {
			io.WriteString(w, ll.Log)
		}
	}
	l.mu.Lock()
	changed, running := l.changed, l.running
	l.mu.Unlock()
	readNew()
	start := 0
	if o.Tail >= 0 && len(lines) > o.Tail {
		start = len(lines) - o.Tail
	}
	for _, ll := range lines[start:] {
		emit(ll)
	}
	lines = lines[:0]
	for o.Follow && running {
		select {
		case <-changed:
		case <-stop:
			return nil
		}
		l.mu.Lock()
		changed, running = l.changed, l.running
		l.mu.Unlock()
		readNew()
		for _, ll := range lines {
			emit(ll)
		}
		lines = lines[:0]
	}
	return nil
}

// Logs writes the container's log.
func (e *Engine) Logs(ref string, o LogOptions, stdout, stderr io.Writer, stop <-chan struct{}) error {
	en, err := e.find(ref)
	if err != nil {
		return err
	}
	return en.logs.write(o, stdout, stderr, stop)
}
