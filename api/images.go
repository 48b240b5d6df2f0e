package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"

	"berth/errdefs"
)

// ImageBackend is what the image and build routes ask of the engine.
type ImageBackend interface {
	ImageList(o image.ListOptions) ([]image.Summary, error)
	ImageInspect(ref string) (image.InspectResponse, error)
	ImageHistory(ref string) ([]image.HistoryResponseItem, error)
	ImageRemove(ref string, o image.RemoveOptions) ([]image.DeleteResponse, error)
	ImageTag(src, repo, tag string) error
	// ImageLoad loads a docker save tarball or OCI layout, telling of its
	// progress; it returns the names (or ids) loaded.
	ImageLoad(r io.Reader, progress io.Writer) ([]string, error)
	ImageSave(names []string, w io.Writer) error
	ImagePull(ref string, auth registry.AuthConfig, progress io.Writer) (string, error)
	ImagePush(ref string, auth registry.AuthConfig, progress io.Writer) (string, error)
	// ImageImport makes a one-layer image of a flat root filesystem tar,
	// applying Dockerfile changes (CMD, ENV...) to its config.
	ImageImport(r io.Reader, ref string, changes []string, message string, progress io.Writer) (string, error)
	ImageSearch(term string, limit int, f filters.Args, auth registry.AuthConfig) ([]registry.SearchResult, error)
	ImagePrune(f filters.Args) (image.PruneReport, error)
	Build(context io.Reader, o build.ImageBuildOptions, out io.Writer) (string, error)
	BuildPrune(o build.CachePruneOptions) (build.CachePruneReport, error)
	// Auth checks credentials against their registry.
	Auth(a registry.AuthConfig) (registry.AuthenticateOKBody, error)
}

func (s *Server) imageRoutes() []route {
	b := s.b
	return []route{
		{"GET /images/json", func(w http.ResponseWriter, r *http.Request) {
			f, err := filtersParam(r)
			if err != nil {
				replyError(w, err)
				return
			}
			if ref := r.URL.Query().Get("filter"); ref != "" { // API < 1.28
				f.Add("reference", ref)
			}
			list, err := b.ImageList(image.ListOptions{All: truthy(r, "all"), Filters: f, SharedSize: truthy(r, "shared-size")})
			if list == nil {
				list = []image.Summary{}
			}
			reply(w, list, err)
		}},
		{"GET /images/get", func(w http.ResponseWriter, r *http.Request) {
			s.imageSave(w, r, r.URL.Query()["names"])
		}},
		{"GET /images/search", func(w http.ResponseWriter, r *http.Request) {
			f, err := filtersParam(r)
			if err != nil {
				replyError(w, err)
				return
			}
			limit, err := intParam(r, "limit", 25)
			if err != nil {
				replyError(w, err)
				return
			}
			res, err := b.ImageSearch(r.URL.Query().Get("term"), limit, f, authHeader(r))
			if res == nil {
				res = []registry.SearchResult{}
			}
			reply(w, res, err)
		}},
		{"GET /images/{name...}", s.imageGet},
		{"POST /images/load", func(w http.ResponseWriter, r *http.Request) {
			p := newProgress(w, false)
			loaded, err := b.ImageLoad(r.Body, p)
			if err != nil {
				p.fail(err)
				return
			}
			for _, l := range loaded {
				if strings.HasPrefix(l, "sha256:") {
					p.Write([]byte("Loaded image ID: " + l))
				} else {
					p.Write([]byte("Loaded image: " + l))
				}
			}
		}},
		{"POST /images/create", s.imageCreate},
		{"POST /images/prune", func(w http.ResponseWriter, r *http.Request) {
			f, err := filtersParam(r)
			if err != nil {
				replyError(w, err)
				return
			}
			rep, err := b.ImagePrune(f)
			if rep.ImagesDeleted == nil {
				rep.ImagesDeleted = []image.DeleteResponse{}
			}
			reply(w, rep, err)
		}},
		{"POST /images/{name...}", s.imagePost},
		{"DELETE /images/{name...}", func(w http.ResponseWriter, r *http.Request) {
			out, err := b.ImageRemove(r.PathValue("name"), image.RemoveOptions{Force: truthy(r, "force"), PruneChildren: !truthy(r, "noprune")})
			reply(w, out, err)
		}},
		{"POST /build", s.build},
		{"POST /build/prune", func(w http.ResponseWriter, r *http.Request) {
			rep, err := b.BuildPrune(build.CachePruneOptions{All: truthy(r, "all")})
			if rep.CachesDeleted == nil {
				rep.CachesDeleted = []string{}
			}
			reply(w, rep, err)
		}},
		{"POST /auth", func(w http.ResponseWriter, r *http.Request) {
			var a registry.AuthConfig
			if err := decode(r, &a); err != nil {
				replyError(w, err)
				return
			}
			resp, err := b.Auth(a)
			reply(w, resp, err)
		}},
	}
}

// imageGet is GET /images/NAME/json, /history and /get: an image's name
// may hold slashes, so the route takes the rest of the path.
func (s *Server) imageGet(w http.ResponseWriter, r *http.Request) {
	rest := r.PathValue("name")
	switch {
	case strings.HasSuffix(rest, "/json"):
		img, err := s.b.ImageInspect(strings.TrimSuffix(rest, "/json"))
		reply(w, img, err)
	case strings.HasSuffix(rest, "/history"):
		h, err := s.b.ImageHistory(strings.TrimSuffix(rest, "/history"))
		reply(w, h, err)
	case strings.HasSuffix(rest, "/get"):
		s.imageSave(w, r, []string{strings.TrimSuffix(rest, "/get")})
	default:
		replyError(w, errdefs.Kind(errdefs.ErrNotFound, fmt.Errorf("page not found")))
	}
}

// imagePost is POST /images/NAME/tag and /push.
func (s *Server) imagePost(w http.ResponseWriter, r *http.Request) {
	rest := r.PathValue("name")
	q := r.URL.Query()
	switch {
	case strings.HasSuffix(rest, "/tag"):
		if err := s.b.ImageTag(strings.TrimSuffix(rest, "/tag"), q.Get("repo"), q.Get("tag")); err != nil {
			replyError(w, err)
			return
		}
		w.WriteHeader(http.StatusCreated)
	case strings.HasSuffix(rest, "/push"):
		ref := strings.TrimSuffix(rest, "/push")
		if t := q.Get("tag"); t != "" {
			ref += ":" + t
		}
		p := newProgress(w, true)
		digest, err := s.b.ImagePush(ref, authHeader(r), p)
		if err != nil {
			p.fail(err)
			return
		}
		tag := q.Get("tag")
		if tag == "" {
			tag = "latest"
		}
		aux, _ := json.Marshal(map[string]any{"Tag": tag, "Digest": digest, "Size": 0})
		raw := json.RawMessage(aux)
		p.send(JSONMessage{Status: tag + ": digest: " + digest})
		p.send(JSONMessage{Aux: &raw})
	default:
		replyError(w, errdefs.Kind(errdefs.ErrNotFound, fmt.Errorf("page not found")))
	}
}

func (s *Server) imageSave(w http.ResponseWriter, r *http.Request, names []string) {
	for _, n := range names {
		if _, err := s.b.ImageInspect(n); err != nil {
			replyError(w, err)
			return
		}
	}
	out := &firstWrite{w: w, header: func() { w.Header().Set("Content-Type", "application/x-tar") }}
	if err := s.b.ImageSave(names, out); err != nil && !out.wrote {
		replyError(w, err)
	}
}

// imageCreate is POST /images/create: a pull (fromImage) or an import
// (fromSrc=-).
func (s *Server) imageCreate(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if from := q.Get("fromImage"); from != "" {
		ref := from
		if t := q.Get("tag"); t != "" {
			if strings.HasPrefix(t, "sha256:") {
				ref += "@" + t
			} else {
				ref += ":" + t
			}
		}
		if p := q.Get("platform"); p != "" && p != "linux/amd64" && p != "linux" {
			replyError(w, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("platform %s: berth runs linux/amd64 images only", p)))
			return
		}
		p := newProgress(w, true)
		id, err := s.b.ImagePull(ref, authHeader(r), p)
		if err != nil {
			p.fail(err)
			return
		}
		p.send(JSONMessage{Status: "Digest: " + id})
		p.send(JSONMessage{Status: "Status: Downloaded newer image for " + ref})
		return
	}
	if q.Get("fromSrc") != "-" {
		replyError(w, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("give fromImage to pull, or fromSrc=- to import (berth does not fetch from URLs)")))
		return
	}
	ref := q.Get("repo")
	if ref != "" && q.Get("tag") != "" {
		ref += ":" + q.Get("tag")
	}
	p := newProgress(w, true)
	id, err := s.b.ImageImport(r.Body, ref, q["changes"], q.Get("message"), p)
	if err != nil {
		p.fail(err)
		return
	}
	p.send(JSONMessage{Status: id})
}

// buildParams are the POST /build parameters berth carries out; another
// that asks for anything but its default is refused.
var buildParams = map[string]bool{"t": true, "dockerfile": true, "buildargs": true, "nocache": true, "rm": true,
	"forcerm": true, "q": true, "labels": true, "version": true, "session": true, "remote": true}

// buildDefaults are values of other parameters that ask for nothing.
var buildDefaults = map[string]bool{"": true, "0": true, "false": true, "{}": true, "[]": true, "null": true, "default": true}

func (s *Server) build(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k, vs := range q {
		for _, v := range vs {
			if !buildParams[k] && !buildDefaults[v] {
				replyError(w, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("berth's builder does not support the build option %s=%s", k, v)))
				return
			}
		}
	}
	if v := q.Get("version"); v == "2" {
		replyError(w, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("berth builds with the classic builder (version 1), not BuildKit: unset DOCKER_BUILDKIT or set it to 0")))
		return
	}
	if q.Get("remote") != "" {
		replyError(w, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("berth builds from a context sent with the request, not from a remote URL")))
		return
	}
	o := build.ImageBuildOptions{Tags: q["t"], Dockerfile: q.Get("dockerfile"), NoCache: truthy(r, "nocache"),
		Remove: q.Get("rm") != "0" && q.Get("rm") != "false", ForceRemove: truthy(r, "forcerm"), SuppressOutput: truthy(r, "q")}
	for k, dst := range map[string]any{"buildargs": &o.BuildArgs, "labels": &o.Labels} {
		if v := q.Get(k); v != "" {
			if err := json.Unmarshal([]byte(v), dst); err != nil {
				replyError(w, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("%s: %w", k, err)))
				return
			}
		}
	}
	p := newProgress(w, false)
	// Quiet (-q): the steps' output is kept back and sent only if the
	// build fails; a build that works prints its image ID alone.
	var out io.Writer = p
	var held bytes.Buffer
	if o.SuppressOutput {
		out = &held
	}
	id, err := s.b.Build(r.Body, o, out)
	if err != nil {
		if o.SuppressOutput {
			p.Write(held.Bytes())
		}
		p.fail(err)
		return
	}
	raw := json.RawMessage(`{"ID":"` + id + `"}`)
	p.send(JSONMessage{Aux: &raw})
	if o.SuppressOutput {
		p.send(JSONMessage{Stream: id + "\n"})
	}
}

// authHeader reads the X-Registry-Auth header, Docker's credentials.
func authHeader(r *http.Request) registry.AuthConfig {
	var a registry.AuthConfig
	if h := r.Header.Get(registry.AuthHeader); h != "" {
		if d, err := registry.DecodeAuthConfig(h); err == nil {
			a = *d
		}
	}
	return a
}
