package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"berth/errdefs"
)

// ContainerBackend is what the container routes ask of the engine.
type ContainerBackend interface {
	ContainerCreate(name string, req container.CreateRequest) (container.CreateResponse, error)
	ContainerList(o container.ListOptions) ([]container.Summary, error)
	ContainerInspect(ref string, size bool) (container.InspectResponse, error)
	ContainerStart(ref string) error
	ContainerStop(ref string, o container.StopOptions) error
	ContainerRestart(ref string, o container.StopOptions) error
	ContainerKill(ref, signal string) error
	ContainerPause(ref string) error
	ContainerUnpause(ref string) error
	// ContainerWait registers a wait at once (so that next-exit counts
	// from the call) and answers on the channel when the condition holds.
	ContainerWait(ctx context.Context, ref string, cond container.WaitCondition) (<-chan container.WaitResponse, error)
	ContainerRemove(ref string, o container.RemoveOptions) error
	ContainerRename(ref, name string) error
	ContainerUpdate(ref string, u container.UpdateConfig) (container.UpdateResponse, error)
	ContainerTop(ref, psArgs string) (container.TopResponse, error)
	ContainerChanges(ref string) ([]container.FilesystemChange, error)
	ContainerExport(ref string, w io.Writer) error
	// ContainerLogs writes the container's log; with a terminal both
	// streams are stdout.
	ContainerLogs(ctx context.Context, ref string, o container.LogsOptions, stdout, stderr io.Writer) error
	// ContainerAttach joins the client at conn to the container's streams
	// until the run ends or the client goes; in feeds its stdin.
	ContainerAttach(ref string, o container.AttachOptions, conn io.Writer, in io.Reader) error
	ContainerResize(ref string, o container.ResizeOptions) error
	// ContainerStats hands emit the container's figures, once or every
	// second until ctx ends or emit fails.
	ContainerStats(ctx context.Context, ref string, stream bool, emit func(*container.StatsResponse) error) error
	ContainerStatPath(ref, path string) (container.PathStat, error)
	ContainerArchive(ref, path string, w io.Writer) error
	ContainerExtract(ref, path string, r io.Reader, o container.CopyToContainerOptions) error
	ContainerPrune(f filters.Args) (container.PruneReport, error)
	ContainerCommit(ref string, o container.CommitOptions) (string, error)
}

func (s *Server) containerRoutes() []route {
	b := s.b
	return []route{
		{"GET /containers/json", func(w http.ResponseWriter, r *http.Request) {
			o := container.ListOptions{All: truthy(r, "all"), Size: truthy(r, "size"), Since: r.URL.Query().Get("since"),
				Before: r.URL.Query().Get("before")}
			var err error
			if o.Limit, err = intParam(r, "limit", -1); err == nil {
				o.Filters, err = filtersParam(r)
			}
			if err != nil {
				replyError(w, err)
				return
			}
			list, err := b.ContainerList(o)
			if list == nil {
				list = []container.Summary{}
			}
			reply(w, list, err)
		}},
		{"POST /containers/create", func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				replyError(w, err)
				return
			}
			if err := checkCreateFields(body); err != nil {
				replyError(w, err)
				return
			}
			var req container.CreateRequest
			if err := json.Unmarshal(body, &req); err != nil {
				replyError(w, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("bad request body: %w", err)))
				return
			}
			if req.Config == nil {
				req.Config = &container.Config{}
			}
			if req.HostConfig == nil {
				req.HostConfig = &container.HostConfig{}
			}
			resp, err := b.ContainerCreate(r.URL.Query().Get("name"), req)
			if err != nil {
				replyError(w, err)
				return
			}
			if resp.Warnings == nil {
				resp.Warnings = []string{}
			}
			writeJSON(w, http.StatusCreated, resp)
		}},
		{"GET /containers/{id}/json", func(w http.ResponseWriter, r *http.Request) {
			c, err := b.ContainerInspect(r.PathValue("id"), truthy(r, "size"))
			reply(w, c, err)
		}},
		{"POST /containers/{id}/start", func(w http.ResponseWriter, r *http.Request) {
			reply(w, nil, b.ContainerStart(r.PathValue("id")))
		}},
		{"POST /containers/{id}/stop", func(w http.ResponseWriter, r *http.Request) {
			o, err := stopOptions(r)
			if err == nil {
				err = b.ContainerStop(r.PathValue("id"), o)
			}
			reply(w, nil, err)
		}},
		{"POST /containers/{id}/restart", func(w http.ResponseWriter, r *http.Request) {
			o, err := stopOptions(r)
			if err == nil {
				err = b.ContainerRestart(r.PathValue("id"), o)
			}
			reply(w, nil, err)
		}},
		{"POST /containers/{id}/kill", func(w http.ResponseWriter, r *http.Request) {
			reply(w, nil, b.ContainerKill(r.PathValue("id"), r.URL.Query().Get("signal")))
		}},
		{"POST /containers/{id}/pause", func(w http.ResponseWriter, r *http.Request) {
			reply(w, nil, b.ContainerPause(r.PathValue("id")))
		}},
		{"POST /containers/{id}/unpause", func(w http.ResponseWriter, r *http.Request) {
			reply(w, nil, b.ContainerUnpause(r.PathValue("id")))
		}},
		{"POST /containers/{id}/wait", s.containerWait},
		{"DELETE /containers/{id}", func(w http.ResponseWriter, r *http.Request) {
			reply(w, nil, b.ContainerRemove(r.PathValue("id"), container.RemoveOptions{Force: truthy(r, "force"),
				RemoveVolumes: truthy(r, "v"), RemoveLinks: truthy(r, "link")}))
		}},
		{"POST /containers/{id}/rename", func(w http.ResponseWriter, r *http.Request) {
			reply(w, nil, b.ContainerRename(r.PathValue("id"), r.URL.Query().Get("name")))
		}},
		{"POST /containers/{id}/update", func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(r.Body)
			if err == nil && len(body) > 0 {
				err = checkUpdateFields(body)
			}
			var u container.UpdateConfig
			if err == nil && len(body) > 0 {
				if jerr := json.Unmarshal(body, &u); jerr != nil {
					err = errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("bad request body: %w", jerr))
				}
			}
			if err != nil {
				replyError(w, err)
				return
			}
			resp, err := b.ContainerUpdate(r.PathValue("id"), u)
			if resp.Warnings == nil {
				resp.Warnings = []string{}
			}
			reply(w, resp, err)
		}},
		{"GET /containers/{id}/top", func(w http.ResponseWriter, r *http.Request) {
			top, err := b.ContainerTop(r.PathValue("id"), r.URL.Query().Get("ps_args"))
			reply(w, top, err)
		}},
		{"GET /containers/{id}/changes", func(w http.ResponseWriter, r *http.Request) {
			ch, err := b.ContainerChanges(r.PathValue("id"))
			if ch == nil {
				ch = []container.FilesystemChange{}
			}
			reply(w, ch, err)
		}},
		{"GET /containers/{id}/export", func(w http.ResponseWriter, r *http.Request) {
			out := &firstWrite{w: w, header: func() { w.Header().Set("Content-Type", "application/x-tar") }}
			if err := b.ContainerExport(r.PathValue("id"), out); err != nil && !out.wrote {
				replyError(w, err)
			}
		}},
		{"GET /containers/{id}/logs", s.containerLogs},
		{"POST /containers/{id}/attach", s.containerAttach},
		{"POST /containers/{id}/resize", func(w http.ResponseWriter, r *http.Request) {
			o, err := resizeOptions(r)
			if err == nil {
				err = b.ContainerResize(r.PathValue("id"), o)
			}
			replyOK(w, err)
		}},
		{"GET /containers/{id}/stats", s.containerStats},
		{"HEAD /containers/{id}/archive", func(w http.ResponseWriter, r *http.Request) {
			st, err := b.ContainerStatPath(r.PathValue("id"), r.URL.Query().Get("path"))
			if err == nil {
				err = setPathStat(w, st)
			}
			if err != nil {
				w.WriteHeader(statusOf(err))
				return
			}
			w.WriteHeader(http.StatusOK)
		}},
		{"GET /containers/{id}/archive", func(w http.ResponseWriter, r *http.Request) {
			id, p := r.PathValue("id"), r.URL.Query().Get("path")
			st, err := b.ContainerStatPath(id, p)
			if err == nil {
				err = setPathStat(w, st)
			}
			if err != nil {
				replyError(w, err)
				return
			}
			w.Header().Set("Content-Type", "application/x-tar")
			out := &firstWrite{w: w}
			if err := b.ContainerArchive(id, p, out); err != nil && !out.wrote {
				replyError(w, err)
			}
		}},
		{"PUT /containers/{id}/archive", func(w http.ResponseWriter, r *http.Request) {
			o := container.CopyToContainerOptions{AllowOverwriteDirWithFile: !truthy(r, "noOverwriteDirNonDir"), CopyUIDGID: truthy(r, "copyUIDGID")}
			replyOK(w, b.ContainerExtract(r.PathValue("id"), r.URL.Query().Get("path"), r.Body, o))
		}},
		{"POST /containers/prune", func(w http.ResponseWriter, r *http.Request) {
			f, err := filtersParam(r)
			if err != nil {
				replyError(w, err)
				return
			}
			rep, err := b.ContainerPrune(f)
			if rep.ContainersDeleted == nil {
				rep.ContainersDeleted = []string{}
			}
			reply(w, rep, err)
		}},
		{"POST /commit", func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			var cfg container.Config
			if err := decode(r, &cfg); err != nil {
				replyError(w, err)
				return
			}
			ref := q.Get("repo")
			if ref != "" && q.Get("tag") != "" {
				ref += ":" + q.Get("tag")
			}
			o := container.CommitOptions{Reference: ref, Comment: q.Get("comment"), Author: q.Get("author"),
				Changes: q["changes"], Pause: q.Get("pause") != "0" && q.Get("pause") != "false", Config: &cfg}
			id, err := b.ContainerCommit(q.Get("container"), o)
			if err != nil {
				replyError(w, err)
				return
			}
			writeJSON(w, http.StatusCreated, map[string]string{"Id": id})
		}},
	}
}

// replyOK answers 200 with no body, or err.
func replyOK(w http.ResponseWriter, err error) {
	if err != nil {
		replyError(w, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func stopOptions(r *http.Request) (container.StopOptions, error) {
	o := container.StopOptions{Signal: r.URL.Query().Get("signal")}
	if r.URL.Query().Get("t") != "" {
		t, err := intParam(r, "t", 0)
		if err != nil {
			return o, err
		}
		o.Timeout = &t
	}
	return o, nil
}

func resizeOptions(r *http.Request) (container.ResizeOptions, error) {
	h, err := intParam(r, "h", 0)
	if err != nil {
		return container.ResizeOptions{}, err
	}
	wd, err := intParam(r, "w", 0)
	return container.ResizeOptions{Height: uint(h), Width: uint(wd)}, err
}

// setPathStat sets the header Docker's cp reads a path's stat from.
func setPathStat(w http.ResponseWriter, st container.PathStat) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	w.Header().Set("X-Docker-Container-Path-Stat", base64.StdEncoding.EncodeToString(b))
	return nil
}

// containerWait is POST /containers/{id}/wait?condition=: the wait starts
// when the request arrives (the status line goes out at once, as
// Docker's, so that a client may start the container meanwhile), the
// answer when the condition holds.
func (s *Server) containerWait(w http.ResponseWriter, r *http.Request) {
	cond := container.WaitCondition(r.URL.Query().Get("condition"))
	switch cond {
	case "", container.WaitConditionNotRunning, container.WaitConditionNextExit, container.WaitConditionRemoved:
	default:
		replyError(w, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid condition: %q", cond)))
		return
	}
	ch, err := s.b.ContainerWait(r.Context(), r.PathValue("id"), cond)
	if err != nil {
		replyError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	select {
	case resp := <-ch:
		json.NewEncoder(w).Encode(resp)
	case <-r.Context().Done():
	}
}

func (s *Server) containerLogs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	o := container.LogsOptions{ShowStdout: truthy(r, "stdout"), ShowStderr: truthy(r, "stderr"), Since: q.Get("since"),
		Until: q.Get("until"), Timestamps: truthy(r, "timestamps"), Follow: truthy(r, "follow"), Tail: q.Get("tail"),
		Details: truthy(r, "details")}
	if !o.ShowStdout && !o.ShowStderr {
		replyError(w, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("Bad parameters: you must choose at least one stream")))
		return
	}
	c, err := s.b.ContainerInspect(r.PathValue("id"), false)
	if err != nil {
		replyError(w, err)
		return
	}
	tty := c.Config != nil && c.Config.Tty
	var stdout, stderr io.Writer = &flushWriter{w: w}, &flushWriter{w: w}
	if tty {
		w.Header().Set("Content-Type", "application/vnd.docker.raw-stream")
	} else {
		w.Header().Set("Content-Type", "application/vnd.docker.multiplexed-stream")
		stdout, stderr = FrameWriter{stdout, StreamStdout}, FrameWriter{stderr, StreamStderr}
	}
	w.WriteHeader(http.StatusOK)
	if err := s.b.ContainerLogs(r.Context(), c.ID, o, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "Error: %v\n", err)
	}
}

// containerAttach is POST /containers/{id}/attach: the connection is taken
// over from the HTTP server for the stream both ways, as Docker's.
func (s *Server) containerAttach(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, err := s.b.ContainerInspect(id, false); err != nil {
		replyError(w, err)
		return
	}
	o := container.AttachOptions{Stream: truthy(r, "stream"), Stdin: truthy(r, "stdin"), Stdout: truthy(r, "stdout"),
		Stderr: truthy(r, "stderr"), Logs: truthy(r, "logs"), DetachKeys: r.URL.Query().Get("detachKeys")}
	conn, in, err := hijack(w, r)
	if err != nil {
		replyError(w, err)
		return
	}
	defer conn.Close()
	s.b.ContainerAttach(id, o, conn, in)
}

func (s *Server) containerStats(w http.ResponseWriter, r *http.Request) {
	stream := r.URL.Query().Get("stream") == "" || truthy(r, "stream")
	if truthy(r, "one-shot") {
		stream = false
	}
	started := false
	enc := json.NewEncoder(w)
	err := s.b.ContainerStats(r.Context(), r.PathValue("id"), stream, func(st *container.StatsResponse) error {
		if !started {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			started = true
		}
		if err := enc.Encode(st); err != nil {
			return err
		}
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		return nil
	})
	if err != nil && !started {
		replyError(w, err)
	}
}

// firstWrite calls header before its first write, and says whether any
// write happened: an error before that can still be the answer.
type firstWrite struct {
	w      io.Writer
	header func()
	wrote  bool
}

func (f *firstWrite) Write(p []byte) (int, error) {
	if !f.wrote {
		f.wrote = true
		if f.header != nil {
			f.header()
		}
	}
	return f.w.Write(p)
}

// flushWriter flushes every write, so that a follower sees lines as they
// come.
type flushWriter struct{ w http.ResponseWriter }

func (f *flushWriter) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if fl, ok := f.w.(http.Flusher); ok {
		fl.Flush()
	}
	return n, err
}

// filtersParam reads the filters query parameter (Docker's JSON).
func filtersParam(r *http.Request) (filters.Args, error) {
	f, err := filters.FromJSON(r.URL.Query().Get("filters"))
	if err != nil {
		return f, errdefs.Kind(errdefs.ErrInvalid, err)
	}
	return f, nil
}

// parseTime reads a since/until value as Docker does: a Unix time with
// optional fraction, an RFC 3339 time, or a duration before now ("10m").
func parseTime(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	sec, frac, _ := strings.Cut(v, ".")
	var s, n int64
	if _, err := fmt.Sscan(sec, &s); err != nil {
		return time.Time{}, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("%q is not a time: give a Unix time, an RFC 3339 time or a duration such as 10m", v))
	}
	if frac != "" {
		frac = (frac + "000000000")[:9]
		fmt.Sscan(frac, &n)
	}
	return time.Unix(s, n), nil
}

// ParseTime is parseTime for the engine and the CLI: since/until values.
func ParseTime(v string) (time.Time, error) { return parseTime(v, time.Now()) }
