// Package engine is berth's container engine: images on thin snapshots
// (images.go, layer.go), containers isolated in their own namespaces and
// cgroup on a snapshot of their image (engine.go, child.go, caps.go), and
// their state kept under /var/lib/berth/containers, as Docker's was.
package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/selinux/go-selinux"
	"golang.org/x/net/http/httpproxy"
	"golang.org/x/sys/unix"

	"berth/config"
	"berth/netconf"
	"berth/runtime"
	"berth/thinpool"
)

// Options are what an engine is given.
type Options struct {
	StateDir string // /var/lib/berth: containers/ and images/ live here
	RunDir   string // /run/berth: mount points, sockets
	Storage  *thinpool.Storage
	Network  *netconf.Network
	Reaper   *Reaper
	// Runtime starts the containers' processes.
	Runtime *runtime.Runtime
	Log     io.Writer
	// LogMaxSize and LogMaxFiles are the defaults of json-file's max-size
	// (0: no rotation) and max-file, from [engine] of the config.
	LogMaxSize  int64
	LogMaxFiles int
	// Transport is how images are pulled: the host's proxy settings.
	Transport http.RoundTripper
	// Keeper is PID 1's keeper of running containers (nil in tests that
	// run an engine alone), and Held the runs it kept while no engine ran:
	// the engine re-adopts them.
	Keeper *KeeperLink
	Held   map[string]HeldRun
}

// Engine owns images and containers.
type Engine struct {
	opts   Options
	Images *ImageStore

	mu         sync.Mutex
	containers map[string]*entry               // by id
	adopted    map[string]chan unix.WaitStatus // exits of re-adopted runs, which PID 1 reaps
	execs      map[string]*execRun             // docker exec instances, by id
}

// entry is a container with what the engine holds while it runs.
type entry struct {
	c        *Container
	done     chan struct{} // closed when the current run ends
	stopping bool          // stopped by the user: no restart
	logs     *logBook
}

// New returns an engine over opts, with the containers recorded in
// StateDir. Containers recorded as running whose process is gone (the host
// rebooted) are recorded as exited.
func New(opts Options) (*Engine, error) {
	images, err := NewImageStore(filepath.Join(opts.StateDir, "images"), opts.Storage)
	if err != nil {
		return nil, err
	}
	e := &Engine{opts: opts, Images: images, containers: map[string]*entry{}, adopted: map[string]chan unix.WaitStatus{}}
	if err := os.MkdirAll(e.containersDir(), 0o700); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	dirs, _ := os.ReadDir(e.containersDir())
	for _, d := range dirs {
		c, err := e.load(d.Name())
		if err != nil {
			e.logf("engine: skipping container %s: %v", ShortID(d.Name()), err)
			continue
		}
		en := &entry{c: c, done: make(chan struct{}), logs: e.newLogBook(c)}
		e.containers[c.Id] = en
		if c.ProcessLabel != "" {
			selinux.ReserveLabel(c.ProcessLabel)
		}
		if held, ok := opts.Held[c.Id]; ok && c.State.Running && held.Pid == c.State.Pid {
			if err := e.adopt(en, held); err == nil {
				continue
			} else {
				e.logf("engine: re-adopt %s: %v", ShortID(c.Id), err)
			}
		}
		close(en.done)
		if c.State.Running && (opts.Keeper != nil || !processAlive(c.State.Pid)) {
			c.State = State{Status: "exited", ExitCode: 255, StartedAt: c.State.StartedAt, FinishedAt: time.Now().UTC(),
				Error: "the host stopped while the container ran"}
			e.save(c)
		}
	}
	for id, h := range opts.Held {
		if _, ok := e.adopted[id]; !ok {
			for _, f := range h.Files {
				f.Close()
			}
			opts.Keeper.drop(id)
		}
	}
	if opts.Keeper != nil {
		go opts.Keeper.serve(e.adoptedExit)
	}
	return e, nil
}

// adopt takes over a run that PID 1 kept while the engine was away: its
// output is copied into the log again, and PID 1, which reaps it now,
// reports its end.
func (e *Engine) adopt(en *entry, h HeldRun) error {
	if err := en.logs.resume(h.Files, en.c.Config.StdinOnce); err != nil {
		return err
	}
	exited := make(chan unix.WaitStatus, 1)
	if h.Status != nil {
		exited <- *h.Status
	}
	e.adopted[en.c.Id] = exited
	e.logf("engine: re-adopted container %s (pid %d)", strings.TrimPrefix(en.c.Name, "/"), h.Pid)
	go e.monitor(en, exited)
	return nil
}

// adoptedExit receives, from PID 1, the end of a re-adopted run.
func (e *Engine) adoptedExit(id string, ws unix.WaitStatus) {
	e.mu.Lock()
	ch, ok := e.adopted[id]
	delete(e.adopted, id)
	e.mu.Unlock()
	if ok {
		select {
		case ch <- ws:
		default:
		}
	}
}

func (e *Engine) logf(format string, args ...any) {
	if e.opts.Log != nil {
		fmt.Fprintf(e.opts.Log, format+"\n", args...)
	}
}

// newLogBook is container c's log, rotated as its log options, else the
// engine's defaults, say.
func (e *Engine) newLogBook(c *Container) *logBook {
	size, files, err := logLimits(c.HostConfig.LogConfig.Config, e.opts.LogMaxSize, e.opts.LogMaxFiles)
	if err != nil {
		size, files = e.opts.LogMaxSize, e.opts.LogMaxFiles
	}
	return newLogBook(c.LogPath, size, files)
}

func (e *Engine) containersDir() string { return filepath.Join(e.opts.StateDir, "containers") }
func (e *Engine) dir(id string) string  { return filepath.Join(e.containersDir(), id) }

func (e *Engine) load(id string) (*Container, error) {
	b, err := os.ReadFile(filepath.Join(e.dir(id), "config.json"))
	if err != nil {
		return nil, err
	}
	c := &Container{}
	return c, json.Unmarshal(b, c)
}

// save records c as config.json in its directory.
func (e *Engine) save(c *Container) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return thinpool.WriteFileDurable(filepath.Join(e.dir(c.Id), "config.json"), b)
}

func processAlive(pid int) bool {
	return pid > 0 && unix.Kill(pid, 0) == nil
}

// CreateOptions are docker run's flags.
type CreateOptions struct {
	Name       string
	Image      string
	Cmd        []string
	Entrypoint []string // nil: the image's; empty and set: none
	Env        []string
	Workdir    string
	User       string
	Hostname   string
	Ports      []config.PortMapping
	PublishAll bool
	Volumes    []config.Volume
	Restart    config.RestartPolicy
	AutoRemove bool
	Memory     int64
	CPUs       float64
	PidsLimit  int64
	CapAdd     []string
	CapDrop    []string
	ReadOnly   bool
	Links      []config.Link
	Tty        bool
	OpenStdin  bool
	StdinOnce  bool
	Labels     map[string]string
	// EntrypointSet is true when Entrypoint was given, even empty.
	EntrypointSet bool
	Privileged    bool
	SecurityOpt   []string
	Devices       []DeviceMapping
	NetworkMode   string
	LogConfig     LogConfig
	// AnonymousVolumes are docker run -v /path: a volume of the
	// container's own at each path, as an image's VOLUME gives.
	AnonymousVolumes []string
}

// Errors with a meaning for the API's status codes.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	ErrInvalid  = errors.New("invalid argument")
)

// Create makes a container: its record and its root, a snapshot of the
// image's top layer.
func (e *Engine) Create(o CreateOptions) (*Container, error) {
	hc := HostConfig{PortBindings: map[string][]PortBinding{}, PublishAllPorts: o.PublishAll,
		RestartPolicy: RestartPolicy{Name: o.Restart.Name, MaximumRetryCount: o.Restart.MaximumRetryCount},
		AutoRemove:    o.AutoRemove, Memory: o.Memory, NanoCpus: int64(o.CPUs * 1e9), PidsLimit: o.PidsLimit,
		CapAdd: o.CapAdd, CapDrop: o.CapDrop, ReadonlyRootfs: o.ReadOnly, Privileged: o.Privileged,
		SecurityOpt: o.SecurityOpt, Devices: o.Devices, NetworkMode: o.NetworkMode, LogConfig: o.LogConfig}
	hc.NetworkMode = hc.Network()
	if hc.LogConfig.Type == "" {
		hc.LogConfig.Type = "json-file"
	}
	if err := checkHostConfig(hc); err != nil {
		return nil, err
	}
	img, err := e.Images.Get(o.Image)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if o.Name == "" {
		o.Name = generateName(e.nameTaken)
	} else if err := config.ValidName(o.Name); err != nil {
		return nil, err
	} else if e.nameTaken(o.Name) {
		return nil, fmt.Errorf("%w: the name %q is already in use by container %s; remove it or choose another name", ErrConflict, o.Name, ShortID(e.byName(o.Name).c.Id))
	}
	for _, l := range o.Links {
		if e.byName(l.Name) == nil {
			return nil, fmt.Errorf("%w: could not find container %q to link to", ErrNotFound, l.Name)
		}
	}
	ic := img.Config.Config
	entrypoint := ic.Entrypoint
	if o.EntrypointSet {
		entrypoint = o.Entrypoint
	}
	cmd := o.Cmd
	if len(cmd) == 0 && !o.EntrypointSet {
		cmd = ic.Cmd
	}
	args := append(append([]string(nil), entrypoint...), cmd...)
	if len(args) == 0 {
		return nil, errors.New("no command specified: the image has none, give one after the image name")
	}
	id := newID()
	c := &Container{
		Id: id, Created: time.Now().UTC(), Path: args[0], Args: args[1:], Image: img.ID, Name: "/" + o.Name,
		State: State{Status: "created"},
		Config: ContainerConfig{Hostname: o.Hostname, User: o.User, Env: mergeEnv(ic.Env, o.Env), Cmd: cmd,
			Entrypoint: entrypoint, Image: o.Image, WorkingDir: o.Workdir, ExposedPorts: map[string]struct{}{},
			Tty: o.Tty, OpenStdin: o.OpenStdin, StdinOnce: o.StdinOnce, Labels: o.Labels},
		HostConfig:      hc,
		NetworkSettings: NetworkSettings{Ports: map[string][]PortBinding{}},
	}
	if c.Config.Hostname == "" {
		c.Config.Hostname = ShortID(id)
		if hc.NetworkMode == "host" {
			// As Docker: on the host's network, the host's name.
			c.Config.Hostname, _ = os.Hostname()
		}
	}
	if c.ProcessLabel, c.MountLabel, err = e.initLabels(hc); err != nil {
		return nil, err
	}
	// Until the container is recorded, a failure lets go of its labels.
	recorded := false
	defer func() {
		if !recorded {
			selinux.ReleaseLabel(c.ProcessLabel)
		}
	}()
	if c.Config.User == "" {
		c.Config.User = ic.User
	}
	if c.Config.WorkingDir == "" {
		c.Config.WorkingDir = ic.WorkingDir
	}
	if c.HostConfig.RestartPolicy.Name == "" {
		c.HostConfig.RestartPolicy.Name = "no"
	}
	for p := range ic.ExposedPorts {
		c.Config.ExposedPorts[p] = struct{}{}
	}
	for _, p := range o.Ports {
		key := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
		c.Config.ExposedPorts[key] = struct{}{}
		hostPort := ""
		if p.HostPort != 0 {
			hostPort = strconv.Itoa(int(p.HostPort))
		}
		c.HostConfig.PortBindings[key] = append(c.HostConfig.PortBindings[key], PortBinding{HostIp: p.HostIP, HostPort: hostPort})
	}
	for _, v := range o.Volumes {
		mode := "rw"
		if v.ReadOnly {
			mode = "ro"
		}
		if v.Relabel != "" {
			mode += "," + v.Relabel
		}
		c.HostConfig.Binds = append(c.HostConfig.Binds, v.HostPath+":"+v.ContainerPath+":"+mode)
		c.Mounts = append(c.Mounts, MountPoint{Type: "bind", Source: v.HostPath, Destination: v.ContainerPath, Mode: mode, RW: !v.ReadOnly})
	}
	for _, l := range o.Links {
		c.HostConfig.Links = append(c.HostConfig.Links, l.Name+":"+l.Alias)
	}
	if err := os.MkdirAll(e.dir(id), 0o700); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	c.LogPath = filepath.Join(e.dir(id), id+"-json.log")
	if err := e.opts.Storage.Create(id, img.TopLayer()); err != nil {
		os.RemoveAll(e.dir(id))
		return nil, err
	}
	volumes := maps.Clone(ic.Volumes)
	if len(o.AnonymousVolumes) > 0 {
		c.Config.Volumes = map[string]struct{}{}
		if volumes == nil {
			volumes = map[string]struct{}{}
		}
		for _, v := range o.AnonymousVolumes {
			c.Config.Volumes[v], volumes[v] = struct{}{}, struct{}{}
		}
	}
	if err := e.makeVolumes(c, volumes); err != nil {
		e.opts.Storage.Remove(id)
		os.RemoveAll(e.dir(id))
		return nil, err
	}
	if err := e.save(c); err != nil {
		e.opts.Storage.Remove(id)
		os.RemoveAll(e.dir(id))
		return nil, err
	}
	en := &entry{c: c, done: make(chan struct{}), logs: e.newLogBook(c)}
	close(en.done)
	e.containers[id] = en
	recorded = true
	return c, nil
}

// mergeEnv is the image's environment with the container's on top.
func mergeEnv(image, extra []string) []string {
	idx := map[string]int{}
	var out []string
	for _, kv := range append(append([]string(nil), image...), extra...) {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[k]; ok {
			out[i] = kv
			continue
		}
		idx[k] = len(out)
		out = append(out, kv)
	}
	return out
}

func (e *Engine) nameTaken(name string) bool { return e.byName(name) != nil }

func (e *Engine) byName(name string) *entry {
	for _, en := range e.containers {
		if en.c.Name == "/"+name {
			return en
		}
	}
	return nil
}

// find resolves a name, full id or unambiguous id prefix.
func (e *Engine) find(ref string) (*entry, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ref = strings.TrimPrefix(ref, "/")
	if en := e.byName(ref); en != nil {
		return en, nil
	}
	if en, ok := e.containers[ref]; ok {
		return en, nil
	}
	var found *entry
	for id, en := range e.containers {
		if strings.HasPrefix(id, ref) {
			if found != nil {
				return nil, fmt.Errorf("%w: %q matches more than one container", ErrConflict, ref)
			}
			found = en
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: no such container: %s", ErrNotFound, ref)
	}
	return found, nil
}

// Inspect returns a copy of the container's record.
func (e *Engine) Inspect(ref string) (Container, error) {
	en, err := e.find(ref)
	if err != nil {
		return Container{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return *en.c, nil
}

// List returns the containers, newest first; all includes stopped ones.
func (e *Engine) List(all bool) []Container {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Container
	for _, en := range e.containers {
		if all || en.c.State.Running {
			out = append(out, *en.c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out
}

// Start runs the container: its root activated, its cgroup made, its
// first process started in new namespaces inside that cgroup, its network
// attached and ports published, then the process let go to exec the
// command.
func (e *Engine) Start(ref string) error {
	en, err := e.find(ref)
	if err != nil {
		return err
	}
	e.mu.Lock()
	if en.c.State.Running {
		e.mu.Unlock()
		return fmt.Errorf("%w: container %s is already running", ErrConflict, ShortID(en.c.Id))
	}
	en.stopping = false
	en.done = make(chan struct{})
	en.c.ManuallyStopped = false
	c := *en.c
	e.mu.Unlock()
	pid, exited, err := e.start(&c, en)
	if err != nil {
		e.mu.Lock()
		en.c.State = State{Status: "exited", ExitCode: runtime.ExitSetupFailed, Error: err.Error(), FinishedAt: time.Now().UTC()}
		e.save(en.c)
		close(en.done)
		e.mu.Unlock()
		return err
	}
	e.mu.Lock()
	c.State = State{Status: "running", Running: true, Pid: pid, StartedAt: time.Now().UTC()}
	*en.c = c
	e.save(en.c)
	e.mu.Unlock()
	go e.monitor(en, exited)
	return nil
}

// start sets the container up and starts its first process: its root
// activated, its cgroup made, its first process started through the
// runtime, held until its network is attached, then let go.
func (e *Engine) start(c *Container, en *entry) (int, <-chan unix.WaitStatus, error) {
	id := c.Id
	dev, err := e.opts.Storage.Activate(id)
	if err != nil {
		return 0, nil, err
	}
	// Before the process starts, a failure undoes what was made so far.
	undo := func(err error) (int, <-chan unix.WaitStatus, error) {
		e.cleanUp(c)
		return 0, nil, err
	}
	for _, m := range c.Mounts {
		// As docker run -v does, a missing host directory is made.
		if err := os.MkdirAll(m.Source, 0o755); err != nil {
			return undo(fmt.Errorf("engine: volume %s: %w", m.Source, err))
		}
	}
	rootMount := filepath.Join(e.opts.RunDir, "containers", id, "rootfs")
	if err := os.MkdirAll(rootMount, 0o700); err != nil {
		return undo(err)
	}
	spec, res, err := e.runtimeSpec(c, dev, rootMount)
	if err != nil {
		return undo(err)
	}
	if err := e.opts.Runtime.CreateCgroup(id, res); err != nil {
		return undo(err)
	}
	streams, err := en.logs.open(c.Config.Tty, c.Config.OpenStdin, c.Config.StdinOnce, Winsize{})
	if err != nil {
		return undo(err)
	}
	launch, err := e.opts.Runtime.NewInit(spec, runtime.Stdio{Stdin: streams.Stdin, Stdout: streams.Stdout,
		Stderr: streams.Stderr, Terminal: c.Config.Tty})
	if err != nil {
		streams.closeContainerEnds()
		en.logs.wait()
		return undo(err)
	}
	defer launch.Close()
	pid, exited, err := e.opts.Reaper.Start(launch.Cmd)
	streams.closeContainerEnds()
	if err != nil {
		launch.Close()
		en.logs.wait()
		return undo(fmt.Errorf("engine: start the container's process: %w", err))
	}
	fail := func(err error) (int, <-chan unix.WaitStatus, error) {
		unix.Kill(pid, unix.SIGKILL)
		<-exited
		en.logs.wait()
		e.cleanUp(c)
		return 0, nil, err
	}
	if err := e.opts.Keeper.hold(id, pid, streams.Engine); err != nil {
		e.logf("engine: PID 1 does not keep container %s: %v", ShortID(id), err)
	}
	if err := launch.Started(); err != nil {
		return fail(err)
	}
	if err := e.connect(c, pid); err != nil {
		return fail(err)
	}
	if err := e.relabel(c); err != nil {
		return fail(err)
	}
	if err := launch.Release(); err != nil {
		return fail(err)
	}
	return pid, exited, nil
}

// connect attaches the process's network namespace to the bridge,
// publishes the ports and writes the name files.
func (e *Engine) connect(c *Container, pid int) error {
	switch c.HostConfig.Network() {
	case "host":
		// The host's network, names and name servers, as Docker's.
		c.NetworkSettings = NetworkSettings{Ports: map[string][]PortBinding{}}
		return netconf.WriteHostNameFiles(e.dir(c.Id), c.Config.Hostname)
	case "none":
		c.NetworkSettings = NetworkSettings{Ports: map[string][]PortBinding{}}
		if err := netconf.LoopbackUp(fmt.Sprintf("/proc/%d/ns/net", pid)); err != nil {
			return err
		}
		return netconf.WriteNameFiles(e.dir(c.Id), c.Config.Hostname, netip.Addr{}, nil, nil)
	}
	ep, err := e.opts.Network.Attach(c.Id, fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return err
	}
	var want []config.PortMapping
	for key, bindings := range c.HostConfig.PortBindings {
		port, proto, _ := strings.Cut(key, "/")
		cp, _ := strconv.Atoi(port)
		for _, b := range bindings {
			hp, _ := strconv.Atoi(b.HostPort)
			want = append(want, config.PortMapping{HostIP: b.HostIP(), HostPort: uint16(hp), ContainerPort: uint16(cp), Proto: proto})
		}
	}
	if c.HostConfig.PublishAllPorts {
		for key := range c.Config.ExposedPorts {
			if _, bound := c.HostConfig.PortBindings[key]; bound {
				continue
			}
			port, proto, _ := strings.Cut(key, "/")
			cp, _ := strconv.Atoi(port)
			want = append(want, config.PortMapping{ContainerPort: uint16(cp), Proto: proto})
		}
	}
	sort.Slice(want, func(i, j int) bool { return want[i].ContainerPort < want[j].ContainerPort })
	got, err := e.opts.Network.Publish(ep, want)
	if err != nil {
		e.opts.Network.Detach(c.Id)
		return err
	}
	c.NetworkSettings = NetworkSettings{IPAddress: ep.IP.String(), IPPrefixLen: e.opts.Network.Gateway.Bits(),
		Gateway: ep.Gateway.String(), Bridge: e.opts.Network.Bridge, Ports: map[string][]PortBinding{}}
	for p := range c.Config.ExposedPorts {
		c.NetworkSettings.Ports[p] = nil
	}
	for _, p := range got {
		key := fmt.Sprintf("%d/%s", p.ContainerPort, p.Proto)
		ip := p.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		c.NetworkSettings.Ports[key] = append(c.NetworkSettings.Ports[key], PortBinding{HostIp: ip, HostPort: strconv.Itoa(int(p.HostPort))})
	}
	var links []netconf.Link
	for _, l := range c.HostConfig.Links {
		name, alias, _ := strings.Cut(l, ":")
		if other, err := e.Inspect(name); err == nil && other.NetworkSettings.IPAddress != "" {
			links = append(links, netconf.Link{Name: name, Alias: alias, IP: mustAddr(other.NetworkSettings.IPAddress)})
		}
	}
	return netconf.WriteNameFiles(e.dir(c.Id), c.Config.Hostname, ep.IP, links, netconf.HostDNS())
}

// HostIP is the binding's address, "" for all.
func (b PortBinding) HostIP() string {
	if b.HostIp == "0.0.0.0" {
		return ""
	}
	return b.HostIp
}

// cleanUp undoes a run: network, device, cgroup.
func (e *Engine) cleanUp(c *Container) {
	if c.HostConfig.Network() == "bridge" {
		e.opts.Network.Detach(c.Id)
	}
	e.opts.Storage.Deactivate(c.Id)
	e.opts.Runtime.DeleteCgroup(c.Id)
	os.RemoveAll(filepath.Join(e.opts.RunDir, "containers", c.Id))
}

// monitor waits for the container's first process to end, records how,
// cleans up, and restarts it as its policy says.
func (e *Engine) monitor(en *entry, exited <-chan unix.WaitStatus) {
	ws := <-exited
	en.logs.wait()
	e.opts.Keeper.drop(en.c.Id)
	e.forgetExecs(en.c.Id)
	code := ws.ExitStatus()
	if ws.Signaled() {
		code = 128 + int(ws.Signal())
	}
	e.mu.Lock()
	c := en.c
	oom := e.opts.Runtime.OOMKilled(c.Id)
	e.mu.Unlock()
	e.cleanUp(c)
	e.mu.Lock()
	c.State = State{Status: "exited", ExitCode: code, OOMKilled: oom, StartedAt: c.State.StartedAt, FinishedAt: time.Now().UTC()}
	ran := c.State.FinishedAt.Sub(c.State.StartedAt)
	restart := !en.stopping && shouldRestart(c.HostConfig.RestartPolicy, code, c.RestartCount)
	if restart {
		c.State.Status, c.State.Restarting = "restarting", true
		c.RestartCount++
	}
	e.save(c)
	close(en.done)
	autoRemove := c.HostConfig.AutoRemove && !restart
	count := c.RestartCount
	e.mu.Unlock()
	if autoRemove {
		e.Remove(c.Id, false, true) // --rm takes the container's volumes too, as Docker's
		return
	}
	if restart {
		delay := backoff(count, ran)
		time.Sleep(delay)
		if en.stopping {
			return
		}
		if err := e.Start(c.Id); err != nil {
			e.logf("engine: restart %s: %v", strings.TrimPrefix(c.Name, "/"), err)
		}
	}
}

// forgetExecs drops the exec instances of a container whose run ended.
func (e *Engine) forgetExecs(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for xid, x := range e.execs {
		if x.inspect.ContainerID == id {
			delete(e.execs, xid)
		}
	}
}

// shouldRestart applies a restart policy to an exit.
func shouldRestart(p RestartPolicy, code, restarts int) bool {
	switch p.Name {
	case "always", "unless-stopped":
		return true
	case "on-failure":
		return code != 0 && (p.MaximumRetryCount == 0 || restarts < p.MaximumRetryCount)
	}
	return false
}

// backoff is the wait before the count-th restart: 100 ms doubling, back
// to 100 ms after a run of 10 s or more.
func backoff(count int, ran time.Duration) time.Duration {
	if ran >= 10*time.Second {
		return 100 * time.Millisecond
	}
	d := 100 * time.Millisecond
	for i := 1; i < count && d < time.Minute; i++ {
		d *= 2
	}
	return min(d, time.Minute)
}

// Wait blocks until the container's current run ends and returns its exit
// status.
func (e *Engine) Wait(ref string) (int, error) {
	en, err := e.find(ref)
	if err != nil {
		return 0, err
	}
	for {
		e.mu.Lock()
		done := en.done
		e.mu.Unlock()
		<-done
		e.mu.Lock()
		st := en.c.State
		e.mu.Unlock()
		if !st.Restarting {
			return st.ExitCode, nil
		}
	}
}

// Stop sends SIGTERM, then after timeout SIGKILL to everything in the
// container's cgroup, as docker stop does; the container is recorded as
// stopped by hand.
func (e *Engine) Stop(ref string, timeout time.Duration) error {
	return e.stop(ref, timeout, true)
}

// StopAll stops every running container at once, as at shutdown: not by
// hand, so that unless-stopped containers start again at the next boot.
func (e *Engine) StopAll(timeout time.Duration) {
	var wg sync.WaitGroup
	for _, c := range e.List(false) {
		wg.Go(func() { e.stop(c.Id, timeout, false) })
	}
	wg.Wait()
}

func (e *Engine) stop(ref string, timeout time.Duration, manual bool) error {
	en, err := e.find(ref)
	if err != nil {
		return err
	}
	e.mu.Lock()
	en.stopping = true
	if manual {
		en.c.ManuallyStopped = true
		e.save(en.c)
	}
	c, done := en.c, en.done
	running := c.State.Running
	e.mu.Unlock()
	if !running {
		return nil
	}
	unix.Kill(c.State.Pid, unix.SIGTERM)
	// The first process of a PID namespace ignores signals it has no
	// handler for: when it does not catch SIGTERM, waiting is in vain.
	if !catches(c.State.Pid, unix.SIGTERM) {
		timeout = 0
	}
	select {
	case <-done:
		return nil
	case <-time.After(timeout):
	}
	e.opts.Runtime.KillCgroup(c.Id)
	unix.Kill(c.State.Pid, unix.SIGKILL)
	<-done
	return nil
}

// catches reports whether process pid has a handler for sig, from the
// SigCgt mask of /proc/<pid>/status.
func catches(pid int, sig unix.Signal) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return true // unknown: give it the grace period
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "SigCgt:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err != nil || mask&(1<<(uint(sig)-1)) != 0
		}
	}
	return true
}

// Kill sends sig to the container's first process.
func (e *Engine) Kill(ref string, sig unix.Signal) error {
	en, err := e.find(ref)
	if err != nil {
		return err
	}
	e.mu.Lock()
	c := en.c
	running, pid := c.State.Running, c.State.Pid
	if running && (sig == unix.SIGKILL || sig == unix.SIGTERM) {
		en.stopping = true
		c.ManuallyStopped = true
		e.save(c)
	}
	e.mu.Unlock()
	if !running {
		return fmt.Errorf("%w: container %s is not running", ErrConflict, ShortID(c.Id))
	}
	return unix.Kill(pid, sig)
}

// Remove deletes a stopped container, or with force a running one, and
// its root device; with volumes (rm -v) its volumes too.
func (e *Engine) Remove(ref string, force, volumes bool) error {
	en, err := e.find(ref)
	if err != nil {
		return err
	}
	e.mu.Lock()
	running := en.c.State.Running
	e.mu.Unlock()
	if running {
		if !force {
			return fmt.Errorf("%w: you cannot remove a running container %s; stop it first or use rm -f", ErrConflict, ShortID(en.c.Id))
		}
		if err := e.Stop(en.c.Id, 0); err != nil {
			return err
		}
	}
	id := en.c.Id
	if err := e.opts.Storage.Remove(id); err != nil && !strings.Contains(err.Error(), "no device") {
		return err
	}
	if volumes {
		for _, m := range en.c.Mounts {
			if m.Type == "volume" && m.Name != "" {
				os.RemoveAll(filepath.Join(e.volumesDir(), m.Name))
			}
		}
	}
	selinux.ReleaseLabel(en.c.ProcessLabel)
	e.mu.Lock()
	delete(e.containers, id)
	e.mu.Unlock()
	return os.RemoveAll(e.dir(id))
}

func mustAddr(s string) netip.Addr {
	a, _ := netip.ParseAddr(s)
	return a
}

// RemoveImage is docker rmi: a name is untagged; the image itself goes
// with its last name or when named by id. An image a container uses is
// refused unless force.
func (e *Engine) RemoveImage(ref string, force bool) ([]map[string]string, error) {
	img, err := e.Images.Get(ref)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	var users []string
	for _, c := range e.List(true) {
		if c.Image == img.ID {
			users = append(users, ShortID(c.Id))
		}
	}
	if len(users) > 0 && !force {
		return nil, fmt.Errorf("%w: unable to remove image %s: container %s uses it; remove the container first (berth rm), or use rmi -f",
			ErrConflict, ref, strings.Join(users, ", "))
	}
	var out []map[string]string
	byID := strings.HasPrefix(img.ID, "sha256:"+strings.TrimPrefix(ref, "sha256:"))
	if !byID {
		last, err := e.Images.Untag(ref)
		if err != nil {
			return nil, err
		}
		norm, _ := NormalizeRef(ref)
		out = append(out, map[string]string{"Untagged": norm})
		if !last {
			return out, nil
		}
	}
	parent := e.Images.Parent(img.ID)
	if err := e.Images.Delete(img); err != nil {
		return out, err
	}
	out = append(out, map[string]string{"Deleted": img.ID})
	// As Docker: the build steps' images below it go too, down to one
	// that has a name, another image built on it, or a container.
	used := map[string]bool{}
	for _, c := range e.List(true) {
		used[c.Image] = true
	}
	for p := parent; p != "" && e.Images.Intermediate(p) && !e.Images.hasChildren(p) && !used[p]; {
		parent, err := e.Images.Get(p)
		if err != nil || len(parent.RepoTags) > 0 {
			break
		}
		next := e.Images.Parent(p)
		if err := e.Images.Delete(parent); err != nil {
			return out, err
		}
		out = append(out, map[string]string{"Deleted": p})
		p = next
	}
	return out, nil
}

// ProxyTransport is an HTTP transport that goes through the proxies of
// [network] http_proxy, https_proxy and no_proxy, as image pulls should.
func ProxyTransport(n config.Network) http.RoundTripper {
	proxy := (&httpproxy.Config{HTTPProxy: n.HTTPProxy, HTTPSProxy: n.HTTPSProxy, NoProxy: n.NoProxy}).ProxyFunc()
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = func(r *http.Request) (*url.URL, error) { return proxy(r.URL) }
	return t
}
