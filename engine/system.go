package engine

import (
	"errors"
	"fmt"
	"os"
	goruntime "runtime"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/api/types/swarm"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/pkg/stringid"
	"github.com/docker/go-units"
	"github.com/opencontainers/selinux/go-selinux"
	"golang.org/x/sys/unix"

	"berth/errdefs"
	"berth/hostpath"
	"berth/imagestore"
	"berth/thinpool"
)

// This file is what the engine tells of the host (docker info, system
// df), its networks, and the updates and prunes of containers.

// Info is docker info: the host, the counts, and the devicemapper pool
// as Docker's devicemapper driver reported it.
func (e *Engine) Info() (system.Info, error) {
	var u unix.Utsname
	unix.Uname(&u)
	host, _ := os.Hostname()
	info := system.Info{ID: networkID("engine " + host), Driver: "devicemapper", LoggingDriver: "json-file",
		CgroupDriver: "cgroupfs", CgroupVersion: "2", KernelVersion: unix.ByteSliceToString(u.Release[:]),
		OperatingSystem: "berth " + e.opts.Version, OSVersion: e.opts.Version, OSType: "linux", Architecture: "x86_64",
		NCPU: goruntime.NumCPU(), MemTotal: int64(hostMemory()), DockerRootDir: e.opts.StateDir, Name: host,
		ServerVersion: e.opts.Version, IndexServerAddress: imagestore.DockerHub, DefaultRuntime: "runc", InitBinary: "docker-init",
		MemoryLimit: true, SwapLimit: true, CPUCfsPeriod: true, CPUCfsQuota: true, CPUShares: true, PidsLimit: true,
		IPv4Forwarding: true, LiveRestoreEnabled: true, Isolation: "", SystemTime: time.Now().Format(time.RFC3339Nano),
		NGoroutines: goruntime.NumGoroutine(), Labels: []string{}, Warnings: []string{}}
	info.Runtimes = map[string]system.RuntimeWithStatus{"runc": {Runtime: system.Runtime{Path: "berth (built-in runtime)"}}}
	info.Plugins = system.PluginsInfo{Volume: []string{"local"}, Network: []string{"bridge", "host", "null"}, Log: []string{"json-file"}}
	info.Swarm = swarm.Info{LocalNodeState: swarm.LocalNodeStateInactive}
	info.RegistryConfig = &registry.ServiceConfig{InsecureRegistryCIDRs: []*registry.NetIPNet{},
		IndexConfigs: map[string]*registry.IndexInfo{"docker.io": {Name: "docker.io", Official: true, Secure: true, Mirrors: []string{}}}}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		info.NFd = len(fds)
	}
	for _, c := range e.List(true) {
		info.Containers++
		switch {
		case c.State.Paused:
			info.ContainersPaused++
		case c.State.Running:
			info.ContainersRunning++
		default:
			info.ContainersStopped++
		}
	}
	images, err := e.Images.List()
	if err != nil {
		return info, err
	}
	info.Images = len(images)
	pool, err := e.opts.Storage.Info()
	if err != nil {
		return info, err
	}
	info.DriverStatus = poolStatus(pool)
	// As Docker's: seccomp with the builtin profile, the cgroup namespace,
	// and SELinux when the kernel enforces a policy.
	info.SecurityOptions = []string{"name=seccomp,profile=builtin", "name=cgroupns"}
	if selinux.GetEnabled() {
		mode := "permissive"
		if selinux.EnforceMode() == selinux.Enforcing {
			mode = "enforcing"
		}
		policy, _ := os.ReadFile("/sys/fs/selinux/policyvers")
		info.SecurityOptions = append(info.SecurityOptions, "name=selinux,mode="+mode+",policy="+strings.TrimSpace(string(policy)))
	}
	if source, err := os.ReadFile(hostpath.ConfigSource); err == nil {
		info.Labels = append(info.Labels, "berth.config-source="+strings.TrimSpace(string(source)))
	}
	if pool.DataFile != "" {
		info.Warnings = append(info.Warnings, "WARNING: the devicemapper pool is on loopback files: give berth a disk of its own ([storage] data_device) for production")
	}
	return info, nil
}

// poolStatus is the pool as Docker's devicemapper driver described it in
// docker info, sizes in decimal units.
func poolStatus(p thinpool.Info) [][2]string {
	size := func(n uint64) string { return units.HumanSize(float64(n)) }
	out := [][2]string{{"Pool Name", p.PoolName}, {"Pool Blocksize", size(p.PoolBlocksize)},
		{"Base Device Size", size(p.BaseDeviceSize)}, {"Backing Filesystem", "ext4"}, {"Udev Sync Supported", "false"}}
	if p.DataFile != "" {
		// The loop files share the state disk: its free space bounds the pool.
		out = append(out, [2]string{"Data loop file", p.DataFile}, [2]string{"Metadata loop file", p.MetadataFile},
			[2]string{"Backing Filesystem Free", size(p.BackingFree)})
	} else {
		out = append(out, [2]string{"Data file", p.DataDevice}, [2]string{"Metadata file", p.MetadataDevice})
	}
	out = append(out,
		[2]string{"Data Space Used", size(p.DataUsed)}, [2]string{"Data Space Total", size(p.DataTotal)},
		[2]string{"Data Space Available", size(p.DataAvailable)},
		[2]string{"Metadata Space Used", size(p.MetadataUsed)}, [2]string{"Metadata Space Total", size(p.MetadataTotal)},
		[2]string{"Metadata Space Available", size(p.MetadataTotal - p.MetadataUsed)},
		[2]string{"Thin Pool Minimum Free Space", size(p.DataTotal * uint64(p.MinFreePercent) / 100)},
		[2]string{"Transaction Id", fmt.Sprint(p.TransactionID)},
		[2]string{"Pool Mode", p.Mode}, [2]string{"Thin Devices", fmt.Sprint(p.Devices)},
		[2]string{"Deferred Removal Enabled", "false"}, [2]string{"Deferred Deletion Enabled", "false"},
		[2]string{"Deferred Deleted Device Count", "0"})
	return out
}

// DiskUsage is docker system df: images, containers, volumes and the
// build cache, with their sizes.
func (e *Engine) DiskUsage() (types.DiskUsage, error) {
	var du types.DiskUsage
	all := e.List(true)
	users := map[string]int64{}
	for _, c := range all {
		users[c.Image]++
	}
	images, err := e.Images.List()
	if err != nil {
		return du, err
	}
	layers := map[string]int64{} // diff id → size, each counted once
	for _, img := range images {
		s := e.imageSummary(img, img.RepoTags)
		s.Containers = users[img.ID]
		s.SharedSize = 0
		for _, d := range img.Config.RootFS.DiffIDs {
			if size := e.Images.LayerSize(d); size > 0 {
				if _, seen := layers[d.Hex]; seen {
					s.SharedSize += size
				}
				layers[d.Hex] = size
			}
		}
		du.Images = append(du.Images, &s)
	}
	for _, n := range layers {
		du.LayersSize += n
	}
	names := linkedNames(all)
	for _, c := range all {
		s := e.summary(c, append([]string{c.Name}, names[c.Id]...))
		s.SizeRw, s.SizeRootFs = e.sizes(c)
		du.Containers = append(du.Containers, &s)
	}
	vols, err := e.VolumeList(filters.NewArgs())
	if err != nil {
		return du, err
	}
	for _, v := range vols {
		v.UsageData = &volume.UsageData{Size: dirSize(v.Mountpoint), RefCount: int64(len(e.volumeUsers(v.Name)))}
		du.Volumes = append(du.Volumes, v)
	}
	for _, img := range images {
		if !e.Images.Intermediate(img.ID) || !e.Images.IsCached(img.ID) {
			continue
		}
		rec := &build.CacheRecord{ID: stringid.TruncateID(img.ID), Type: "regular", Size: imagestore.TopLayerSize(e.Images, img),
			CreatedAt: img.Config.Created.Time, InUse: users[img.ID] > 0, Shared: len(e.children(img.ID)) > 0}
		if h := img.Config.History; len(h) > 0 {
			rec.Description = h[len(h)-1].CreatedBy
		}
		if p := e.Images.Parent(img.ID); p != "" {
			rec.Parents = []string{stringid.TruncateID(p)}
		}
		du.BuildCache = append(du.BuildCache, rec)
	}
	return du, nil
}

// NetworkList is docker network ls: berth's networks are the bridge, the
// host's and none, as Docker's predefined ones.
func (e *Engine) NetworkList(f filters.Args) ([]network.Inspect, error) {
	for _, k := range f.Keys() {
		if k != "name" && k != "id" && k != "driver" && k != "type" && k != "scope" && k != "label" && k != "dangling" {
			return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid filter '%s'", k))
		}
	}
	var out []network.Inspect
	for _, name := range []string{"bridge", "host", "none"} {
		n := e.networkInspect(name)
		if f.Contains("name") && !f.Match("name", n.Name) {
			continue
		}
		if f.Contains("id") && !f.Match("id", n.ID) {
			continue
		}
		if f.Contains("driver") && !f.ExactMatch("driver", n.Driver) {
			continue
		}
		if f.Contains("type") && !f.ExactMatch("type", "builtin") {
			continue
		}
		if f.Contains("scope") && !f.ExactMatch("scope", "local") {
			continue
		}
		if f.Contains("label") && !f.MatchKVList("label", n.Labels) {
			continue
		}
		if f.Contains("dangling") && !f.ExactMatch("dangling", "false") {
			continue // predefined networks are never dangling
		}
		out = append(out, n)
	}
	return out, nil
}

// networkInspect is network name as docker network inspect shows it.
func (e *Engine) networkInspect(name string) network.Inspect {
	driver := map[string]string{"bridge": "bridge", "host": "host", "none": "null"}[name]
	n := network.Inspect{Name: name, ID: networkID(name), Created: bootTime(), Scope: "local", Driver: driver, EnableIPv4: name == "bridge",
		IPAM: network.IPAM{Driver: "default", Config: []network.IPAMConfig{}}, Containers: map[string]network.EndpointResource{},
		Options: map[string]string{}, Labels: map[string]string{}}
	if name == "bridge" && e.opts.Network != nil {
		gw := e.opts.Network.Gateway
		n.IPAM.Config = []network.IPAMConfig{{Subnet: gw.Masked().String(), Gateway: gw.Addr().String()}}
		n.Options = map[string]string{"com.docker.network.bridge.name": e.opts.Network.Bridge,
			"com.docker.network.bridge.default_bridge": "true", "com.docker.network.bridge.enable_ip_masquerade": "true",
			"com.docker.network.bridge.enable_icc": "true", "com.docker.network.driver.mtu": "1500"}
	}
	for _, c := range e.List(false) {
		if networkMode(c.HostConfig) != name {
			continue
		}
		ep := network.EndpointResource{Name: strings.TrimPrefix(c.Name, "/"), EndpointID: endpointID(c.Id, name), MacAddress: c.NetworkSettings.MacAddress}
		if ip := c.NetworkSettings.IPAddress; ip != "" {
			ep.IPv4Address = fmt.Sprintf("%s/%d", ip, c.NetworkSettings.IPPrefixLen)
		}
		n.Containers[c.Id] = ep
	}
	return n
}

// NetworkInspect is docker network inspect: by name, id or id prefix.
func (e *Engine) NetworkInspect(ref string) (network.Inspect, error) {
	for _, name := range []string{"bridge", "host", "none"} {
		if ref == name || (len(ref) >= 1 && strings.HasPrefix(networkID(name), ref)) {
			return e.networkInspect(name), nil
		}
	}
	return network.Inspect{}, errdefs.Kind(errdefs.ErrNotFound, fmt.Errorf("network %s not found", ref))
}

// errNetworks is the answer to what would make or remove a network.
var errNetworks = errdefs.Kind(errdefs.ErrNotImplemented, errors.New("berth's networks are bridge, host and none, as Docker's predefined ones: user-defined networks are not supported"))

// NetworkCreate is docker network create, which berth does not do.
func (e *Engine) NetworkCreate(o network.CreateRequest) (network.CreateResponse, error) {
	return network.CreateResponse{}, fmt.Errorf("network %s: %w", o.Name, errNetworks)
}

// NetworkRemove is docker network rm: the predefined networks cannot be
// removed, as Docker's.
func (e *Engine) NetworkRemove(ref string) error {
	n, err := e.NetworkInspect(ref)
	if err != nil {
		return err
	}
	return errdefs.Kind(errdefs.ErrConflict, fmt.Errorf("%s is a pre-defined network and cannot be removed", n.Name))
}

// ContainerUpdate is docker update: memory, memory and swap, CPUs, CPU
// shares and the pids limit (applied at once to a running container's
// cgroup), and the restart policy. Only what is given changes.
func (e *Engine) ContainerUpdate(ref string, u container.UpdateConfig) (container.UpdateResponse, error) {
	en, err := e.find(ref)
	if err != nil {
		return container.UpdateResponse{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c := en.c
	hc := *c.HostConfig
	r := u.Resources
	if r.Memory != 0 {
		hc.Memory = r.Memory
		if r.MemorySwap == 0 && hc.MemorySwap > 0 && hc.MemorySwap < r.Memory {
			return container.UpdateResponse{}, errdefs.Kind(errdefs.ErrInvalid, errors.New("Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time"))
		}
	}
	if r.MemorySwap != 0 {
		hc.MemorySwap = r.MemorySwap
	}
	if r.NanoCPUs != 0 {
		hc.NanoCPUs = r.NanoCPUs
	}
	if r.CPUShares != 0 {
		hc.CPUShares = r.CPUShares
	}
	if r.PidsLimit != nil {
		hc.PidsLimit = r.PidsLimit
	}
	if u.RestartPolicy.Name != "" {
		if hc.AutoRemove {
			return container.UpdateResponse{}, errdefs.Kind(errdefs.ErrInvalid, errors.New("Restart policy cannot be updated because AutoRemove is enabled for the container"))
		}
		hc.RestartPolicy = u.RestartPolicy
	}
	if err := checkHostConfig(&hc); err != nil {
		return container.UpdateResponse{}, err
	}
	if c.State.Running {
		if err := e.opts.Runtime.UpdateCgroup(c.Id, resources(&hc)); err != nil {
			return container.UpdateResponse{}, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("Cannot update container %s: %w", c.Id, err))
		}
	}
	c.HostConfig = &hc
	if err := e.save(c); err != nil {
		return container.UpdateResponse{}, err
	}
	e.event("container", "update", c)
	return container.UpdateResponse{Warnings: []string{}}, nil
}

// ContainerPrune is docker container prune: every container that does
// not run, filtered by until and label.
func (e *Engine) ContainerPrune(f filters.Args) (container.PruneReport, error) {
	for _, k := range f.Keys() {
		if k != "until" && k != "label" && k != "label!" {
			return container.PruneReport{}, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid filter '%s'", k))
		}
	}
	until, err := untilFilter(f)
	if err != nil {
		return container.PruneReport{}, err
	}
	rep := container.PruneReport{ContainersDeleted: []string{}}
	for _, c := range e.List(true) {
		if c.State.Running || c.State.Paused || c.State.Restarting {
			continue
		}
		if (!until.IsZero() && c.Created.After(until)) || !matchLabels(f, c.Config.Labels) {
			continue
		}
		rw, _ := e.sizes(c)
		if err := e.Remove(c.Id, false, false); err != nil {
			continue
		}
		rep.ContainersDeleted = append(rep.ContainersDeleted, c.Id)
		rep.SpaceReclaimed += uint64(rw)
	}
	sort.Strings(rep.ContainersDeleted)
	e.publish("container", "prune", "", map[string]string{"reclaimed": fmt.Sprint(rep.SpaceReclaimed)})
	return rep, nil
}
