package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/versions"
	"github.com/docker/docker/api/types/volume"

	"berth/errdefs"
)

func (s *Server) volumeRoutes() []route {
	b := s.b
	return []route{
		{"GET /volumes", func(w http.ResponseWriter, r *http.Request) {
			f, err := filtersParam(r)
			if err != nil {
				replyError(w, err)
				return
			}
			list, err := b.VolumeList(f)
			if list == nil {
				list = []*volume.Volume{}
			}
			reply(w, volume.ListResponse{Volumes: list, Warnings: []string{}}, err)
		}},
		{"POST /volumes/create", func(w http.ResponseWriter, r *http.Request) {
			var o volume.CreateOptions
			if err := decode(r, &o); err != nil {
				replyError(w, err)
				return
			}
			v, err := b.VolumeCreate(o)
			if err != nil {
				replyError(w, err)
				return
			}
			writeJSON(w, http.StatusCreated, v)
		}},
		{"POST /volumes/prune", func(w http.ResponseWriter, r *http.Request) {
			f, err := filtersParam(r)
			if err != nil {
				replyError(w, err)
				return
			}
			if versions.LessThan(versionOf(r), "1.42") {
				// Before API 1.42, prune took named volumes too.
				f.Add("all", "true")
			}
			rep, err := b.VolumePrune(f)
			if rep.VolumesDeleted == nil {
				rep.VolumesDeleted = []string{}
			}
			reply(w, rep, err)
		}},
		{"GET /volumes/{name}", func(w http.ResponseWriter, r *http.Request) {
			v, err := b.VolumeInspect(r.PathValue("name"))
			reply(w, v, err)
		}},
		{"DELETE /volumes/{name}", func(w http.ResponseWriter, r *http.Request) {
			reply(w, nil, b.VolumeRemove(r.PathValue("name"), truthy(r, "force")))
		}},
	}
}

func (s *Server) networkRoutes() []route {
	b := s.b
	return []route{
		{"GET /networks", func(w http.ResponseWriter, r *http.Request) {
			f, err := filtersParam(r)
			if err != nil {
				replyError(w, err)
				return
			}
			list, err := b.NetworkList(f)
			if list == nil {
				list = []network.Inspect{}
			}
			reply(w, list, err)
		}},
		{"GET /networks/{id}", func(w http.ResponseWriter, r *http.Request) {
			n, err := b.NetworkInspect(r.PathValue("id"))
			reply(w, n, err)
		}},
		{"POST /networks/create", func(w http.ResponseWriter, r *http.Request) {
			var o network.CreateRequest
			if err := decode(r, &o); err != nil {
				replyError(w, err)
				return
			}
			resp, err := b.NetworkCreate(o)
			if err != nil {
				replyError(w, err)
				return
			}
			writeJSON(w, http.StatusCreated, resp)
		}},
		{"DELETE /networks/{id}", func(w http.ResponseWriter, r *http.Request) {
			reply(w, nil, b.NetworkRemove(r.PathValue("id")))
		}},
		{"POST /networks/prune", func(w http.ResponseWriter, r *http.Request) {
			reply(w, network.PruneReport{NetworksDeleted: []string{}}, nil) // berth's networks are built in
		}},
	}
}

// eventFilters are the filters GET /events takes.
var eventFilters = map[string]bool{"type": true, "container": true, "image": true, "event": true, "label": true,
	"volume": true, "network": true, "daemon": true, "scope": true}

func checkEventFilters(f filters.Args) error {
	for _, k := range f.Keys() {
		if !eventFilters[k] {
			return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid filter '%s'", k))
		}
	}
	return nil
}

// matchEvent applies GET /events' filters, as Docker does: within a key
// any value matches; every key must.
func matchEvent(f filters.Args, m events.Message) bool {
	attr := m.Actor.Attributes
	name := attr["name"]
	if !f.ExactMatch("type", string(m.Type)) {
		return false
	}
	if !f.ExactMatch("event", string(m.Action)) && !f.ExactMatch("event", strings.SplitN(string(m.Action), ":", 2)[0]) {
		return false
	}
	if f.Contains("container") && (m.Type != events.ContainerEventType || !matchRef(f.Get("container"), m.Actor.ID, name)) {
		return false
	}
	if f.Contains("image") {
		img := attr["image"]
		if m.Type == events.ImageEventType {
			img = m.Actor.ID
		}
		if !matchRef(f.Get("image"), img, attr["name"]) {
			return false
		}
	}
	if f.Contains("volume") && (m.Type != events.VolumeEventType || !matchRef(f.Get("volume"), m.Actor.ID, "")) {
		return false
	}
	if f.Contains("network") && (m.Type != events.NetworkEventType || !matchRef(f.Get("network"), m.Actor.ID, name)) {
		return false
	}
	if f.Contains("label") && !f.MatchKVList("label", attr) {
		return false
	}
	return !f.Contains("scope") || f.ExactMatch("scope", m.Scope)
}

// matchRef reports whether one of wants names id (whole or by prefix) or
// name.
func matchRef(wants []string, id, name string) bool {
	for _, w := range wants {
		if w == name || strings.TrimPrefix(w, "/") == strings.TrimPrefix(name, "/") || (len(w) >= 1 && strings.HasPrefix(id, w)) {
			return true
		}
	}
	return false
}
