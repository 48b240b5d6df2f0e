package cli

import (
	"archive/tar"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"text/template"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"
	"github.com/docker/go-units"

	"berth/api"
)

// startStatus is the exit status docker run gives when the container
// could not start, from the engine's words, as Docker's CLI: 127 for a
// command not found, 126 for one that cannot run, else 125.
func startStatus(err error) int {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "executable file not found") || strings.Contains(msg, "no such file or directory"):
		return ExitNotFound
	case strings.Contains(msg, syscall.EACCES.Error()) || strings.Contains(msg, syscall.EISDIR.Error()):
		return ExitNotRunning
	}
	return ExitFailed
}

// create makes the container the flags ask for; an image that is not
// here is pulled first, as docker run does.
func (e *env) create(c *createFlags, f *flags) (string, int) {
	if err := e.needClient(); err != nil {
		return "", e.fail(ExitFailed, err)
	}
	cfg, hc, err := c.request(f)
	if err != nil {
		return "", e.fail(ExitFailed, err)
	}
	resp, err := e.client.ContainerCreate(e.ctx, cfg, hc, nil, nil, c.name)
	if err != nil && isNotFound(err) && strings.Contains(err.Error(), "image") {
		fmt.Fprintf(e.stderr, "Unable to find image '%s' locally\n", cfg.Image)
		if status := e.pull(cfg.Image, false, e.stderr); status != 0 {
			return "", ExitFailed
		}
		resp, err = e.client.ContainerCreate(e.ctx, cfg, hc, nil, nil, c.name)
	}
	if err != nil {
		return "", e.fail(ExitFailed, err)
	}
	for _, w := range resp.Warnings {
		fmt.Fprintf(e.stderr, "WARNING: %s\n", w)
	}
	return resp.ID, 0
}

func runVerb(e *env, args []string) int {
	f := newFlags("run", e.stderr)
	var c createFlags
	c.register(f, true)
	if err := f.parse(args); err != nil {
		return ExitFailed
	}
	keys, err := api.DetachKeys(c.detachKeys)
	if err != nil {
		return e.fail(ExitFailed, err)
	}
	id, status := e.create(&c, f)
	if status != 0 {
		return status
	}
	if c.detach {
		if err := e.client.ContainerStart(e.ctx, id, container.StartOptions{}); err != nil {
			return e.fail(startStatus(err), err)
		}
		fmt.Fprintln(e.stdout, id)
		return 0
	}
	// Attached and waiting before it starts, so that nothing of its output
	// or its end is missed; with --rm, until the engine removed it.
	s, err := e.attachTo(id, c.tty, c.interactive, keys, c.detachKeys)
	if err != nil {
		return e.fail(ExitFailed, err)
	}
	cond := container.WaitConditionNextExit
	if c.rm {
		cond = container.WaitConditionRemoved
	}
	waitCh, waitErr := e.client.ContainerWait(e.ctx, id, cond)
	if err := e.client.ContainerStart(e.ctx, id, container.StartOptions{}); err != nil {
		s.resp.Close()
		if c.rm {
			e.client.ContainerRemove(e.ctx, id, container.RemoveOptions{Force: true})
		}
		return e.fail(startStatus(err), err)
	}
	if c.tty {
		e.resizeTerminal(id, false)
	} else if c.sigProxy {
		defer e.proxySignals(id)()
	}
	if s.stream(e) {
		return 0 // detached: the container runs on
	}
	select {
	case w := <-waitCh:
		if w.Error != nil && w.Error.Message != "" {
			return e.fail(ExitFailed, errors.New(w.Error.Message))
		}
		return int(w.StatusCode)
	case err := <-waitErr:
		return e.fail(ExitFailed, err)
	}
}

func createVerb(e *env, args []string) int {
	f := newFlags("create", e.stderr)
	var c createFlags
	c.register(f, false)
	if err := f.parse(args); err != nil {
		return ExitFailed
	}
	id, status := e.create(&c, f)
	if status == 0 {
		fmt.Fprintln(e.stdout, id)
	}
	return status
}

func startVerb(e *env, args []string) int {
	f := newFlags("start", e.stderr)
	var attach, interactive bool
	var detachKeys string
	f.boolVar(&attach, "a", "attach")
	f.boolVar(&interactive, "i", "interactive")
	f.stringVar(&detachKeys, "", "detach-keys")
	if code, ok := e.prepare(f, args, "start", atLeast(1)); !ok {
		return code
	}
	if (attach || interactive) && f.NArg() > 1 {
		return e.fail(1, errors.New("you cannot start and attach multiple containers at once"))
	}
	keys, err := api.DetachKeys(detachKeys)
	if err != nil {
		return e.fail(1, err)
	}
	status := 0
	for _, name := range f.Args() {
		if !attach && !interactive {
			if err := e.client.ContainerStart(e.ctx, name, container.StartOptions{}); err != nil {
				status = e.fail(1, err)
				continue
			}
			fmt.Fprintln(e.stdout, name)
			continue
		}
		c, err := e.client.ContainerInspect(e.ctx, name)
		if err != nil {
			return e.fail(1, err)
		}
		s, err := e.attachTo(c.ID, c.Config.Tty, interactive && c.Config.OpenStdin, keys, detachKeys)
		if err != nil {
			return e.fail(1, err)
		}
		waitCh, waitErr := e.client.ContainerWait(e.ctx, c.ID, container.WaitConditionNextExit)
		if err := e.client.ContainerStart(e.ctx, c.ID, container.StartOptions{}); err != nil {
			s.resp.Close()
			return e.fail(1, err)
		}
		if c.Config.Tty {
			e.resizeTerminal(c.ID, false)
		} else {
			defer e.proxySignals(c.ID)()
		}
		if s.stream(e) {
			return 0
		}
		select {
		case w := <-waitCh:
			return int(w.StatusCode)
		case err := <-waitErr:
			return e.fail(1, err)
		}
	}
	return status
}

// eachContainer runs do on each named container, printing its name as
// docker does; it returns 1 when any failed.
func (e *env) eachContainer(v string, names []string, do func(name string) error) int {
	if len(names) == 0 {
		return e.usageError(v, fmt.Sprintf("%q requires at least 1 argument.", v))
	}
	if err := e.needClient(); err != nil {
		return e.fail(1, err)
	}
	status := 0
	for _, name := range names {
		if err := do(name); err != nil {
			status = e.fail(1, err)
			continue
		}
		fmt.Fprintln(e.stdout, name)
	}
	return status
}

func stopVerb(v string) func(*env, []string) int {
	return func(e *env, args []string) int {
		f := newFlags(v, e.stderr)
		t := -1
		var sig string
		f.intVar(&t, -1, "t", "time")
		f.stringVar(&sig, "", "s", "signal")
		if f.parse(args) != nil {
			return ExitFailed
		}
		o := container.StopOptions{Signal: sig}
		if t >= 0 {
			o.Timeout = &t
		}
		return e.eachContainer(v, f.Args(), func(name string) error {
			if v == "restart" {
				return e.client.ContainerRestart(e.ctx, name, o)
			}
			return e.client.ContainerStop(e.ctx, name, o)
		})
	}
}

func killVerb(e *env, args []string) int {
	f := newFlags("kill", e.stderr)
	var sig string
	f.stringVar(&sig, "KILL", "s", "signal")
	if f.parse(args) != nil {
		return ExitFailed
	}
	return e.eachContainer("kill", f.Args(), func(name string) error { return e.client.ContainerKill(e.ctx, name, sig) })
}

func pauseVerb(v string) func(*env, []string) int {
	return func(e *env, args []string) int {
		return e.eachContainer(v, args, func(name string) error {
			if v == "pause" {
				return e.client.ContainerPause(e.ctx, name)
			}
			return e.client.ContainerUnpause(e.ctx, name)
		})
	}
}

func rmVerb(e *env, args []string) int {
	f := newFlags("rm", e.stderr)
	var force, volumes, link bool
	f.boolVar(&force, "f", "force")
	f.boolVar(&volumes, "v", "volumes")
	f.boolVar(&link, "l", "link")
	if f.parse(args) != nil {
		return ExitFailed
	}
	return e.eachContainer("rm", f.Args(), func(name string) error {
		return e.client.ContainerRemove(e.ctx, name, container.RemoveOptions{Force: force, RemoveVolumes: volumes, RemoveLinks: link})
	})
}

func renameVerb(e *env, args []string) int {
	if len(args) != 2 {
		return e.usageError("rename", "\"rename\" requires exactly 2 arguments.")
	}
	if err := e.needClient(); err != nil {
		return e.fail(1, err)
	}
	if err := e.client.ContainerRename(e.ctx, args[0], args[1]); err != nil {
		return e.fail(1, err)
	}
	return 0
}

func waitVerb(e *env, args []string) int {
	f := newFlags("wait", e.stderr)
	var condition string
	f.stringVar(&condition, "", "condition")
	if code, ok := e.prepare(f, args, "wait", atLeast(1)); !ok {
		return code
	}
	status := 0
	for _, name := range f.Args() {
		waitCh, errCh := e.client.ContainerWait(e.ctx, name, container.WaitCondition(condition))
		select {
		case w := <-waitCh:
			fmt.Fprintln(e.stdout, w.StatusCode)
		case err := <-errCh:
			status = e.fail(1, err)
		}
	}
	return status
}

func logsVerb(e *env, args []string) int {
	f := newFlags("logs", e.stderr)
	var follow, timestamps, details bool
	var tail, sinceFlag, until string
	f.boolVar(&follow, "f", "follow")
	f.boolVar(&timestamps, "t", "timestamps")
	f.boolVar(&details, "details")
	f.stringVar(&tail, "all", "n", "tail")
	f.stringVar(&sinceFlag, "", "since")
	f.stringVar(&until, "", "until")
	if code, ok := e.prepare(f, args, "logs", exactly(1)); !ok {
		return code
	}
	c, err := e.client.ContainerInspect(e.ctx, f.Arg(0))
	if err != nil {
		return e.fail(1, err)
	}
	rc, err := e.client.ContainerLogs(e.ctx, c.ID, container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: follow,
		Timestamps: timestamps, Details: details, Tail: tail, Since: sinceFlag, Until: until})
	if err != nil {
		return e.fail(1, err)
	}
	defer rc.Close()
	if c.Config.Tty {
		_, err = io.Copy(e.stdout, rc)
	} else {
		err = api.Demux(rc, e.stdout, e.stderr)
	}
	if err != nil {
		return e.fail(1, err)
	}
	return 0
}

// psVerb is docker ps.
func psVerb(e *env, args []string) int {
	f := newFlags("ps", e.stderr)
	var all, quiet, latest, noTrunc, size bool
	var last int
	var format string
	var filterFlags listFlag
	f.boolVar(&all, "a", "all")
	f.boolVar(&quiet, "q", "quiet")
	f.boolVar(&latest, "l", "latest")
	f.boolVar(&noTrunc, "no-trunc")
	f.boolVar(&size, "s", "size")
	f.intVar(&last, -1, "n", "last")
	f.stringVar(&format, "", "format")
	f.listVar(&filterFlags, "f", "filter")
	if code, ok := e.prepare(f, args, "", anyCount); !ok {
		return code
	}
	fl, err := parseFilters(filterFlags)
	if err != nil {
		return e.fail(1, err)
	}
	if latest {
		last = 1
	}
	o := container.ListOptions{All: all, Size: size, Filters: fl}
	if last > 0 {
		o.Limit = last
	}
	if strings.Contains(format, ".Size") {
		o.Size = true
	}
	list, err := e.client.ContainerList(e.ctx, o)
	if err != nil {
		return e.fail(1, err)
	}
	def := "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}"
	if size {
		def += "\t{{.Size}}"
	}
	if quiet {
		def, format = "{{.ID}}", ""
	}
	rf, err := parseFormat(format, def)
	if err != nil {
		return e.fail(1, err)
	}
	rows := make([]any, len(list))
	for i, c := range list {
		rows[i] = containerRow{c: c, trunc: !noTrunc}
	}
	if err := rf.write(e.stdout, containerHeader{}, rows); err != nil {
		return e.fail(1, err)
	}
	return 0
}

// parseFilters reads --filter KEY=VALUE flags.
func parseFilters(fl []string) (filters.Args, error) {
	args := filters.NewArgs()
	for _, f := range fl {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return args, fmt.Errorf("bad format of filter (expected name=value): %s", f)
		}
		args.Add(strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v))
	}
	return args, nil
}

// inspectVerb is docker inspect: containers, else images, or only the
// kind --type names.
func inspectVerb(kind string) func(*env, []string) int {
	return func(e *env, args []string) int {
		f := newFlags("inspect", e.stderr)
		var format string
		var size bool
		f.stringVar(&format, "", "f", "format")
		f.boolVar(&size, "s", "size")
		if kind == "" {
			f.stringVar(&kind, "", "type")
		}
		if f.parse(args) != nil {
			return ExitFailed
		}
		if f.NArg() == 0 {
			return e.usageError("inspect", "\"inspect\" requires at least 1 argument.")
		}
		if kind != "" && kind != "container" && kind != "image" && kind != "volume" && kind != "network" {
			return e.fail(1, fmt.Errorf("%q is not a valid value for --type", kind))
		}
		if err := e.needClient(); err != nil {
			return e.fail(1, err)
		}
		var tmpl *template.Template
		if format != "" {
			t, err := inspectTemplate(format)
			if err != nil {
				return e.fail(1, err)
			}
			tmpl = t
		}
		var raws []inspected
		status := 0
		for _, name := range f.Args() {
			obj, err := e.inspectObject(kind, name, size)
			if err != nil {
				status = e.fail(1, err)
				continue
			}
			raws = append(raws, obj)
		}
		if err := printInspect(e.stdout, raws, tmpl); err != nil {
			return e.fail(1, err)
		}
		return status
	}
}

// inspectObject is the engine's description of the object name, of kind
// or of the first kind that has it.
func (e *env) inspectObject(kind, name string, size bool) (inspected, error) {
	var lastErr error
	for _, k := range []string{"container", "image", "volume", "network"} {
		if kind != "" && k != kind {
			continue
		}
		var obj inspected
		var err error
		switch k {
		case "container":
			obj.typed, obj.raw, err = e.client.ContainerInspectWithRaw(e.ctx, name, size)
		case "image":
			obj.typed, obj.raw, err = e.client.ImageInspectWithRaw(e.ctx, name)
		case "volume":
			obj.typed, obj.raw, err = e.client.VolumeInspectWithRaw(e.ctx, name)
		case "network":
			obj.typed, obj.raw, err = e.client.NetworkInspectWithRaw(e.ctx, name, network.InspectOptions{})
		}
		if err == nil {
			return obj, nil
		}
		if !isNotFound(err) {
			return inspected{}, err
		}
		lastErr = err
	}
	if kind == "" {
		return inspected{}, fmt.Errorf("Error: No such object: %s", name)
	}
	return inspected{}, lastErr
}

// attachVerb is docker attach: the console to a running container's
// streams; it returns the container's exit status, or 0 after detaching.
func attachVerb(e *env, args []string) int {
	f := newFlags("attach", e.stderr)
	var noStdin bool
	sigProxy := true
	var detachKeys string
	f.boolVar(&noStdin, "no-stdin")
	f.boolVar(&sigProxy, "sig-proxy")
	f.stringVar(&detachKeys, "", "detach-keys")
	if code, ok := e.prepare(f, args, "attach", exactly(1)); !ok {
		return code
	}
	keys, err := api.DetachKeys(detachKeys)
	if err != nil {
		return e.fail(1, err)
	}
	c, err := e.client.ContainerInspect(e.ctx, f.Arg(0))
	if err != nil {
		return e.fail(1, err)
	}
	if !c.State.Running {
		return e.fail(1, errors.New("You cannot attach to a stopped container, start it first"))
	}
	if c.State.Paused {
		return e.fail(1, errors.New("You cannot attach to a paused container, unpause it first"))
	}
	s, err := e.attachTo(c.ID, c.Config.Tty, c.Config.OpenStdin && !noStdin, keys, detachKeys)
	if err != nil {
		return e.fail(1, err)
	}
	// As Docker's CLI: the wait is registered before the stream, so the
	// exit status is the run's even when the stream ends first.
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	waitC, errC := e.client.ContainerWait(ctx, c.ID, container.WaitConditionNotRunning)
	if c.Config.Tty {
		e.resizeTerminal(c.ID, false)
	} else if sigProxy {
		defer e.proxySignals(c.ID)()
	}
	if s.stream(e) {
		return 0
	}
	select {
	case r := <-waitC:
		return int(r.StatusCode)
	case err := <-errC:
		return e.fail(1, err)
	}
}

// execVerb is docker exec: a command in a running container, attached
// (-i for input, -t for a terminal) or detached (-d); it returns the
// command's exit status.
func execVerb(e *env, args []string) int {
	f := newFlags("exec", e.stderr)
	f.interspersed = false
	var detach, interactive, tty, privileged bool
	var user, workdir, detachKeys string
	var envs, envFiles listFlag
	f.boolVar(&detach, "d", "detach")
	f.boolVar(&interactive, "i", "interactive")
	f.boolVar(&tty, "t", "tty")
	f.boolVar(&privileged, "privileged")
	f.stringVar(&user, "", "u", "user")
	f.stringVar(&workdir, "", "w", "workdir")
	f.stringVar(&detachKeys, "", "detach-keys")
	f.listVar(&envs, "e", "env")
	f.listVar(&envFiles, "env-file")
	if f.parse(args) != nil {
		return ExitFailed
	}
	if f.NArg() < 2 {
		return e.usageError("exec", "\"exec\" requires at least 2 arguments.")
	}
	if err := e.needClient(); err != nil {
		return e.fail(ExitFailed, err)
	}
	keys, err := api.DetachKeys(detachKeys)
	if err != nil {
		return e.fail(ExitFailed, err)
	}
	env, err := readEnv(envFiles, envs)
	if err != nil {
		return e.fail(ExitFailed, err)
	}
	o := container.ExecOptions{AttachStdin: interactive && !detach, AttachStdout: !detach, AttachStderr: !detach,
		Tty: tty, User: user, WorkingDir: workdir, Env: env, Privileged: privileged, DetachKeys: detachKeys, Cmd: f.Args()[1:]}
	created, err := e.client.ContainerExecCreate(e.ctx, f.Arg(0), o)
	if err != nil {
		return e.fail(ExitFailed, err)
	}
	if detach {
		if err := e.client.ContainerExecStart(e.ctx, created.ID, container.ExecStartOptions{Detach: true, Tty: tty}); err != nil {
			return e.fail(ExitFailed, err)
		}
		return 0
	}
	resp, err := e.client.ContainerExecAttach(e.ctx, created.ID, container.ExecAttachOptions{Tty: tty})
	if err != nil {
		return e.fail(ExitFailed, err)
	}
	if tty {
		e.resizeTerminal(created.ID, true)
	}
	if (session{resp: resp, tty: tty, stdin: interactive, keys: keys}).stream(e) {
		return 0
	}
	x, err := e.client.ContainerExecInspect(e.ctx, created.ID)
	if err != nil {
		return e.fail(ExitFailed, err)
	}
	return x.ExitCode
}

// updateVerb is docker update: resources and the restart policy.
func updateVerb(e *env, args []string) int {
	f := newFlags("update", e.stderr)
	var memory, memorySwap, restart string
	var cpus float64
	var cpuShares int
	var pidsLimit int64
	f.stringVar(&memory, "", "m", "memory")
	f.stringVar(&memorySwap, "", "memory-swap")
	f.stringVar(&restart, "", "restart")
	f.Float64Var(&cpus, "cpus", 0, "")
	f.intVar(&cpuShares, 0, "c", "cpu-shares")
	f.Int64Var(&pidsLimit, "pids-limit", 0, "")
	if f.parse(args) != nil {
		return ExitFailed
	}
	var u container.UpdateConfig
	var err error
	if memory != "" {
		if u.Memory, err = units.RAMInBytes(memory); err != nil {
			return e.fail(1, fmt.Errorf("invalid argument %q for \"-m, --memory\" flag: %w", memory, err))
		}
	}
	if memorySwap == "-1" {
		u.MemorySwap = -1
	} else if memorySwap != "" {
		if u.MemorySwap, err = units.RAMInBytes(memorySwap); err != nil {
			return e.fail(1, fmt.Errorf("invalid argument %q for \"--memory-swap\" flag: %w", memorySwap, err))
		}
	}
	u.NanoCPUs, u.CPUShares = int64(cpus*1e9), int64(cpuShares)
	f.Visit(func(fl *flag.Flag) {
		if fl.Name == "pids-limit" {
			u.PidsLimit = &pidsLimit
		}
	})
	if restart != "" {
		if u.RestartPolicy, err = parseRestart(restart); err != nil {
			return e.fail(1, err)
		}
	}
	if u.Memory == 0 && u.MemorySwap == 0 && u.NanoCPUs == 0 && u.CPUShares == 0 && u.PidsLimit == nil && restart == "" {
		return e.fail(1, errors.New("you must provide one or more flags when using this command"))
	}
	return e.eachContainer("update", f.Args(), func(name string) error {
		resp, err := e.client.ContainerUpdate(e.ctx, name, u)
		for _, w := range resp.Warnings {
			fmt.Fprintln(e.stderr, w)
		}
		return err
	})
}

// topVerb is docker top: the container's processes, ps's options after
// its name.
func topVerb(e *env, args []string) int {
	if len(args) == 0 {
		return e.usageError("top", "\"top\" requires at least 1 argument.")
	}
	if err := e.needClient(); err != nil {
		return e.fail(1, err)
	}
	top, err := e.client.ContainerTop(e.ctx, args[0], args[1:])
	if err != nil {
		return e.fail(1, err)
	}
	tw := newTable(e.stdout)
	fmt.Fprintln(tw, strings.Join(top.Titles, "\t"))
	for _, p := range top.Processes {
		fmt.Fprintln(tw, strings.Join(p, "\t"))
	}
	tw.Flush()
	return 0
}

// portVerb is docker port: the container's published ports, or where one
// port is published.
func portVerb(e *env, args []string) int {
	if len(args) < 1 || len(args) > 2 {
		return e.usageError("port", "\"port\" requires at least 1 and at most 2 arguments.")
	}
	if err := e.needClient(); err != nil {
		return e.fail(1, err)
	}
	c, err := e.client.ContainerInspect(e.ctx, args[0])
	if err != nil {
		return e.fail(1, err)
	}
	ports := c.NetworkSettings.Ports
	if len(args) == 2 {
		port, proto, _ := strings.Cut(args[1], "/")
		if proto == "" {
			proto = "tcp"
		}
		np, err := nat.NewPort(proto, port)
		if err != nil {
			return e.fail(1, err)
		}
		bindings, ok := ports[np]
		if !ok || len(bindings) == 0 {
			return e.fail(1, fmt.Errorf("Error: No public port '%s' published for %s", np, args[0]))
		}
		for _, b := range bindings {
			fmt.Fprintln(e.stdout, hostPort(b))
		}
		return 0
	}
	var keys []nat.Port
	for p := range ports {
		keys = append(keys, p)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Int() != keys[j].Int() {
			return keys[i].Int() < keys[j].Int()
		}
		return keys[i].Proto() < keys[j].Proto()
	})
	for _, p := range keys {
		for _, b := range ports[p] {
			fmt.Fprintf(e.stdout, "%s -> %s\n", p, hostPort(b))
		}
	}
	return 0
}

func hostPort(b nat.PortBinding) string {
	ip := b.HostIP
	if strings.Contains(ip, ":") {
		ip = "[" + ip + "]"
	}
	return ip + ":" + b.HostPort
}

// diffVerb is docker diff: A added, C changed, D deleted.
func diffVerb(e *env, args []string) int {
	if len(args) != 1 {
		return e.usageError("diff", "\"diff\" requires exactly 1 argument.")
	}
	if err := e.needClient(); err != nil {
		return e.fail(1, err)
	}
	changes, err := e.client.ContainerDiff(e.ctx, args[0])
	if err != nil {
		return e.fail(1, err)
	}
	for _, c := range changes {
		kind := map[container.ChangeType]string{container.ChangeModify: "C", container.ChangeAdd: "A", container.ChangeDelete: "D"}[c.Kind]
		fmt.Fprintf(e.stdout, "%s %s\n", kind, c.Path)
	}
	return 0
}

// commitVerb is docker commit: an image of a container's changes.
func commitVerb(e *env, args []string) int {
	f := newFlags("commit", e.stderr)
	var message, author string
	var changes listFlag
	pause := true
	f.stringVar(&message, "", "m", "message")
	f.stringVar(&author, "", "a", "author")
	f.listVar(&changes, "c", "change")
	f.boolVar(&pause, "p", "pause")
	if code, ok := e.prepare(f, args, "commit", between(1, 2)); !ok {
		return code
	}
	ref := ""
	if f.NArg() == 2 {
		ref = f.Arg(1)
	}
	resp, err := e.client.ContainerCommit(e.ctx, f.Arg(0), container.CommitOptions{Reference: ref, Comment: message,
		Author: author, Changes: changes, Pause: pause})
	if err != nil {
		return e.fail(1, err)
	}
	fmt.Fprintln(e.stdout, resp.ID)
	return 0
}

// exportVerb is docker export: a container's root filesystem as a flat
// tar, the input berth import was made for.
func exportVerb(e *env, args []string) int {
	f := newFlags("export", e.stderr)
	var output string
	f.stringVar(&output, "", "o", "output")
	if code, ok := e.prepare(f, args, "export", exactly(1)); !ok {
		return code
	}
	rc, err := e.client.ContainerExport(e.ctx, f.Arg(0))
	if err != nil {
		return e.fail(1, err)
	}
	defer rc.Close()
	return e.writeOut(rc, output)
}

// writeOut copies r to the file output, or to stdout when it is not a
// terminal.
func (e *env) writeOut(r io.Reader, output string) int {
	w := e.stdout
	if output != "" {
		file, err := os.Create(output)
		if err != nil {
			return e.fail(1, err)
		}
		defer file.Close()
		w = file
	} else if isTerminal(e.stdout) {
		return e.fail(1, errors.New("cowardly refusing to save to a terminal. Use the -o flag or redirect"))
	}
	if _, err := io.Copy(w, r); err != nil {
		return e.fail(1, err)
	}
	return 0
}

// cpVerb is docker cp, both ways: CONTAINER:SRC DEST, or SRC
// CONTAINER:DEST ("-" for a tar on stdin or stdout).
func cpVerb(e *env, args []string) int {
	f := newFlags("cp", e.stderr)
	var archive, follow bool
	f.boolVar(&archive, "a", "archive")
	f.boolVar(&follow, "L", "follow-link")
	if code, ok := e.prepare(f, args, "cp", exactly(2)); !ok {
		return code
	}
	src, dst := f.Arg(0), f.Arg(1)
	srcCtr, srcPath := splitCpArg(src)
	dstCtr, dstPath := splitCpArg(dst)
	var err error
	switch {
	case srcCtr != "" && dstCtr != "":
		err = errors.New("copying between containers is not supported")
	case srcCtr != "":
		err = e.copyFrom(srcCtr, srcPath, dstPath, follow)
	case dstCtr != "":
		err = e.copyTo(srcPath, dstCtr, dstPath, archive, follow)
	default:
		err = errors.New("must specify at least one container source")
	}
	if err != nil {
		return e.fail(1, err)
	}
	return 0
}

// splitCpArg splits CONTAINER:PATH; a path with a slash before any colon
// is local.
func splitCpArg(arg string) (ctr, p string) {
	if filepath.IsAbs(arg) || strings.HasPrefix(arg, ".") {
		return "", arg
	}
	ctr, p, ok := strings.Cut(arg, ":")
	if !ok || strings.Contains(ctr, "/") {
		return "", arg
	}
	return ctr, p
}

// copyFrom is docker cp CONTAINER:SRC DEST: the engine's tar of SRC,
// written to stdout or unpacked as DEST, as Docker's CLI does: a directory
// into an existing directory, else renamed to DEST.
func (e *env) copyFrom(ctr, src, dst string, follow bool) error {
	if follow {
		st, err := e.client.ContainerStatPath(e.ctx, ctr, src)
		if err != nil {
			return err
		}
		if st.LinkTarget != "" {
			src = st.LinkTarget
		}
	}
	rc, st, err := e.client.CopyFromContainer(e.ctx, ctr, src)
	if err != nil {
		return err
	}
	defer rc.Close()
	if dst == "-" {
		_, err := io.Copy(e.stdout, rc)
		return err
	}
	// Where the tar's top entry (the source's name) goes.
	target := dst
	into := false
	if fi, err := os.Stat(dst); err == nil && fi.IsDir() {
		into = !strings.HasSuffix(src, "/.")
	} else if err == nil && st.Mode.IsDir() {
		return fmt.Errorf("cannot copy a directory to file %s", dst)
	} else if err != nil && strings.HasSuffix(dst, "/") {
		return fmt.Errorf("destination directory %s does not exist", dst)
	}
	if into {
		target = filepath.Join(dst, st.Name)
		if st.Name == "." || st.Name == "/" {
			target = dst
		}
	}
	return untarRenamed(rc, st.Name, target)
}

// untarRenamed unpacks a tar whose entries sit under name to target,
// refusing entries that leave it.
func untarRenamed(r io.Reader, name, target string) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(filepath.Clean("/"+hdr.Name), "/")
		if name != "." && name != "/" {
			if rel != name && !strings.HasPrefix(rel, name+"/") {
				continue
			}
			rel = strings.TrimPrefix(strings.TrimPrefix(rel, name), "/")
		}
		p := filepath.Join(target, rel)
		if p != target && !strings.HasPrefix(p, filepath.Clean(target)+string(filepath.Separator)) {
			return fmt.Errorf("archive entry %q leaves %s", hdr.Name, target)
		}
		mode := os.FileMode(hdr.Mode).Perm()
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, mode|0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			os.MkdirAll(filepath.Dir(p), 0o755)
			out, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			out.Close()
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.Remove(p)
			if err := os.Symlink(hdr.Linkname, p); err != nil {
				return err
			}
		case tar.TypeLink:
			old := filepath.Join(target, strings.TrimPrefix(strings.TrimPrefix(filepath.Clean("/"+hdr.Linkname), "/"+name), "/"))
			os.Remove(p)
			if err := os.Link(old, p); err != nil {
				return err
			}
			continue
		default:
			continue
		}
		os.Lchown(p, hdr.Uid, hdr.Gid)
		if hdr.Typeflag != tar.TypeSymlink {
			os.Chtimes(p, hdr.ModTime, hdr.ModTime)
		}
	}
}

// copyTo is docker cp SRC CONTAINER:DEST: SRC sent as a tar named for
// where it goes (DEST itself when DEST is no directory), extracted in
// DEST's directory.
func (e *env) copyTo(src, ctr, dst string, archive, follow bool) error {
	if src == "-" {
		return e.client.CopyToContainer(e.ctx, ctr, dst, e.stdin, container.CopyToContainerOptions{CopyUIDGID: archive})
	}
	if follow {
		if resolved, err := filepath.EvalSymlinks(src); err == nil {
			src = resolved
		}
	}
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	dir, name := dst, filepath.Base(src)
	st, err := e.client.ContainerStatPath(e.ctx, ctr, dst)
	switch {
	case err == nil && st.Mode.IsDir():
		if strings.HasSuffix(src, "/.") {
			name = "."
		}
	case err == nil:
		if fi.IsDir() {
			return fmt.Errorf("cannot copy a directory to a file %s", dst)
		}
		dir, name = filepath.Dir(dst), filepath.Base(dst)
	case isNotFound(err):
		if strings.HasSuffix(dst, "/") {
			return fmt.Errorf("destination directory %s does not exist", dst)
		}
		dir, name = filepath.Dir(dst), filepath.Base(dst)
	default:
		return err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarPath(pw, src, name)) }()
	err = e.client.CopyToContainer(e.ctx, ctr, dir, pr, container.CopyToContainerOptions{CopyUIDGID: archive})
	pr.CloseWithError(err)
	return err
}

// tarPath writes the file or tree at src as a tar, its top entry named
// name ("." for a directory's contents).
func tarPath(w io.Writer, src, name string) error {
	tw := tar.NewWriter(w)
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		entry := filepath.ToSlash(filepath.Join(name, rel))
		link := ""
		if fi.Mode()&os.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		hdr.Name = entry
		if fi.IsDir() {
			hdr.Name += "/"
		}
		hdr.Uname, hdr.Gname = "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if fi.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// containerPruneVerb is docker container prune.
func containerPruneVerb(e *env, args []string) int {
	f := newFlags("container-prune", e.stderr)
	var force bool
	var filterFlags listFlag
	f.boolVar(&force, "f", "force")
	f.listVar(&filterFlags, "filter")
	if f.parse(args) != nil {
		return ExitFailed
	}
	if !e.confirm(force, "WARNING! This will remove all stopped containers.") {
		return 0
	}
	fl, err := parseFilters(filterFlags)
	if err != nil {
		return e.fail(1, err)
	}
	rep, err := e.client.ContainersPrune(e.ctx, fl)
	if err != nil {
		return e.fail(1, err)
	}
	e.printPruned("Deleted Containers:", rep.ContainersDeleted)
	fmt.Fprintf(e.stdout, "Total reclaimed space: %s\n", units.HumanSize(float64(rep.SpaceReclaimed)))
	return 0
}
