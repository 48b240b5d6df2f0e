package engine

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// logBook keeps a container's output as Docker's json-file driver did: a
// JSON object per line of stdout or stderr, with its time.
type logBook struct {
	path    string
	mu      sync.Mutex
	f       *os.File
	copiers sync.WaitGroup
	changed chan struct{} // closed and replaced on every line and at the end of a run
	running bool
}

// logLine is one line of the log file.
type logLine struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

func newLogBook(path string) *logBook {
	return &logBook{path: path, changed: make(chan struct{})}
}

// pipes returns the write ends to give the container as stdout and
// stderr; what it writes is copied into the log until it closes them.
func (l *logBook) pipes() (*os.File, *os.File, error) {
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("engine: log: %w", err)
	}
	l.mu.Lock()
	l.f, l.running = f, true
	l.mu.Unlock()
	var writes []*os.File
	for _, stream := range []string{"stdout", "stderr"} {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, nil, err
		}
		writes = append(writes, w)
		l.copiers.Add(1)
		go l.copy(r, stream)
	}
	return writes[0], writes[1], nil
}

func (l *logBook) copy(r *os.File, stream string) {
	defer l.copiers.Done()
	defer r.Close()
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			b, _ := json.Marshal(logLine{Log: line, Stream: stream, Time: time.Now().UTC()})
			l.mu.Lock()
			l.f.Write(append(b, '\n'))
			close(l.changed)
			l.changed = make(chan struct{})
			l.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// wait returns once the container's output is all in the log.
func (l *logBook) wait() {
	l.copiers.Wait()
	l.mu.Lock()
	if l.f != nil {
		l.f.Close()
		l.f = nil
	}
	l.running = false
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
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
