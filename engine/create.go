package engine

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/strslice"
	"github.com/docker/docker/pkg/stringid"
	"github.com/docker/go-connections/nat"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/opencontainers/selinux/go-selinux"

	"berth/config"
	"berth/errdefs"
	"berth/runtime"
)

// Create makes a container as docker create does: its record, from the
// request and its image's config, and its root, a snapshot of the image's
// top layer, with the volumes it names made. It returns the warnings
// Docker gives.
func (e *Engine) Create(name string, cfg *container.Config, hc *container.HostConfig) (*Container, []string, error) {
	cfg, hc = copyConfig(cfg), copyHostConfig(hc)
	var warnings []string
	hc.NetworkMode = container.NetworkMode(networkMode(hc))
	if hc.LogConfig.Type == "" {
		hc.LogConfig.Type = "json-file"
	}
	if hc.RestartPolicy.Name == "" {
		hc.RestartPolicy.Name = container.RestartPolicyDisabled
	}
	if err := checkHostConfig(hc); err != nil {
		return nil, nil, err
	}
	if hc.NetworkMode == "host" && (len(hc.PortBindings) > 0 || hc.PublishAllPorts) {
		warnings = append(warnings, "Published ports are discarded when using host network mode")
	}
	img, err := e.Images.Get(cfg.Image)
	if err != nil {
		return nil, nil, err
	}
	mounts, err := e.parseMounts(hc)
	if err != nil {
		return nil, nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if name == "" {
		name = generateName(e.nameTaken)
	} else if name = strings.TrimPrefix(name, "/"); config.ValidName(name) != nil {
		return nil, nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name))
	} else if other := e.byName(name); other != nil {
		return nil, nil, errdefs.Kind(errdefs.ErrConflict, fmt.Errorf("Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.", name, other.c.Id))
	}
	for _, l := range hc.Links {
		other, _, _ := strings.Cut(strings.TrimPrefix(l, "/"), ":")
		if e.byName(other) == nil && e.containers[other] == nil {
			return nil, nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("could not get container for %s", other))
		}
	}
	ic := img.Config.Config
	applyImageConfig(cfg, ic)
	args := append(append([]string(nil), cfg.Entrypoint...), cfg.Cmd...)
	if len(args) == 0 {
		return nil, nil, errdefs.Kind(errdefs.ErrInvalid, errors.New("no command specified"))
	}
	id := stringid.GenerateRandomID()
	c := &Container{Id: id, Created: time.Now().UTC(), Path: args[0], Args: args[1:], Image: img.ID, Name: "/" + name,
		State: State{Status: "created"}, Config: cfg, HostConfig: hc, NetworkSettings: NetworkSettings{Ports: nat.PortMap{}}}
	if cfg.Hostname == "" {
		cfg.Hostname = stringid.TruncateID(id)
		if hc.NetworkMode == "host" {
			// As Docker: on the host's network, the host's name.
			cfg.Hostname, _ = os.Hostname()
		}
	}
	for p := range hc.PortBindings {
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = nat.PortSet{}
		}
		cfg.ExposedPorts[p] = struct{}{}
	}
	if c.ProcessLabel, c.MountLabel, err = e.initLabels(hc); err != nil {
		return nil, nil, err
	}
	// Until the container is recorded, a failure undoes what was made.
	var undo []func()
	recorded := false
	defer func() {
		if !recorded {
			selinux.ReleaseLabel(c.ProcessLabel)
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	if err := os.MkdirAll(e.dir(id), 0o700); err != nil {
		return nil, nil, fmt.Errorf("engine: %w", err)
	}
	undo = append(undo, func() { os.RemoveAll(e.dir(id)) })
	c.LogPath = filepath.Join(e.dir(id), id+"-json.log")
	if err := e.opts.Storage.Create(id, img.TopLayer()); err != nil {
		return nil, nil, err
	}
	undo = append(undo, func() { e.opts.Storage.Remove(id) })
	// The image's volumes, and -v /path, each a volume of the container's
	// own, where no other mount is.
	anonymous := maps.Clone(ic.Volumes)
	if anonymous == nil {
		anonymous = map[string]struct{}{}
	}
	maps.Copy(anonymous, cfg.Volumes)
	for _, m := range mounts {
		delete(anonymous, path.Clean(m.Destination))
	}
	for _, p := range slices.Sorted(maps.Keys(anonymous)) {
		mounts = append(mounts, container.MountPoint{Type: mount.TypeVolume, Destination: path.Clean("/" + p), RW: true})
	}
	if err := e.makeVolumes(c, mounts, &undo); err != nil {
		return nil, nil, err
	}
	if err := e.save(c); err != nil {
		return nil, nil, err
	}
	en := &entry{c: c, done: make(chan struct{}), logs: e.newLogBook(c)}
	close(en.done)
	e.containers[id] = en
	recorded = true
	e.event("container", "create", c)
	return c, warnings, nil
}

// applyImageConfig fills in what the request leaves to the image, as
// Docker does: an entrypoint given (even empty) drops the image's command.
func applyImageConfig(cfg *container.Config, ic v1.Config) {
	entrypointSet := cfg.Entrypoint != nil
	if len(cfg.Entrypoint) == 1 && cfg.Entrypoint[0] == "" {
		cfg.Entrypoint = strslice.StrSlice{} // --entrypoint "": none
	}
	if !entrypointSet {
		cfg.Entrypoint = ic.Entrypoint
		if len(cfg.Cmd) == 0 {
			cfg.Cmd = ic.Cmd
		}
	}
	cfg.Env = runtime.MergeEnv(ic.Env, cfg.Env)
	if cfg.WorkingDir == "" {
		cfg.WorkingDir = ic.WorkingDir
	}
	if cfg.User == "" {
		cfg.User = ic.User
	}
	if cfg.StopSignal == "" {
		cfg.StopSignal = ic.StopSignal
	}
	if cfg.Healthcheck == nil && ic.Healthcheck != nil {
		h := ic.Healthcheck
		cfg.Healthcheck = &container.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout,
			StartPeriod: h.StartPeriod, Retries: h.Retries}
	}
	if len(ic.Labels) > 0 {
		labels := maps.Clone(ic.Labels)
		maps.Copy(labels, cfg.Labels)
		cfg.Labels = labels
	}
	for p := range ic.ExposedPorts {
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = nat.PortSet{}
		}
		port, proto, _ := strings.Cut(p, "/")
		np, err := nat.NewPort(proto, port)
		if err == nil {
			cfg.ExposedPorts[np] = struct{}{}
		}
	}
}

// parseMounts reads -v (Binds), --mount and --tmpfs as Docker does: a bind
// of a host path (made when missing), a named volume (made when missing),
// or a tmpfs. An option berth does not carry out is an error.
func (e *Engine) parseMounts(hc *container.HostConfig) ([]container.MountPoint, error) {
	var out []container.MountPoint
	seen := map[string]bool{}
	add := func(m container.MountPoint) error {
		m.Destination = path.Clean(m.Destination)
		if !path.IsAbs(m.Destination) || m.Destination == "/" {
			return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid mount destination %q: give an absolute path other than /", m.Destination))
		}
		if seen[m.Destination] {
			return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("Duplicate mount point: %s", m.Destination))
		}
		seen[m.Destination] = true
		out = append(out, m)
		return nil
	}
	for _, b := range hc.Binds {
		parts := strings.Split(b, ":")
		if len(parts) < 2 || len(parts) > 3 {
			return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid volume specification: '%s'", b))
		}
		m := container.MountPoint{Source: parts[0], Destination: parts[1], RW: true}
		if len(parts) == 3 {
			v, err := config.ParseVolume("/x:/y:" + parts[2])
			if err != nil {
				return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid volume specification: '%s': %w", b, err))
			}
			m.RW, m.Mode = !v.ReadOnly, parts[2]
		}
		if path.IsAbs(m.Source) {
			m.Type = mount.TypeBind
		} else {
			if err := validVolumeName(m.Source); err != nil {
				return nil, err
			}
			m.Type, m.Name, m.Source, m.Driver = mount.TypeVolume, m.Source, "", "local"
		}
		if err := add(m); err != nil {
			return nil, err
		}
	}
	for _, mm := range hc.Mounts {
		m := container.MountPoint{Type: mm.Type, Destination: mm.Target, RW: !mm.ReadOnly}
		switch mm.Type {
		case mount.TypeBind:
			if !path.IsAbs(mm.Source) {
				return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid mount config for type \"bind\": invalid mount path: '%s' mount path must be absolute", mm.Source))
			}
			if o := mm.BindOptions; o != nil && ((o.Propagation != "" && o.Propagation != mount.PropagationRPrivate && o.Propagation != mount.PropagationPrivate) || o.NonRecursive || o.CreateMountpoint || o.ReadOnlyNonRecursive || o.ReadOnlyForceRecursive) {
				return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("--mount %s: berth binds with private propagation, recursively, and no other bind option", mm.Target))
			}
			if _, err := os.Stat(mm.Source); err != nil {
				return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid mount config for type \"bind\": bind source path does not exist: %s", mm.Source))
			}
			m.Source = mm.Source
		case mount.TypeVolume:
			if o := mm.VolumeOptions; o != nil && (o.DriverConfig != nil && o.DriverConfig.Name != "" && o.DriverConfig.Name != "local" || o.Subpath != "" || len(o.Labels) > 0) {
				return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("--mount %s: berth's volumes are local, without subpaths; give a volume labels with berth volume create --label", mm.Target))
			}
			if mm.Source != "" {
				if err := validVolumeName(mm.Source); err != nil {
					return nil, err
				}
			}
			m.Name, m.Driver = mm.Source, "local"
			if mm.VolumeOptions != nil && mm.VolumeOptions.NoCopy {
				m.Mode = "nocopy"
			}
		case mount.TypeTmpfs:
			if mm.Source != "" {
				return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid mount config for type \"tmpfs\": source must not be specified"))
			}
			m.Mode = tmpfsOptions(mm.TmpfsOptions)
		default:
			return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("--mount type=%s: berth mounts bind, volume and tmpfs", mm.Type))
		}
		if mm.Consistency != "" && mm.Consistency != mount.ConsistencyDefault {
			return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("--mount %s: consistency=%s is not supported", mm.Target, mm.Consistency))
		}
		if err := add(m); err != nil {
			return nil, err
		}
	}
	for dst, opts := range hc.Tmpfs {
		if err := checkTmpfsOptions(opts); err != nil {
			return nil, err
		}
		if err := add(container.MountPoint{Type: mount.TypeTmpfs, Destination: dst, Mode: opts, RW: !strings.Contains(","+opts+",", ",ro,")}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// tmpfsOptions are the mount options of --mount type=tmpfs.
func tmpfsOptions(o *mount.TmpfsOptions) string {
	var opts []string
	if o != nil && o.SizeBytes > 0 {
		opts = append(opts, "size="+strconv.FormatInt(o.SizeBytes, 10))
	}
	if o != nil && o.Mode != 0 {
		opts = append(opts, fmt.Sprintf("mode=%o", o.Mode.Perm()))
	}
	return strings.Join(opts, ",")
}

// tmpfsKnown are the --tmpfs options berth passes to the kernel.
var tmpfsKnown = map[string]bool{"size": true, "mode": true, "uid": true, "gid": true, "nr_inodes": true, "nr_blocks": true,
	"ro": true, "rw": true, "exec": true, "noexec": true, "suid": true, "nosuid": true, "dev": true, "nodev": true}

func checkTmpfsOptions(opts string) error {
	for _, o := range strings.Split(opts, ",") {
		k, _, _ := strings.Cut(o, "=")
		if o != "" && !tmpfsKnown[k] {
			return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("--tmpfs option %q is not supported", o))
		}
	}
	return nil
}

// copyConfig copies what the engine changes of a request's config.
func copyConfig(c *container.Config) *container.Config {
	if c == nil {
		return &container.Config{}
	}
	cp := *c
	cp.Env = slices.Clone(c.Env)
	cp.Labels = maps.Clone(c.Labels)
	cp.ExposedPorts = maps.Clone(c.ExposedPorts)
	cp.Volumes = maps.Clone(c.Volumes)
	return &cp
}

func copyHostConfig(h *container.HostConfig) *container.HostConfig {
	if h == nil {
		return &container.HostConfig{}
	}
	cp := *h
	return &cp
}
