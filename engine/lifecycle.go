package engine

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stringid"
	"github.com/docker/go-connections/nat"
	"github.com/opencontainers/selinux/go-selinux"
	"golang.org/x/sys/unix"

	"berth/config"
	"berth/errdefs"
	"berth/netconf"
	"berth/runtime"
	"berth/thinpool"
)

// ErrNoSuchContainer is returned for a name or id no container has.
var ErrNoSuchContainer = errdefs.Kind(errdefs.ErrNotFound, errors.New("No such container"))

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
	return e.findLocked(ref)
}

func (e *Engine) findLocked(ref string) (*entry, error) {
	ref = strings.TrimPrefix(ref, "/")
	if en := e.byName(ref); en != nil {
		return en, nil
	}
	if en, ok := e.containers[ref]; ok {
		return en, nil
	}
	var found *entry
	for id, en := range e.containers {
		if ref != "" && strings.HasPrefix(id, ref) {
			if found != nil {
				return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("multiple IDs found with provided prefix: %s", ref))
			}
			found = en
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoSuchContainer, ref)
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

// ContainerStart runs the container: its root activated, its cgroup made, its
// first process started in new namespaces, its network attached and ports
// published, and, once its program runs, its health watched.
func (e *Engine) ContainerStart(ref string) error {
	en, err := e.find(ref)
	if err != nil {
		return err
	}
	e.mu.Lock()
	if en.c.State.Running {
		e.mu.Unlock()
		return errdefs.Kind(errdefs.ErrNotModified, fmt.Errorf("container %s is already running", stringid.TruncateID(en.c.Id)))
	}
	en.restart.Resume()
	en.done = make(chan struct{})
	en.c.ManuallyStopped = false
	c := *en.c
	e.mu.Unlock()
	pid, exited, err := e.start(&c, en)
	if err != nil {
		// As Docker's: the state says why, with the status the shell
		// would give (126, 127, else 125); a container that never ran
		// stays created.
		code := runtime.ExitSetupFailed
		var se *runtime.StartError
		if errors.As(err, &se) {
			code = se.Code
			err = errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("failed to create task for container: %w", err))
		}
		e.mu.Lock()
		status := "exited"
		if en.c.State.StartedAt.IsZero() {
			status = "created"
		}
		en.c.State = State{Status: status, ExitCode: code, Error: err.Error(), StartedAt: en.c.State.StartedAt, FinishedAt: time.Now().UTC()}
		e.save(en.c)
		close(en.done)
		e.notifyWaiters(en, code, false)
		e.mu.Unlock()
		return err
	}
	e.mu.Lock()
	c.State = State{Status: "running", Running: true, Pid: pid, StartedAt: time.Now().UTC()}
	*en.c = c
	e.save(en.c)
	e.mu.Unlock()
	e.event("container", "start", &c)
	e.startHealth(en)
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
		if m.Type == "bind" {
			// As docker run -v does, a missing host directory is made.
			if err := os.MkdirAll(m.Source, 0o755); err != nil {
				return undo(fmt.Errorf("engine: volume %s: %w", m.Source, err))
			}
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
	if err := e.opts.Keeper.Hold(id, pid, streams.Engine); err != nil {
		e.logf("engine: PID 1 does not keep container %s: %v", stringid.TruncateID(id), err)
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
	hc := c.HostConfig
	names := netconf.Names{Hostname: c.Config.Hostname, Domainname: c.Config.Domainname, DNS: hc.DNS, Search: hc.DNSSearch,
		Options: hc.DNSOptions, ExtraHosts: hc.ExtraHosts}
	switch networkMode(hc) {
	case "host":
		// The host's network, names and name servers, as Docker's.
		c.NetworkSettings = NetworkSettings{Ports: nat.PortMap{}}
		return netconf.WriteHostNameFiles(e.dir(c.Id), names)
	case "none":
		c.NetworkSettings = NetworkSettings{Ports: nat.PortMap{}}
		if err := netconf.LoopbackUp(fmt.Sprintf("/proc/%d/ns/net", pid)); err != nil {
			return err
		}
		return netconf.WriteNameFiles(e.dir(c.Id), names)
	}
	ep, err := e.opts.Network.Attach(c.Id, fmt.Sprintf("/proc/%d/ns/net", pid))
	if err != nil {
		return err
	}
	var want []config.PortMapping
	for port, bindings := range hc.PortBindings {
		for _, b := range bindings {
			hp, _ := strconv.Atoi(b.HostPort)
			ip := b.HostIP
			if ip == "0.0.0.0" {
				ip = ""
			}
			want = append(want, config.PortMapping{HostIP: ip, HostPort: uint16(hp), ContainerPort: uint16(port.Int()), Proto: port.Proto()})
		}
	}
	if hc.PublishAllPorts {
		for port := range c.Config.ExposedPorts {
			if _, bound := hc.PortBindings[port]; !bound {
				want = append(want, config.PortMapping{ContainerPort: uint16(port.Int()), Proto: port.Proto()})
			}
		}
	}
	sort.Slice(want, func(i, j int) bool { return want[i].ContainerPort < want[j].ContainerPort })
	got, err := e.opts.Network.Publish(ep, want)
	if err != nil {
		e.opts.Network.Detach(c.Id)
		return err
	}
	c.NetworkSettings = NetworkSettings{IPAddress: ep.IP.String(), IPPrefixLen: e.opts.Network.Gateway.Bits(),
		Gateway: ep.Gateway.String(), Bridge: e.opts.Network.Bridge, MacAddress: ep.MAC, Ports: nat.PortMap{}}
	for p := range c.Config.ExposedPorts {
		c.NetworkSettings.Ports[p] = nil
	}
	for _, p := range got {
		port, _ := nat.NewPort(p.Proto, strconv.Itoa(int(p.ContainerPort)))
		ip := p.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		c.NetworkSettings.Ports[port] = append(c.NetworkSettings.Ports[port], nat.PortBinding{HostIP: ip, HostPort: strconv.Itoa(int(p.HostPort))})
	}
	names.IP = ep.IP
	for _, l := range hc.Links {
		name, alias, _ := strings.Cut(strings.TrimPrefix(l, "/"), ":")
		if alias == "" {
			alias = name
		}
		alias = strings.TrimPrefix(alias, strings.TrimPrefix(c.Name, "/")+"/")
		if other, err := e.Inspect(name); err == nil && other.NetworkSettings.IPAddress != "" {
			ip, _ := netip.ParseAddr(other.NetworkSettings.IPAddress)
			names.Links = append(names.Links, netconf.Link{Name: strings.TrimPrefix(other.Name, "/"), Alias: alias, IP: ip})
		}
	}
	if len(names.DNS) == 0 {
		names.DNS = netconf.HostDNS()
	}
	return netconf.WriteNameFiles(e.dir(c.Id), names)
}

// cleanUp undoes a run: network, device, cgroup.
func (e *Engine) cleanUp(c *Container) {
	if networkMode(c.HostConfig) == "bridge" {
		e.opts.Network.Detach(c.Id)
	}
	e.opts.Storage.Deactivate(c.Id)
	e.opts.Runtime.DeleteCgroup(c.Id)
	os.RemoveAll(filepath.Join(e.opts.RunDir, "containers", c.Id))
}

// monitor waits for the container's first process to end, records how,
// cleans up, tells its waiters, and restarts it as its policy says.
func (e *Engine) monitor(en *entry, exited <-chan unix.WaitStatus) {
	ws := <-exited
	e.stopHealth(en)
	en.logs.wait()
	e.opts.Keeper.Drop(en.c.Id)
	e.forgetExecs(en.c.Id)
	code := exitCode(ws)
	e.mu.Lock()
	c := en.c
	oom := e.opts.Runtime.OOMKilled(c.Id)
	e.mu.Unlock()
	e.cleanUp(c)
	e.mu.Lock()
	health := c.State.Health
	if health != nil {
		health.Status = container.Unhealthy
	}
	c.State = State{Status: "exited", ExitCode: code, OOMKilled: oom, StartedAt: c.State.StartedAt, FinishedAt: time.Now().UTC(), Health: health}
	ran := c.State.FinishedAt.Sub(c.State.StartedAt)
	restart, wait := en.restart.Next(c.HostConfig.RestartPolicy, code, c.RestartCount, ran)
	if restart {
		c.State.Status, c.State.Restarting = "restarting", true
		c.RestartCount++
	}
	e.save(c)
	close(en.done)
	e.notifyWaiters(en, code, restart)
	autoRemove := c.HostConfig.AutoRemove && !restart
	cc := *c
	e.mu.Unlock()
	if oom {
		e.event("container", "oom", &cc)
	}
	e.event("container", "die", &cc, exitAttrs(code)...)
	if autoRemove {
		e.Remove(c.Id, false, true) // --rm takes the container's anonymous volumes too, as Docker's
		return
	}
	if restart && en.restart.Wait(wait) {
		if err := e.ContainerStart(c.Id); err != nil {
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

// waiter is a docker wait call: its condition and where to answer.
type waiter struct {
	cond container.WaitCondition
	ch   chan container.WaitResponse
}

// notifyWaiters answers the waits an exit ends: next-exit always,
// not-running unless the container restarts. Called with e.mu held.
func (e *Engine) notifyWaiters(en *entry, code int, restarting bool) {
	keep := en.waiters[:0]
	for _, w := range en.waiters {
		if w.cond == container.WaitConditionNextExit || (w.cond != container.WaitConditionRemoved && !restarting) {
			w.ch <- container.WaitResponse{StatusCode: int64(code)}
			continue
		}
		keep = append(keep, w)
	}
	en.waiters = keep
}

// ContainerWait is docker wait: it registers at once, so that next-exit
// counts from the call, and answers on the channel when cond holds.
func (e *Engine) ContainerWait(ctx context.Context, ref string, cond container.WaitCondition) (<-chan container.WaitResponse, error) {
	if cond == "" {
		cond = container.WaitConditionNotRunning
	}
	en, err := e.find(ref)
	if err != nil {
		return nil, err
	}
	ch := make(chan container.WaitResponse, 1)
	e.mu.Lock()
	defer e.mu.Unlock()
	st := en.c.State
	if cond == container.WaitConditionNotRunning && !st.Running && !st.Restarting {
		ch <- container.WaitResponse{StatusCode: int64(st.ExitCode)}
		return ch, nil
	}
	en.waiters = append(en.waiters, waiter{cond, ch})
	return ch, nil
}

// Wait blocks until the container is not running and returns its exit
// status.
func (e *Engine) Wait(ref string) (int, error) {
	ch, err := e.ContainerWait(context.Background(), ref, container.WaitConditionNotRunning)
	if err != nil {
		return 0, err
	}
	return int(((<-ch).StatusCode)), nil
}

// StopAll stops every running container at once, as at shutdown: not by
// hand, so that unless-stopped containers start again at the next boot.
func (e *Engine) StopAll(timeout time.Duration) {
	var wg sync.WaitGroup
	for _, c := range e.List(false) {
		t := int(timeout / time.Second)
		wg.Go(func() { e.stop(c.Id, container.StopOptions{Timeout: &t}, false) })
	}
	wg.Wait()
}

// stopSignal is the signal docker stop sends first: the container's
// StopSignal, else SIGTERM.
func stopSignal(c *Container, o container.StopOptions) (unix.Signal, error) {
	name := o.Signal
	if name == "" {
		name = c.Config.StopSignal
	}
	if name == "" {
		return unix.SIGTERM, nil
	}
	return runtime.ParseSignal(name)
}

// stop sends the stop signal, then after the timeout SIGKILL to
// everything in the container's cgroup, as docker stop does; manual
// records the stop as the user's.
func (e *Engine) stop(ref string, o container.StopOptions, manual bool) error {
	en, err := e.find(ref)
	if err != nil {
		return err
	}
	e.mu.Lock()
	c := en.c
	sig, err := stopSignal(c, o)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	timeout := 10 * time.Second
	if c.Config.StopTimeout != nil {
		timeout = time.Duration(*c.Config.StopTimeout) * time.Second
	}
	if o.Timeout != nil {
		timeout = time.Duration(*o.Timeout) * time.Second
	}
	en.restart.Stop()
	if manual {
		c.ManuallyStopped = true
		e.save(c)
	}
	done, running, paused, pid := en.done, c.State.Running, c.State.Paused, c.State.Pid
	cc := *c
	e.mu.Unlock()
	if !running {
		return nil
	}
	if paused {
		e.unpause(en)
	}
	e.event("container", "kill", &cc, "signal", strconv.Itoa(int(sig)))
	unix.Kill(pid, sig)
	// The first process of a PID namespace ignores signals it has no
	// handler for: when it does not catch the signal, waiting is in vain.
	if !catches(pid, sig) {
		timeout = 0
	}
	if timeout < 0 {
		<-done
	} else {
		select {
		case <-done:
		case <-time.After(timeout):
			e.opts.Runtime.KillCgroup(cc.Id)
			unix.Kill(pid, unix.SIGKILL)
			<-done
		}
	}
	e.event("container", "stop", &cc)
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

// ContainerKill sends sig to the container's first process.
func (e *Engine) ContainerKill(ref, signal string) error {
	sig := unix.SIGKILL
	if signal != "" {
		var err error
		if sig, err = runtime.ParseSignal(signal); err != nil {
			return err
		}
	}
	en, err := e.find(ref)
	if err != nil {
		return err
	}
	e.mu.Lock()
	c := en.c
	running, paused, pid := c.State.Running, c.State.Paused, c.State.Pid
	if running && (sig == unix.SIGKILL || sig == unix.SIGTERM) {
		en.restart.Stop()
		c.ManuallyStopped = true
		e.save(c)
	}
	cc := *c
	e.mu.Unlock()
	if !running {
		return errdefs.Kind(errdefs.ErrConflict, fmt.Errorf("Container %s is not running", cc.Id))
	}
	if paused && sig == unix.SIGKILL {
		e.unpause(en)
	}
	e.event("container", "kill", &cc, "signal", strconv.Itoa(int(sig)))
	return unix.Kill(pid, sig)
}

// ContainerPause freezes every process of the container (the cgroup freezer).
func (e *Engine) ContainerPause(ref string) error {
	en, err := e.find(ref)
	if err != nil {
		return err
	}
	en.starting.Lock()
	defer en.starting.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	c := en.c
	switch {
	case !c.State.Running:
		return errdefs.Kind(errdefs.ErrConflict, fmt.Errorf("Container %s is not running", c.Id))
	case c.State.Paused:
		return errdefs.Kind(errdefs.ErrConflict, fmt.Errorf("Container %s is already paused", c.Id))
	}
	if err := e.opts.Runtime.Freeze(c.Id, true); err != nil {
		return err
	}
	c.State.Paused, c.State.Status = true, "paused"
	e.save(c)
	e.event("container", "pause", c)
	return nil
}

// ContainerUnpause thaws a paused container.
func (e *Engine) ContainerUnpause(ref string) error {
	en, err := e.find(ref)
	if err != nil {
		return err
	}
	e.mu.Lock()
	paused := en.c.State.Paused
	e.mu.Unlock()
	if !paused {
		return errdefs.Kind(errdefs.ErrConflict, fmt.Errorf("Container %s is not paused", en.c.Id))
	}
	return e.unpause(en)
}

func (e *Engine) unpause(en *entry) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c := en.c
	if err := e.opts.Runtime.Freeze(c.Id, false); err != nil {
		return err
	}
	c.State.Paused = false
	if c.State.Running {
		c.State.Status = "running"
	}
	e.save(c)
	e.event("container", "unpause", c)
	return nil
}

// ContainerStop is docker stop: the stop signal, then after the timeout
// SIGKILL. A container that does not run is answered 304, as Docker's.
func (e *Engine) ContainerStop(ref string, o container.StopOptions) error {
	c, err := e.Inspect(ref)
	if err != nil {
		return err
	}
	if !c.State.Running {
		return errdefs.Kind(errdefs.ErrNotModified, fmt.Errorf("container %s is not running", stringid.TruncateID(c.Id)))
	}
	return e.stop(c.Id, o, true)
}

// ContainerRestart is docker restart: stop when it runs, then start.
func (e *Engine) ContainerRestart(ref string, o container.StopOptions) error {
	if err := e.stop(ref, o, true); err != nil {
		return err
	}
	err := e.ContainerStart(ref)
	if errors.Is(err, errdefs.ErrNotModified) {
		return nil
	}
	if err == nil {
		if c, ierr := e.Inspect(ref); ierr == nil {
			e.event("container", "restart", &c)
		}
	}
	return err
}

// ContainerRemove is docker rm.
func (e *Engine) ContainerRemove(ref string, o container.RemoveOptions) error {
	if o.RemoveLinks {
		return errdefs.Kind(errdefs.ErrInvalid, errors.New("berth does not remove links (rm --link): remove or re-create the container that links"))
	}
	return e.Remove(ref, o.Force, o.RemoveVolumes)
}

// Remove deletes a stopped container, or with force a running one, and
// its root device; with volumes (rm -v) its anonymous volumes too.
func (e *Engine) Remove(ref string, force, volumes bool) error {
	en, err := e.find(ref)
	if err != nil {
		return err
	}
	e.mu.Lock()
	running, paused := en.c.State.Running, en.c.State.Paused
	e.mu.Unlock()
	if running {
		if !force {
			if paused {
				return errdefs.Kind(errdefs.ErrConflict, fmt.Errorf("cannot remove container %q: container is paused and must be unpaused first", en.c.Name))
			}
			return errdefs.Kind(errdefs.ErrConflict, fmt.Errorf("cannot remove container %q: container is running: stop the container before removing or force remove", en.c.Name))
		}
		zero := 0
		if err := e.stop(en.c.Id, container.StopOptions{Signal: "KILL", Timeout: &zero}, true); err != nil {
			return err
		}
	}
	id := en.c.Id
	if err := e.opts.Storage.Remove(id); err != nil && !errors.Is(err, thinpool.ErrNoDevice) {
		return err
	}
	e.mu.Lock()
	en.restart.Stop() // a restart waiting for its backoff does not happen
	delete(e.containers, id)
	for _, w := range en.waiters {
		w.ch <- container.WaitResponse{StatusCode: int64(en.c.State.ExitCode)}
	}
	en.waiters = nil
	c := *en.c
	e.mu.Unlock()
	if volumes {
		for _, m := range c.Mounts {
			if m.Type == "volume" && m.Name != "" {
				if rec, err := e.loadVolume(m.Name); err == nil && rec.Anonymous {
					e.VolumeRemove(m.Name, true)
				}
			}
		}
	}
	selinux.ReleaseLabel(c.ProcessLabel)
	err = os.RemoveAll(e.dir(id))
	e.event("container", "destroy", &c)
	return err
}

// ContainerRename gives a container a new name.
func (e *Engine) ContainerRename(ref, name string) error {
	name = strings.TrimPrefix(name, "/")
	if err := config.ValidName(name); err != nil {
		return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", name))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	en, err := e.findLocked(ref)
	if err != nil {
		return err
	}
	if other := e.byName(name); other != nil {
		return errdefs.Kind(errdefs.ErrConflict, fmt.Errorf("Conflict. The container name \"/%s\" is already in use by container \"%s\". You have to remove (or rename) that container to be able to reuse that name.", name, other.c.Id))
	}
	old := en.c.Name
	en.c.Name = "/" + name
	if err := e.save(en.c); err != nil {
		en.c.Name = old
		return err
	}
	e.event("container", "rename", en.c, "oldName", old)
	return nil
}
