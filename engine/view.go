package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/storage"
	"github.com/docker/go-connections/nat"
	"github.com/docker/go-units"

	"berth/errdefs"
)

// This file is the engine's records as Docker's API shows them: inspect,
// the list of docker ps and its filters.

// ContainerCreate is POST /containers/create.
func (e *Engine) ContainerCreate(name string, req container.CreateRequest) (container.CreateResponse, error) {
	c, warnings, err := e.Create(name, req.Config, req.HostConfig)
	if err != nil {
		return container.CreateResponse{}, err
	}
	return container.CreateResponse{ID: c.Id, Warnings: warnings}, nil
}

// ContainerInspect is docker inspect of a container; with size, the size
// of its changes and of its whole root.
func (e *Engine) ContainerInspect(ref string, size bool) (container.InspectResponse, error) {
	en, err := e.find(ref)
	if err != nil {
		return container.InspectResponse{}, err
	}
	e.mu.Lock()
	c := *en.c
	var execs []string
	for id, x := range e.execs {
		if x.inspect.ContainerID == c.Id {
			execs = append(execs, id)
		}
	}
	e.mu.Unlock()
	sort.Strings(execs)
	out := e.inspectView(c, execs)
	if size {
		rw, root := e.sizes(c)
		out.SizeRw, out.SizeRootFs = &rw, &root
	}
	return out, nil
}

// dockerTime is a time as Docker's JSON writes it; the zero time too.
func dockerTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// inspectView is container c as docker inspect shows it.
func (e *Engine) inspectView(c Container, execs []string) container.InspectResponse {
	st := c.State
	state := &container.State{Status: container.ContainerState(st.Status), Running: st.Running || st.Restarting, Paused: st.Paused,
		Restarting: st.Restarting, OOMKilled: st.OOMKilled, Dead: st.Dead, Pid: st.Pid, ExitCode: st.ExitCode, Error: st.Error,
		StartedAt: dockerTime(st.StartedAt), FinishedAt: dockerTime(st.FinishedAt), Health: st.Health}
	dir := e.dir(c.Id)
	graph := storage.DriverData{Name: "devicemapper", Data: map[string]string{"DeviceName": e.opts.Storage.DeviceName(c.Id)}}
	if d, err := e.opts.Storage.Device(c.Id); err == nil {
		graph.Data["DeviceId"] = strconv.FormatUint(uint64(d.ID), 10)
		graph.Data["DeviceSize"] = strconv.FormatUint(d.Size, 10)
	}
	base := &container.ContainerJSONBase{ID: c.Id, Created: dockerTime(c.Created), Path: c.Path, Args: c.Args, State: state,
		Image: c.Image, ResolvConfPath: filepath.Join(dir, "resolv.conf"), HostnamePath: filepath.Join(dir, "hostname"),
		HostsPath: filepath.Join(dir, "hosts"), LogPath: c.LogPath, Name: c.Name, RestartCount: c.RestartCount,
		Driver: "devicemapper", Platform: "linux", MountLabel: c.MountLabel, ProcessLabel: c.ProcessLabel,
		ExecIDs: execs, HostConfig: c.HostConfig, GraphDriver: graph}
	if base.Args == nil {
		base.Args = []string{}
	}
	mounts := c.Mounts
	if mounts == nil {
		mounts = []container.MountPoint{}
	}
	return container.InspectResponse{ContainerJSONBase: base, Mounts: mounts, Config: c.Config, NetworkSettings: e.networkView(c)}
}

// networkID is the id of one of berth's networks (bridge, host, none): a
// digest of its name, the same on every boot.
func networkID(name string) string {
	sum := sha256.Sum256([]byte("berth network " + name))
	return hex.EncodeToString(sum[:])
}

// endpointID is the id of container id's endpoint on network name.
func endpointID(id, name string) string {
	sum := sha256.Sum256([]byte("berth endpoint " + id + " " + name))
	return hex.EncodeToString(sum[:])
}

// networkView is the container's NetworkSettings as Docker shows them:
// the old top-level fields of the default network, and Networks.
func (e *Engine) networkView(c Container) *container.NetworkSettings {
	ns := c.NetworkSettings
	name := networkMode(c.HostConfig)
	running := c.State.Running
	ep := &network.EndpointSettings{NetworkID: networkID(name), MacAddress: ns.MacAddress}
	out := &container.NetworkSettings{Networks: map[string]*network.EndpointSettings{name: ep}}
	out.Ports = ns.Ports
	if out.Ports == nil {
		out.Ports = nat.PortMap{}
	}
	if running {
		out.SandboxID = endpointID(c.Id, "sandbox")
		out.SandboxKey = fmt.Sprintf("/proc/%d/ns/net", c.State.Pid)
		ep.EndpointID = endpointID(c.Id, name)
	}
	for _, l := range c.HostConfig.Links {
		ep.Links = append(ep.Links, l)
	}
	if name == "bridge" && running {
		ep.IPAddress, ep.IPPrefixLen, ep.Gateway = ns.IPAddress, ns.IPPrefixLen, ns.Gateway
		out.Bridge = ns.Bridge
		out.EndpointID, out.Gateway, out.IPAddress, out.IPPrefixLen, out.MacAddress = ep.EndpointID, ns.Gateway, ns.IPAddress, ns.IPPrefixLen, ns.MacAddress //nolint:staticcheck // API 1.41's fields
	}
	return out
}

// summary is container c as docker ps lists it.
func (e *Engine) summary(c Container, names []string) container.Summary {
	s := container.Summary{ID: c.Id, Names: names, Image: c.Config.Image, ImageID: c.Image, Command: commandLine(c),
		Created: c.Created.Unix(), Labels: c.Config.Labels, State: container.ContainerState(c.State.Status), Status: statusText(c.State, time.Now()),
		NetworkSettings: &container.NetworkSettingsSummary{Networks: e.networkView(c).Networks}, Mounts: c.Mounts, Ports: ports(c)}
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	if s.Mounts == nil {
		s.Mounts = []container.MountPoint{}
	}
	s.HostConfig.NetworkMode = networkMode(c.HostConfig)
	return s
}

// commandLine is the container's command as docker ps shows it.
func commandLine(c Container) string {
	if len(c.Args) == 0 {
		return c.Path
	}
	return c.Path + " " + strings.Join(c.Args, " ")
}

// ports lists the container's ports as docker ps shows them: exposed ones
// alone, published ones with the host's address and port.
func ports(c Container) []container.Port {
	out := []container.Port{}
	for p, bindings := range c.NetworkSettings.Ports {
		if len(bindings) == 0 {
			out = append(out, container.Port{PrivatePort: uint16(p.Int()), Type: p.Proto()})
			continue
		}
		for _, b := range bindings {
			hp, _ := strconv.Atoi(b.HostPort)
			out = append(out, container.Port{IP: b.HostIP, PrivatePort: uint16(p.Int()), PublicPort: uint16(hp), Type: p.Proto()})
		}
	}
	if !c.State.Running {
		out = out[:0]
		for p := range c.Config.ExposedPorts {
			out = append(out, container.Port{PrivatePort: uint16(p.Int()), Type: p.Proto()})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].PrivatePort != out[j].PrivatePort {
			return out[i].PrivatePort < out[j].PrivatePort
		}
		return out[i].Type < out[j].Type
	})
	return out
}

// statusText is the Status column of docker ps, as Docker words it.
func statusText(st State, now time.Time) string {
	switch {
	case st.Restarting:
		return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(st.FinishedAt)))
	case st.Running && st.Paused:
		return fmt.Sprintf("Up %s (Paused)", units.HumanDuration(now.Sub(st.StartedAt)))
	case st.Running && st.Health != nil:
		h := st.Health.Status
		if h == container.Starting {
			h = "health: starting"
		}
		return fmt.Sprintf("Up %s (%s)", units.HumanDuration(now.Sub(st.StartedAt)), h)
	case st.Running:
		return "Up " + units.HumanDuration(now.Sub(st.StartedAt))
	case st.Status == "removing":
		return "Removal In Progress"
	case st.Dead:
		return "Dead"
	case st.StartedAt.IsZero():
		return "Created"
	case st.FinishedAt.IsZero():
		return ""
	}
	return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, units.HumanDuration(now.Sub(st.FinishedAt)))
}

// psFilters are the filters docker ps takes.
var psFilters = map[string]bool{"ancestor": true, "before": true, "expose": true, "exited": true, "health": true, "id": true,
	"isolation": true, "is-task": true, "label": true, "name": true, "network": true, "publish": true, "since": true,
	"status": true, "volume": true}

var containerStates = map[string]bool{"created": true, "restarting": true, "running": true, "removing": true, "paused": true,
	"exited": true, "dead": true}

// ContainerList is docker ps: the running containers, or with All every
// one, newest first, filtered, at most Limit of them.
func (e *Engine) ContainerList(o container.ListOptions) ([]container.Summary, error) {
	f := o.Filters
	for _, k := range f.Keys() {
		if !psFilters[k] {
			return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid filter '%s'", k))
		}
	}
	for _, s := range f.Get("status") {
		if !containerStates[s] {
			return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid filter 'status=%s'", s))
		}
	}
	for _, h := range f.Get("health") {
		if h != "starting" && h != "healthy" && h != "unhealthy" && h != "none" {
			return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("unrecognized filter value for health: %s", h))
		}
	}
	var exited []int
	for _, v := range f.Get("exited") {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid filter 'exited=%s'", v))
		}
		exited = append(exited, n)
	}
	all := e.List(true)
	// before and since: containers made before or after the one named.
	var before, since time.Time
	for _, bound := range []struct {
		key, ref string
		at       *time.Time
	}{{"before", o.Before, &before}, {"since", o.Since, &since}} {
		refs := f.Get(bound.key)
		if bound.ref != "" {
			refs = append(refs, bound.ref)
		}
		for _, ref := range refs {
			c, err := e.Inspect(ref)
			if err != nil {
				return nil, err
			}
			*bound.at = c.Created
		}
	}
	var ancestors []string
	for _, ref := range f.Get("ancestor") {
		if img, err := e.Images.Get(ref); err == nil {
			ancestors = append(ancestors, img.ID)
			ancestors = append(ancestors, e.Images.Descendants(img.ID)...)
		}
	}
	linkNames := linkedNames(all)
	showAll := o.All || o.Limit > 0 || !before.IsZero() || !since.IsZero() || len(exited) > 0 || f.Contains("status")
	out := []container.Summary{}
	for _, c := range all {
		if !showAll && !c.State.Running && !c.State.Restarting {
			continue
		}
		if (!before.IsZero() && !c.Created.Before(before)) || (!since.IsZero() && !c.Created.After(since)) {
			continue
		}
		if f.Contains("ancestor") && !slices.Contains(ancestors, c.Image) && !f.Match("ancestor", c.Config.Image) {
			continue
		}
		if !matchContainer(f, c, exited) {
			continue
		}
		s := e.summary(c, append([]string{c.Name}, linkNames[c.Id]...))
		if o.Size {
			rw, root := e.sizes(c)
			s.SizeRw, s.SizeRootFs = rw, root
		}
		out = append(out, s)
		if o.Limit > 0 && len(out) == o.Limit {
			break
		}
	}
	return out, nil
}

// matchContainer applies the filters of docker ps but ancestor, before
// and since: within a key any value matches; every key must.
func matchContainer(f filters.Args, c Container, exited []int) bool {
	if f.Contains("id") && !slices.ContainsFunc(f.Get("id"), func(id string) bool { return strings.HasPrefix(c.Id, id) }) {
		return false
	}
	if f.Contains("name") && !slices.ContainsFunc(f.Get("name"), func(n string) bool {
		re, err := regexp.Compile(n)
		return err == nil && re.MatchString(c.Name)
	}) {
		return false
	}
	if !f.MatchKVList("label", c.Config.Labels) {
		return false
	}
	if f.Contains("status") && !f.ExactMatch("status", c.State.Status) {
		return false
	}
	if len(exited) > 0 && (c.State.Running || c.State.StartedAt.IsZero() || !slices.Contains(exited, c.State.ExitCode)) {
		return false
	}
	if f.Contains("health") {
		h := "none"
		if c.State.Health != nil {
			h = string(c.State.Health.Status)
		}
		if !f.ExactMatch("health", h) {
			return false
		}
	}
	if f.Contains("volume") && !slices.ContainsFunc(c.Mounts, func(m container.MountPoint) bool {
		return f.ExactMatch("volume", m.Name) || f.ExactMatch("volume", m.Destination) || (m.Source != "" && f.ExactMatch("volume", m.Source))
	}) {
		return false
	}
	if f.Contains("network") {
		n := networkMode(c.HostConfig)
		if !f.ExactMatch("network", n) && !slices.ContainsFunc(f.Get("network"), func(v string) bool { return strings.HasPrefix(networkID(n), v) }) {
			return false
		}
	}
	if f.Contains("isolation") && !f.ExactMatch("isolation", "default") {
		return false
	}
	if f.Contains("is-task") && !f.ExactMatch("is-task", "false") {
		return false
	}
	for key, published := range map[string]bool{"publish": true, "expose": false} {
		if f.Contains(key) && !slices.ContainsFunc(ports(c), func(p container.Port) bool {
			port := p.PrivatePort
			if published {
				if p.PublicPort == 0 {
					return false
				}
				port = p.PublicPort
			}
			return matchPort(f.Get(key), port, p.Type)
		}) {
			return false
		}
	}
	return true
}

// matchPort reports whether one of wants (80, 80/tcp, 8000-8080/udp)
// names port/proto.
func matchPort(wants []string, port uint16, proto string) bool {
	for _, w := range wants {
		r, p, ok := strings.Cut(w, "/")
		if ok && p != proto {
			continue
		}
		lo, hi, isRange := strings.Cut(r, "-")
		if !isRange {
			hi = lo
		}
		l, err1 := strconv.Atoi(lo)
		h, err2 := strconv.Atoi(hi)
		if err1 == nil && err2 == nil && int(port) >= l && int(port) <= h {
			return true
		}
	}
	return false
}

// linkedNames are the names containers are known by through legacy links:
// /web/db for a container db that web links to as db.
func linkedNames(all []Container) map[string][]string {
	byName := map[string]string{}
	for _, c := range all {
		byName[strings.TrimPrefix(c.Name, "/")] = c.Id
	}
	out := map[string][]string{}
	for _, c := range all {
		for _, l := range c.HostConfig.Links {
			name, alias, _ := strings.Cut(strings.TrimPrefix(l, "/"), ":")
			if alias == "" {
				alias = name
			}
			alias = filepath.Base(alias)
			id, ok := byName[name]
			if !ok {
				id = name
			}
			out[id] = append(out[id], c.Name+"/"+alias)
		}
	}
	return out
}
