package engine

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stringid"
	"github.com/opencontainers/selinux/go-selinux"
	"golang.org/x/net/http/httpproxy"
	"golang.org/x/sys/unix"

	"berth/config"
	"berth/errdefs"
	"berth/imagestore"
	"berth/netconf"
	"berth/runtime"
	"berth/supervise"
	"berth/thinpool"
)

// Options are what an engine is given.
type Options struct {
	// Version is berth's, which docker version and info show.
	Version string
	// InitBinary is the init --init runs in a container (tini).
	InitBinary string
	StateDir   string // /var/lib/berth: containers/ and images/ live here
	RunDir     string // /run/berth: mount points, sockets
	Storage    *thinpool.Storage
	Network    *netconf.Network
	Reaper     *supervise.Reaper
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
	Keeper *supervise.KeeperLink
	Held   map[string]supervise.HeldRun
}

// Engine owns images and containers.
type Engine struct {
	opts   Options
	Images *imagestore.Store

	events *eventLog

	mu         sync.Mutex
	containers map[string]*entry               // by id
	adopted    map[string]chan unix.WaitStatus // exits of re-adopted runs, which PID 1 reaps
	execs      map[string]*execRun             // docker exec instances, by id
}

// entry is a container with what the engine holds while it runs.
type entry struct {
	c       *Container
	done    chan struct{}       // closed when the current run ends
	restart supervise.Restarter // its restart policy at work; stopped by the user
	logs    *logBook
	waiters []waiter   // docker wait calls not answered yet
	health  *healthRun // the health check of the current run, if any
	// starting is held for reading while a process is started into the
	// container's cgroup (an exec, a health probe) and for writing while
	// the container is frozen: a process cloned into a frozen cgroup
	// stops before its exec, and the start (with the reaper's lock) with
	// it.
	starting sync.RWMutex
}

// startInside starts launch, a process cloned into the container's cgroup,
// unless the container is paused (ErrConflict).
func (e *Engine) startInside(en *entry, launch *runtime.Launch) (int, <-chan unix.WaitStatus, error) {
	en.starting.RLock()
	defer en.starting.RUnlock()
	e.mu.Lock()
	paused, id := en.c.State.Paused, en.c.Id
	e.mu.Unlock()
	if paused {
		return 0, nil, errdefs.Kind(errdefs.ErrConflict, fmt.Errorf("Container %s is paused, unpause the container before exec", id))
	}
	return e.opts.Reaper.Start(launch.Cmd)
}

// New returns an engine over opts, with the containers recorded in
// StateDir. Containers recorded as running whose process is gone (the host
// rebooted) are recorded as exited.
func New(opts Options) (*Engine, error) {
	images, err := imagestore.New(filepath.Join(opts.StateDir, "images"), opts.Storage)
	if err != nil {
		return nil, err
	}
	e := &Engine{opts: opts, Images: images, events: newEventLog(), containers: map[string]*entry{}, adopted: map[string]chan unix.WaitStatus{}}
	if err := os.MkdirAll(e.containersDir(), 0o700); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	dirs, _ := os.ReadDir(e.containersDir())
	for _, d := range dirs {
		c, err := e.load(d.Name())
		if err != nil {
			e.logf("engine: skipping container %s: %v", stringid.TruncateID(d.Name()), err)
			continue
		}
		en := &entry{c: c, done: make(chan struct{}), logs: e.newLogBook(c)}
		e.containers[c.Id] = en
		if c.ProcessLabel != "" {
			selinux.ReserveLabel(c.ProcessLabel)
		}
		if held, ok := opts.Held[c.Id]; ok && c.State.Running && held.Pid == c.State.Pid {
			if err := e.adopt(en, held); err == nil {
				e.startHealth(en)
				continue
			} else {
				e.logf("engine: re-adopt %s: %v", stringid.TruncateID(c.Id), err)
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
			opts.Keeper.Drop(id)
		}
	}
	if opts.Keeper != nil {
		go opts.Keeper.Serve(e.adoptedExit)
	}
	return e, nil
}

// adopt takes over a run that PID 1 kept while the engine was away: its
// output is copied into the log again, and PID 1, which reaps it now,
// reports its end.
func (e *Engine) adopt(en *entry, h supervise.HeldRun) error {
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
	if err := json.Unmarshal(b, c); err != nil {
		return nil, err
	}
	if c.Config == nil {
		c.Config = &container.Config{}
	}
	if c.HostConfig == nil {
		c.HostConfig = &container.HostConfig{}
	}
	return c, nil
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

// ProxyTransport is an HTTP transport that goes through the proxies of
// [network] http_proxy, https_proxy and no_proxy, as image pulls should.
func ProxyTransport(n config.Network) http.RoundTripper {
	proxy := (&httpproxy.Config{HTTPProxy: n.HTTPProxy, HTTPSProxy: n.HTTPSProxy, NoProxy: n.NoProxy}).ProxyFunc()
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = func(r *http.Request) (*url.URL, error) { return proxy(r.URL) }
	return t
}
