// Package api is berth's Docker Engine API: the routes, the request and
// response types (moby's own, github.com/docker/docker/api/types, so that
// every field has Docker's name, type and omitempty) and a typed client.
// The server sits over small Backend interfaces, as moby's router does:
// handlers decode a request, call the backend, encode the answer; the
// engine is the backend. The berth CLI uses the client and nothing else.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/versions"

	"berth/errdefs"
)

// The API versions berth serves: Version, the highest whose shapes it
// serves fully (what Docker 20.10, and Debian's docker.io, speak), and
// every older one from MinVersion, as Docker does.
const (
	Version    = "1.41"
	MinVersion = "1.24"
)

// Backend is everything the API asks of the engine.
type Backend interface {
	ContainerBackend
	ExecBackend
	ImageBackend
	SystemBackend
	VolumeBackend
	NetworkBackend
}

// Server answers the Docker Engine API.
type Server struct {
	b       Backend
	version string // berth's own version, as "Server Version"
	mux     *http.ServeMux
}

// NewServer returns the API over b; version is berth's version.
func NewServer(b Backend, version string) *Server {
	s := &Server{b: b, version: version, mux: http.NewServeMux()}
	for _, r := range s.routes() {
		s.mux.HandleFunc(r.pattern, r.handler)
	}
	return s
}

type route struct {
	pattern string
	handler http.HandlerFunc
}

// Serve answers on a unix socket at path, root only, until it fails.
func (s *Server) Serve(path string) error {
	os.Remove(path)
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("api: listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return err
	}
	return http.Serve(l, s)
}

var versionPrefix = regexp.MustCompile(`^/v([0-9]+\.[0-9]+)(/.*)$`)

type versionKey struct{}

// ServeHTTP strips and checks the /vX.Y/ prefix of a request, sets the
// headers every answer of Docker's carries, and routes it; an unknown route
// is Docker's JSON 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Api-Version", Version)
	h.Set("Docker-Experimental", "false")
	h.Set("Ostype", "linux")
	h.Set("Server", "Docker/"+s.version+" (linux)")
	version := Version
	if m := versionPrefix.FindStringSubmatch(r.URL.Path); m != nil {
		version, r.URL.Path = m[1], m[2]
		if versions.GreaterThan(version, Version) {
			replyError(w, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("client version %s is too new. Maximum supported API version is %s", version, Version)))
			return
		}
		if versions.LessThan(version, MinVersion) {
			replyError(w, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("client version %s is too old. Minimum supported API version is %s, please upgrade your client to a newer version", version, MinVersion)))
			return
		}
	}
	r = r.WithContext(context.WithValue(r.Context(), versionKey{}, version))
	if _, pattern := s.mux.Handler(r); pattern == "" {
		replyError(w, errdefs.Kind(errdefs.ErrNotFound, errors.New("page not found")))
		return
	}
	s.mux.ServeHTTP(w, r)
}

// versionOf is the API version a request was made in.
func versionOf(r *http.Request) string {
	if v, ok := r.Context().Value(versionKey{}).(string); ok {
		return v
	}
	return Version
}

// statusOf is the HTTP status of an error, by its kind.
func statusOf(err error) int {
	switch {
	case errors.Is(err, errdefs.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, errdefs.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, errdefs.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, errdefs.ErrNotImplemented):
		return http.StatusNotImplemented
	case errors.Is(err, errdefs.ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, errdefs.ErrNotModified):
		return http.StatusNotModified
	case errors.Is(err, errdefs.ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// replyError answers as Docker does: a status that says the error's kind,
// and {"message": ...}.
func replyError(w http.ResponseWriter, err error) {
	status := statusOf(err)
	if status == http.StatusNotModified {
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, map[string]string{"message": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// reply answers with v (200), nothing (204 when v is nil), or err.
func reply(w http.ResponseWriter, v any, err error) {
	switch {
	case err != nil:
		replyError(w, err)
	case v == nil:
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, http.StatusOK, v)
	}
}

// decode reads a JSON body into v; an empty body leaves v as it is.
func decode(r *http.Request, v any) error {
	if r.Body == nil || r.ContentLength == 0 {
		return nil
	}
	err := json.NewDecoder(r.Body).Decode(v)
	if err != nil && err.Error() != "EOF" {
		return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("bad request body: %w", err))
	}
	return nil
}

// truthy reads a boolean query parameter as Docker does: 1, true, or
// present and empty for some.
func truthy(r *http.Request, key string) bool {
	v := strings.ToLower(r.URL.Query().Get(key))
	return v == "1" || v == "true" || v == "yes"
}

// intParam reads an integer query parameter, def when absent.
func intParam(r *http.Request, key string, def int) (int, error) {
	v := r.URL.Query().Get(key)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("%s: %q is not a number", key, v))
	}
	return n, nil
}
