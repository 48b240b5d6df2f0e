package api

import (
	"io"
	"net/http"

	"github.com/docker/docker/api/types/container"
)

// ExecBackend is what the exec routes ask of the engine.
type ExecBackend interface {
	ExecCreate(ref string, o container.ExecOptions) (string, error)
	// ExecStart runs the command; with conn it streams its output (and
	// feeds in to its stdin) until it ends, else it returns at once.
	ExecStart(id string, conn io.Writer, in io.Reader) error
	ExecResize(id string, o container.ResizeOptions) error
	ExecInspect(id string) (ExecInspect, error)
}

// ExecInspect is what GET /exec/{id}/json answers: Docker's server-side
// shape (its type lives in a package of the daemon's).
type ExecInspect struct {
	ID            string
	Running       bool
	ExitCode      *int
	ProcessConfig *ExecProcessConfig
	OpenStdin     bool
	OpenStderr    bool
	OpenStdout    bool
	CanRemove     bool
	ContainerID   string
	DetachKeys    []byte
	Pid           int
}

// ExecProcessConfig is the command of an exec.
type ExecProcessConfig struct {
	Tty        bool     `json:"tty"`
	Entrypoint string   `json:"entrypoint"`
	Arguments  []string `json:"arguments"`
	Privileged *bool    `json:"privileged,omitempty"`
	User       string   `json:"user,omitempty"`
}

func (s *Server) execRoutes() []route {
	b := s.b
	return []route{
		{"POST /containers/{id}/exec", func(w http.ResponseWriter, r *http.Request) {
			var o container.ExecOptions
			if err := decode(r, &o); err != nil {
				replyError(w, err)
				return
			}
			id, err := b.ExecCreate(r.PathValue("id"), o)
			if err != nil {
				replyError(w, err)
				return
			}
			writeJSON(w, http.StatusCreated, map[string]string{"Id": id})
		}},
		{"POST /exec/{id}/start", func(w http.ResponseWriter, r *http.Request) {
			var o container.ExecStartOptions
			if err := decode(r, &o); err != nil {
				replyError(w, err)
				return
			}
			id := r.PathValue("id")
			if _, err := b.ExecInspect(id); err != nil {
				replyError(w, err)
				return
			}
			if o.Detach {
				replyOK(w, b.ExecStart(id, nil, nil))
				return
			}
			conn, in, err := hijack(w, r)
			if err != nil {
				replyError(w, err)
				return
			}
			defer conn.Close()
			if err := b.ExecStart(id, conn, in); err != nil {
				FrameWriter{conn, StreamStderr}.Write([]byte("berth: " + err.Error() + "\n"))
			}
		}},
		{"POST /exec/{id}/resize", func(w http.ResponseWriter, r *http.Request) {
			o, err := resizeOptions(r)
			if err == nil {
				err = b.ExecResize(r.PathValue("id"), o)
			}
			replyOK(w, err)
		}},
		{"GET /exec/{id}/json", func(w http.ResponseWriter, r *http.Request) {
			x, err := b.ExecInspect(r.PathValue("id"))
			reply(w, x, err)
		}},
	}
}
