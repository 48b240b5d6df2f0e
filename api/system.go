package api

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/api/types/volume"
	"golang.org/x/sys/unix"
)

// SystemBackend is what the system routes ask of the engine.
type SystemBackend interface {
	Info() (system.Info, error)
	DiskUsage() (types.DiskUsage, error)
	// Events returns the events recorded since since (all kept ones when
	// zero) and, when follow, a channel of those that come, until ctx ends.
	Events(ctx context.Context, since time.Time, follow bool) ([]events.Message, <-chan events.Message)
}

// VolumeBackend is what the volume routes ask of the engine.
type VolumeBackend interface {
	VolumeList(f filters.Args) ([]*volume.Volume, error)
	VolumeCreate(o volume.CreateOptions) (volume.Volume, error)
	VolumeInspect(name string) (volume.Volume, error)
	VolumeRemove(name string, force bool) error
	VolumePrune(f filters.Args) (volume.PruneReport, error)
}

// NetworkBackend is what the network routes ask of the engine.
type NetworkBackend interface {
	NetworkList(f filters.Args) ([]network.Inspect, error)
	NetworkInspect(ref string) (network.Inspect, error)
	NetworkCreate(o network.CreateRequest) (network.CreateResponse, error)
	NetworkRemove(ref string) error
}

func (s *Server) routes() []route {
	var rs []route
	for _, group := range [][]route{s.systemRoutes(), s.containerRoutes(), s.execRoutes(), s.imageRoutes(), s.volumeRoutes(), s.networkRoutes()} {
		rs = append(rs, group...)
	}
	return rs
}

func (s *Server) systemRoutes() []route {
	b := s.b
	ping := func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Builder-Version", "1")
		h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
		h.Set("Pragma", "no-cache")
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			w.Write([]byte("OK"))
		}
	}
	return []route{
		{"GET /_ping", ping},
		{"HEAD /_ping", ping},
		{"GET /version", func(w http.ResponseWriter, r *http.Request) {
			reply(w, s.Version(), nil)
		}},
		{"GET /info", func(w http.ResponseWriter, r *http.Request) {
			info, err := b.Info()
			reply(w, info, err)
		}},
		{"GET /system/df", func(w http.ResponseWriter, r *http.Request) {
			du, err := b.DiskUsage()
			reply(w, du, err)
		}},
		{"GET /events", s.events},
	}
}

// Version is what GET /version answers.
func (s *Server) Version() types.Version {
	var u unix.Utsname
	unix.Uname(&u)
	v := types.Version{Platform: struct{ Name string }{"berth"}, Version: s.version, APIVersion: Version, MinAPIVersion: MinVersion,
		GoVersion: runtime.Version(), Os: "linux", Arch: runtime.GOARCH, KernelVersion: unix.ByteSliceToString(u.Release[:])}
	v.Components = []types.ComponentVersion{{Name: "Engine", Version: s.version,
		Details: map[string]string{"ApiVersion": Version, "MinAPIVersion": MinVersion, "Os": "linux", "Arch": runtime.GOARCH,
			"GoVersion": v.GoVersion, "KernelVersion": v.KernelVersion}}}
	return v
}

// events is GET /events: the recorded events since since, then, unless
// until is in the past, those that come until until, filtered.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	since, err := parseTime(r.URL.Query().Get("since"), now)
	if err != nil {
		replyError(w, err)
		return
	}
	until, err := parseTime(r.URL.Query().Get("until"), now)
	if err != nil {
		replyError(w, err)
		return
	}
	f, err := filtersParam(r)
	if err != nil {
		replyError(w, err)
		return
	}
	if err := checkEventFilters(f); err != nil {
		replyError(w, err)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	follow := until.IsZero() || until.After(now)
	if !until.IsZero() && follow {
		ctx, cancel = context.WithDeadline(ctx, until)
		defer cancel()
	}
	past, live := s.b.Events(ctx, since, follow)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	send := func(m events.Message) bool {
		if !until.IsZero() && time.Unix(0, m.TimeNano).After(until) {
			return false
		}
		if matchEvent(f, m) {
			if enc.Encode(m) != nil {
				return false
			}
			if fl, ok := w.(http.Flusher); ok {
				fl.Flush()
			}
		}
		return true
	}
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	for _, m := range past {
		if !send(m) {
			return
		}
	}
	if live == nil {
		return
	}
	for {
		select {
		case m, ok := <-live:
			if !ok || !send(m) {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}
