package engine

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"

	"berth/api"
	"berth/config"
	"berth/errdefs"
)

// maxLogLine is the longest entry of a log: a longer line, or output with
// no newline, is kept as several entries, the last one ending the line, as
// Docker's json-file driver does. It bounds what the engine buffers for a
// container, whatever the container prints.
const maxLogLine = 16 << 10

// logBook keeps a container's output as Docker's json-file driver does: a
// JSON object per line of stdout or stderr (split at maxLogLine), with its
// time, in a file rotated at maxSize with maxFiles kept. While a run goes
// on it also hands the output to attached clients as it comes, and their
// input to the container's stdin.
type logBook struct {
	path     string
	maxSize  int64 // 0: no rotation
	maxFiles int   // files kept, the current one included
	mu       sync.Mutex
	f        *os.File
	size     int64 // of the current file
	rotation int   // counts rotations, so that a follower knows its file moved
	copiers  sync.WaitGroup
	changed  chan struct{} // closed and replaced on every line and at the end of a run
	running  bool

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

func newLogBook(path string, maxSize int64, maxFiles int) *logBook {
	return &logBook{path: path, maxSize: maxSize, maxFiles: max(maxFiles, 1), changed: make(chan struct{}),
		attached: map[*attachment]bool{}, started: make(chan struct{})}
}

// logLimits reads json-file's max-size and max-file options (Docker's
// --log-opt), each falling back to the given default.
func logLimits(opts map[string]string, size int64, files int) (int64, int, error) {
	if v, ok := opts["max-size"]; ok {
		n, err := config.ParseSize(v)
		if err != nil || n <= 0 {
			return 0, 0, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("--log-opt max-size=%s: give a size such as 10m", v))
		}
		size = int64(n)
	}
	if v, ok := opts["max-file"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, 0, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("--log-opt max-file=%s: give a whole number of at least 1", v))
		}
		files = n
	}
	return size, files, nil
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
	var size int64
	if fi, err := f.Stat(); err == nil {
		size = fi.Size()
	}
	l.mu.Lock()
	l.f, l.size, l.running, l.stdinOnce = f, size, true, stdinOnce
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
			pending = l.split(stream, append(pending, buf[:n]...))
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

// split records each whole line of p, and of what is left each
// maxLogLine bytes, and returns the rest.
func (l *logBook) split(stream string, p []byte) []byte {
	for {
		i := bytes.IndexByte(p, '\n')
		switch {
		case i >= 0 && i < maxLogLine:
			l.record(stream, string(p[:i+1]))
			p = p[i+1:]
		case len(p) >= maxLogLine:
			l.record(stream, string(p[:maxLogLine]))
			p = p[maxLogLine:]
		default:
			return p
		}
	}
}

func (l *logBook) record(stream, line string) {
	b, _ := json.Marshal(logLine{Log: line, Stream: stream, Time: time.Now().UTC()})
	b = append(b, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f != nil {
		if l.maxSize > 0 && l.size > 0 && l.size+int64(len(b)) > l.maxSize {
			l.rotate()
		}
		if l.f != nil {
			n, _ := l.f.Write(b)
			l.size += int64(n)
		}
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// rotate moves the current file to path.1 (path.1 to path.2, and so on,
// the oldest beyond maxFiles dropped) and starts a new one, as json-file's
// max-size and max-file do. With one file kept, the file starts over.
func (l *logBook) rotate() {
	l.f.Close()
	l.f = nil
	if l.maxFiles > 1 {
		os.Remove(fmt.Sprintf("%s.%d", l.path, l.maxFiles-1))
		for i := l.maxFiles - 2; i >= 1; i-- {
			os.Rename(fmt.Sprintf("%s.%d", l.path, i), fmt.Sprintf("%s.%d", l.path, i+1))
		}
		os.Rename(l.path, l.path+".1")
	}
	f, err := os.OpenFile(l.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return // the run's output goes to attached clients only
	}
	l.f, l.size = f, 0
	l.rotation++
}

// rotated lists the rotated files of the log, oldest first.
func (l *logBook) rotated() []string {
	matches, _ := filepath.Glob(l.path + ".*")
	type numbered struct {
		path string
		n    int
	}
	var files []numbered
	for _, m := range matches {
		if n, err := strconv.Atoi(strings.TrimPrefix(m, l.path+".")); err == nil {
			files = append(files, numbered{m, n})
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].n > files[j].n })
	var out []string
	for _, f := range files {
		out = append(out, f.path)
	}
	return out
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
	// Since and Until bound the entries by time (zero: no bound).
	Since, Until time.Time
	// Details puts each entry's attributes (none: berth's log takes no
	// labels or env options) before it, as docker logs --details.
	Details bool
}

// write copies the log to stdout and stderr, rotated files first; with
// Follow, until the container stops or stop is closed.
func (l *logBook) write(o LogOptions, stdout, stderr io.Writer, stop <-chan struct{}) error {
	emit := func(ll logLine) {
		w := stdout
		if ll.Stream == "stderr" {
			w = stderr
		}
		if (ll.Stream == "stderr" && !o.Stderr) || (ll.Stream == "stdout" && !o.Stdout) {
			return
		}
		if (!o.Since.IsZero() && ll.Time.Before(o.Since)) || (!o.Until.IsZero() && ll.Time.After(o.Until)) {
			return
		}
		line := ll.Log
		if o.Details {
			line = " " + line
		}
		if o.Timestamps {
			line = ll.Time.Format(timestampFormat) + " " + line
		}
		io.WriteString(w, line)
	}
	// With --tail, the last entries are kept in a ring until all is read.
	var ring []logLine
	next := 0
	keep := func(ll logLine) {
		switch {
		case o.Tail < 0:
			emit(ll)
		case o.Tail == 0:
		case len(ring) < o.Tail:
			ring = append(ring, ll)
		default:
			ring[next] = ll
			next = (next + 1) % o.Tail
		}
	}
	l.mu.Lock()
	changed, running, rotation := l.changed, l.running, l.rotation
	rotated := l.rotated()
	l.mu.Unlock()
	for _, p := range rotated {
		if f, err := os.Open(p); err == nil {
			readLogLines(bufio.NewReader(f), f, keep)
			f.Close()
		}
	}
	f, err := os.Open(l.path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var br *bufio.Reader
	if f != nil {
		defer func() { f.Close() }()
		br = bufio.NewReader(f)
		readLogLines(br, f, keep)
	}
	for i := range ring {
		emit(ring[(next+i)%len(ring)])
	}
	for o.Follow && running {
		select {
		case <-changed:
		case <-stop:
			return nil
		}
		l.mu.Lock()
		changed, running = l.changed, l.running
		moved := l.rotation != rotation
		rotation = l.rotation
		l.mu.Unlock()
		if f != nil {
			readLogLines(br, f, emit)
		}
		if moved || f == nil {
			// The file read so far is a rotated one now: on to the new one.
			if f != nil {
				f.Close()
			}
			if f, err = os.Open(l.path); err != nil {
				f = nil
				continue
			}
			br = bufio.NewReader(f)
			readLogLines(br, f, emit)
		}
	}
	return nil
}

// readLogLines hands each whole entry of the log to use; a line still
// being written is left to be read whole next time.
func readLogLines(br *bufio.Reader, f *os.File, use func(logLine)) {
	for {
		s, err := br.ReadString('\n')
		if err != nil {
			if s != "" {
				f.Seek(-int64(len(s)), io.SeekCurrent)
				br.Reset(f)
			}
			return
		}
		var ll logLine
		if json.Unmarshal([]byte(s), &ll) == nil {
			use(ll)
		}
	}
}

// timestampFormat is Docker's timestamp of a log line: RFC 3339 with
// nanoseconds always nine digits, so that lines line up.
const timestampFormat = "2006-01-02T15:04:05.000000000Z07:00"

// ContainerLogs writes the container's log as docker logs does: the
// entries since and until the times given, the last Tail of them, and
// with Follow those that come until the run ends, until passes or ctx
// ends.
func (e *Engine) ContainerLogs(ctx context.Context, ref string, o container.LogsOptions, stdout, stderr io.Writer) error {
	en, err := e.find(ref)
	if err != nil {
		return err
	}
	lo := LogOptions{Follow: o.Follow, Tail: -1, Timestamps: o.Timestamps, Stdout: o.ShowStdout, Stderr: o.ShowStderr, Details: o.Details}
	if o.Tail != "" && o.Tail != "all" {
		if lo.Tail, err = strconv.Atoi(o.Tail); err != nil || lo.Tail < 0 {
			return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid tail value %q: give a number of lines or all", o.Tail))
		}
	}
	if lo.Since, err = api.ParseTime(o.Since); err != nil {
		return err
	}
	if lo.Until, err = api.ParseTime(o.Until); err != nil {
		return err
	}
	if !lo.Until.IsZero() && lo.Follow {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, lo.Until)
		defer cancel()
	}
	return en.logs.write(lo, stdout, stderr, ctx.Done())
}
