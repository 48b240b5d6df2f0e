package api

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
)

// The streams of Docker's multiplexed stream.
const (
	StreamStdin  = 0
	StreamStdout = 1
	StreamStderr = 2
)

// FrameWriter writes Docker's multiplexed stream: each chunk preceded by
// an 8-byte header, its stream and its length.
type FrameWriter struct {
	W      io.Writer
	Stream byte
}

func (f FrameWriter) Write(p []byte) (int, error) {
	hdr := make([]byte, 8, 8+len(p))
	hdr[0] = f.Stream
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(p)))
	if _, err := f.W.Write(append(hdr, p...)); err != nil {
		return 0, err
	}
	if fl, ok := f.W.(interface{ Flush() }); ok {
		fl.Flush()
	}
	return len(p), nil
}

// Demux splits a multiplexed stream into stdout and stderr.
func Demux(r io.Reader, stdout, stderr io.Writer) error {
	hdr := make([]byte, 8)
	for {
		if _, err := io.ReadFull(r, hdr); err != nil {
			if err == io.EOF || err == io.ErrUnexpectedEOF {
				return nil
			}
			return err
		}
		w := stdout
		if hdr[0] == StreamStderr {
			w = stderr
		}
		if _, err := io.CopyN(w, r, int64(binary.BigEndian.Uint32(hdr[4:]))); err != nil {
			return err
		}
	}
}

// hijack takes the connection over from the HTTP server for a raw stream,
// as Docker's attach and exec do: 101 UPGRADED when the client asked to
// upgrade, else 200, then the stream both ways.
func hijack(w http.ResponseWriter, r *http.Request) (net.Conn, io.Reader, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("api: the connection cannot carry a stream")
	}
	conn, rw, err := hj.Hijack()
	if err != nil {
		return nil, nil, err
	}
	const stream = "Content-Type: application/vnd.docker.raw-stream\r\n"
	if strings.EqualFold(r.Header.Get("Upgrade"), "tcp") {
		io.WriteString(conn, "HTTP/1.1 101 UPGRADED\r\n"+stream+"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
	} else {
		io.WriteString(conn, "HTTP/1.1 200 OK\r\n"+stream+"\r\n")
	}
	return conn, rw.Reader, nil
}

// JSONMessage is one line of the progress streams of pull, push, load,
// import and build, in Docker's form.
type JSONMessage struct {
	Stream      string           `json:"stream,omitempty"`
	Status      string           `json:"status,omitempty"`
	ID          string           `json:"id,omitempty"`
	Progress    string           `json:"progress,omitempty"`
	Error       string           `json:"error,omitempty"`
	ErrorDetail *ErrorDetail     `json:"errorDetail,omitempty"`
	Aux         *json.RawMessage `json:"aux,omitempty"`
}

// ErrorDetail is the error of a progress stream.
type ErrorDetail struct {
	Message string `json:"message"`
}

// progress writes a stream of JSON messages: lines written to it as
// "stream" messages (build output), or with Status, status messages.
type progress struct {
	mu     sync.Mutex
	w      http.ResponseWriter
	status bool // lines are status messages, not stream ones
}

func newProgress(w http.ResponseWriter, status bool) *progress {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	return &progress{w: w, status: status}
}

func (p *progress) Write(b []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		if p.status {
			p.send(JSONMessage{Status: line})
		} else {
			p.send(JSONMessage{Stream: line + "\n"})
		}
	}
	return len(b), nil
}

func (p *progress) send(m JSONMessage) {
	p.mu.Lock()
	defer p.mu.Unlock()
	json.NewEncoder(p.w).Encode(m)
	if fl, ok := p.w.(http.Flusher); ok {
		fl.Flush()
	}
}

func (p *progress) fail(err error) {
	p.send(JSONMessage{Error: err.Error(), ErrorDetail: &ErrorDetail{Message: err.Error()}})
}
