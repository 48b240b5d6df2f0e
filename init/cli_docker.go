package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"text/template"
	"time"

	"berth/config"
	"berth/engine"
	"berth/runtime"
)

// listFlag is a repeatable string flag (-p, -v, -e, ...).
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// flags is a verb's flag set: long and short names, and docker's combined
// short booleans (-it, -dP).
type flags struct {
	*flag.FlagSet
	bools map[string]bool
}

func newFlags(verb string, stderr io.Writer) *flags {
	fs := flag.NewFlagSet("berth "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &flags{FlagSet: fs, bools: map[string]bool{}}
}

func (f *flags) boolVar(p *bool, names ...string) {
	for _, n := range names {
		f.BoolVar(p, n, false, "")
		if len(n) == 1 {
			f.bools[n] = true
		}
	}
}

func (f *flags) stringVar(p *string, value string, names ...string) {
	for _, n := range names {
		f.StringVar(p, n, value, "")
	}
}

func (f *flags) listVar(p *listFlag, names ...string) {
	for _, n := range names {
		f.Var(p, n, "")
	}
}

// parse expands combined short booleans, then parses.
func (f *flags) parse(args []string) error {
	var out []string
	for i, a := range args {
		if a == "--" || !strings.HasPrefix(a, "-") {
			out = append(out, args[i:]...)
			break
		}
		if len(a) > 2 && a[1] != '-' && !strings.Contains(a, "=") {
			all := true
			for _, c := range a[1:] {
				all = all && f.bools[string(c)]
			}
			if all {
				for _, c := range a[1:] {
					out = append(out, "-"+string(c))
				}
				continue
			}
		}
		out = append(out, a)
	}
	return f.Parse(out)
}

func client() *engine.Client { return engine.NewClient(engine.SocketPath) }

// fail prints err as berth's error and returns status.
func fail(stderr io.Writer, status int, err error) int {
	fmt.Fprintf(stderr, "berth: %v\n", err)
	return status
}

// createFlags are the flags of run and create.
type createFlags struct {
	detach, rm, publishAll, readOnly, interactive, tty, privileged      bool
	name, workdir, user, hostname, restart, memory, entrypoint, network string
	logDriver                                                           string
	cpus                                                                float64
	pidsLimit                                                           int64
	publish, volumes, env, capAdd, capDrop, links, securityOpt, devices listFlag
	logOpts, labels                                                     listFlag
}

func (c *createFlags) register(f *flags, run bool) {
	if run {
		f.boolVar(&c.detach, "d", "detach")
		f.boolVar(&c.rm, "rm")
	}
	f.boolVar(&c.publishAll, "P", "publish-all")
	f.boolVar(&c.readOnly, "read-only")
	f.boolVar(&c.interactive, "i", "interactive")
	f.boolVar(&c.tty, "t", "tty")
	f.stringVar(&c.name, "", "name")
	f.stringVar(&c.workdir, "", "w", "workdir")
	f.stringVar(&c.user, "", "u", "user")
	f.stringVar(&c.hostname, "", "h", "hostname")
	f.stringVar(&c.restart, "no", "restart")
	f.stringVar(&c.memory, "", "m", "memory")
	f.stringVar(&c.entrypoint, "", "entrypoint")
	f.Float64Var(&c.cpus, "cpus", 0, "")
	f.Int64Var(&c.pidsLimit, "pids-limit", 0, "")
	f.listVar(&c.publish, "p", "publish")
	f.listVar(&c.volumes, "v", "volume")
	f.listVar(&c.env, "e", "env")
	f.listVar(&c.capAdd, "cap-add")
	f.listVar(&c.capDrop, "cap-drop")
	f.listVar(&c.links, "link")
	f.boolVar(&c.privileged, "privileged")
	f.listVar(&c.securityOpt, "security-opt")
	f.listVar(&c.devices, "device")
	f.stringVar(&c.network, "", "network", "net")
	f.stringVar(&c.logDriver, "", "log-driver")
	f.listVar(&c.logOpts, "log-opt")
	f.listVar(&c.labels, "l", "label")
}

// request turns the flags and the image and command into the API's create
// body.
func (c *createFlags) request(f *flags) (engine.CreateRequest, error) {
	args := f.Args()
	if len(args) == 0 {
		return engine.CreateRequest{}, errors.New("an image name is required: berth run [OPTIONS] IMAGE [COMMAND] [ARG...]")
	}
	req := engine.CreateRequest{}
	req.Image, req.Cmd = args[0], args[1:]
	req.WorkingDir, req.User, req.Hostname, req.OpenStdin = c.workdir, c.user, c.hostname, c.interactive
	// As Docker's CLI: the stdin of a container attached with -i ends
	// when the CLI's does.
	req.Tty, req.StdinOnce = c.tty, c.interactive && !c.detach
	for _, e := range c.env {
		if !strings.Contains(e, "=") {
			e += "=" + os.Getenv(e) // docker run -e NAME passes the caller's value
		}
		req.Env = append(req.Env, e)
	}
	f.Visit(func(fl *flag.Flag) {
		if fl.Name == "entrypoint" {
			ep := []string{}
			if c.entrypoint != "" {
				ep = []string{c.entrypoint}
			}
			req.Entrypoint = &ep
		}
	})
	hc := &req.HostConfig
	hc.PublishAllPorts, hc.ReadonlyRootfs, hc.AutoRemove = c.publishAll, c.readOnly, c.rm
	hc.CapAdd, hc.CapDrop, hc.Links = c.capAdd, c.capDrop, c.links
	hc.PidsLimit, hc.NanoCpus = c.pidsLimit, int64(c.cpus*1e9)
	hc.Privileged, hc.NetworkMode = c.privileged, c.network
	for _, o := range c.securityOpt {
		o, err := securityOpt(o)
		if err != nil {
			return req, err
		}
		hc.SecurityOpt = append(hc.SecurityOpt, o)
	}
	for _, d := range c.devices {
		m, err := engine.ParseDevice(d)
		if err != nil {
			return req, err
		}
		hc.Devices = append(hc.Devices, m)
	}
	hc.LogConfig.Type = c.logDriver
	for _, o := range c.logOpts {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			return req, fmt.Errorf("--log-opt %q: use KEY=VALUE", o)
		}
		if hc.LogConfig.Config == nil {
			hc.LogConfig.Config = map[string]string{}
		}
		hc.LogConfig.Config[k] = v
	}
	for _, l := range c.labels {
		k, v, _ := strings.Cut(l, "=")
		if req.Labels == nil {
			req.Labels = map[string]string{}
		}
		req.Labels[k] = v
	}
	rp, err := config.ParseRestart(c.restart)
	if err != nil {
		return req, err
	}
	hc.RestartPolicy = engine.RestartPolicy{Name: rp.Name, MaximumRetryCount: rp.MaximumRetryCount}
	if c.memory != "" {
		m, err := config.ParseSize(c.memory)
		if err != nil {
			return req, fmt.Errorf("--memory: %w", err)
		}
		hc.Memory = int64(m)
	}
	hc.PortBindings = map[string][]engine.PortBinding{}
	for _, p := range c.publish {
		m, err := config.ParsePort(p)
		if err != nil {
			return req, err
		}
		key := fmt.Sprintf("%d/%s", m.ContainerPort, m.Proto)
		hp := ""
		if m.HostPort != 0 {
			hp = strconv.Itoa(int(m.HostPort))
		}
		hc.PortBindings[key] = append(hc.PortBindings[key], engine.PortBinding{HostIp: m.HostIP, HostPort: hp})
	}
	for _, v := range c.volumes {
		if strings.HasPrefix(v, "/") && !strings.Contains(v, ":") {
			// -v /path: an anonymous volume of the container's own.
			if req.Volumes == nil {
				req.Volumes = map[string]struct{}{}
			}
			req.Volumes[v] = struct{}{}
			continue
		}
		if _, err := config.ParseVolume(v); err != nil {
			return req, err
		}
		hc.Binds = append(hc.Binds, v)
	}
	return req, nil
}

// securityOpt is a --security-opt as the engine takes it: as Docker's CLI
// does, seccomp=FILE sends the profile's JSON, not its name.
func securityOpt(o string) (string, error) {
	k, v, ok := strings.Cut(o, "=")
	if !ok {
		k, v, ok = strings.Cut(o, ":")
	}
	if !ok || k != "seccomp" || v == "unconfined" || v == "builtin" {
		return o, nil
	}
	b, err := os.ReadFile(v)
	if err != nil {
		return "", fmt.Errorf("--security-opt seccomp: %w", err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, b); err != nil {
		return "", fmt.Errorf("--security-opt seccomp: %s is not JSON: %w", v, err)
	}
	return "seccomp=" + compact.String(), nil
}

func create(req engine.CreateRequest, name string) (string, error) {
	var out struct {
		Id       string
		Warnings []string
	}
	q := url.Values{}
	if name != "" {
		q.Set("name", name)
	}
	_, err := client().Do("POST", "/containers/create", q, req, &out)
	var apiErr *engine.APIError
	if errors.As(err, &apiErr) && apiErr.Status == 404 && strings.Contains(apiErr.Message, "image") {
		return "", fmt.Errorf("unable to find image '%s' locally: berth pull it, or load it with berth load -i FILE (%v)", req.Image, err)
	}
	for _, w := range out.Warnings {
		fmt.Fprintf(os.Stderr, "WARNING: %s\n", w)
	}
	return out.Id, err
}

// createFromFlags parses the flags of run or create and creates the
// container; status is non-zero when that failed.
func createFromFlags(verb string, args []string, stderr io.Writer) (id string, c createFlags, status int) {
	f := newFlags(verb, stderr)
	c.register(f, verb == "run")
	if err := f.parse(args); err != nil {
		return "", c, runtime.ExitSetupFailed
	}
	req, err := c.request(f)
	if err != nil {
		return "", c, fail(stderr, runtime.ExitSetupFailed, err)
	}
	// In the foreground, --rm is carried out here after wait, as Docker's
	// CLI did, so that the exit status is read before the container goes.
	req.HostConfig.AutoRemove = c.rm && c.detach
	id, err = create(req, c.name)
	if err != nil {
		return "", c, fail(stderr, runtime.ExitSetupFailed, err)
	}
	return id, c, 0
}

func runVerb(args []string, stdout, stderr io.Writer) int {
	id, c, status := createFromFlags("run", args, stderr)
	if status != 0 {
		return status
	}
	removeIfRm := func() {
		if c.rm {
			if _, err := client().Do("DELETE", "/containers/"+id, url.Values{"force": {"true"}}, nil, nil); err != nil {
				fail(stderr, 1, err)
			}
		}
	}
	var s session
	if !c.detach {
		// Attached before it starts, nothing of its output is missed.
		var err error
		if s, err = attachTo(id, c.tty, c.interactive); err != nil {
			removeIfRm()
			return fail(stderr, runtime.ExitSetupFailed, err)
		}
	}
	if _, err := client().Do("POST", "/containers/"+id+"/start", nil, nil, nil); err != nil {
		removeIfRm()
		return fail(stderr, runtime.ExitSetupFailed, err)
	}
	if c.detach {
		fmt.Fprintln(stdout, id)
		return 0
	}
	if c.tty {
		resizeTo("/containers/" + id)
	} else {
		defer proxySignals(id)()
	}
	if s.stream(stdout, stderr) {
		return 0 // detached: the container runs on, --rm or not
	}
	status = waitExit(id, stderr)
	removeIfRm()
	return status
}

func createVerb(args []string, stdout, stderr io.Writer) int {
	id, _, status := createFromFlags("create", args, stderr)
	if status == 0 {
		fmt.Fprintln(stdout, id)
	}
	return status
}

func startVerb(args []string, stdout, stderr io.Writer) int {
	f := newFlags("start", stderr)
	var attachOut, interactive bool
	f.boolVar(&attachOut, "a", "attach")
	f.boolVar(&interactive, "i", "interactive")
	if f.parse(args) != nil || f.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: berth start [-a] [-i] CONTAINER...")
		return 2
	}
	if (attachOut || interactive) && f.NArg() > 1 {
		fmt.Fprintln(stderr, "berth: you cannot start and attach to more than one container at once")
		return 2
	}
	status := 0
	for _, name := range f.Args() {
		var s session
		if attachOut || interactive {
			var c engine.Container
			if _, err := client().Do("GET", "/containers/"+name+"/json", nil, nil, &c); err != nil {
				return fail(stderr, 1, err)
			}
			var err error
			if s, err = attachTo(c.Id, c.Config.Tty, interactive && c.Config.OpenStdin); err != nil {
				return fail(stderr, 1, err)
			}
			name = c.Id
		}
		if _, err := client().Do("POST", "/containers/"+name+"/start", nil, nil, nil); err != nil {
			if s.conn != nil {
				s.conn.Close()
			}
			status = fail(stderr, 1, err)
			continue
		}
		if s.conn != nil {
			if s.tty {
				resizeTo("/containers/" + name)
			}
			if s.stream(stdout, stderr) {
				return 0
			}
			return waitExit(name, stderr)
		}
		fmt.Fprintln(stdout, name)
	}
	return status
}

// eachContainer runs a POST on each named container, printing its name as
// docker does.
func eachContainer(verb, action string, q url.Values, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "usage: berth %s CONTAINER...\n", verb)
		return 2
	}
	status := 0
	for _, name := range args {
		if _, err := client().Do("POST", "/containers/"+name+"/"+action, q, nil, nil); err != nil {
			status = fail(stderr, 1, err)
			continue
		}
		fmt.Fprintln(stdout, name)
	}
	return status
}

func stopVerb(verb string) func([]string, io.Writer, io.Writer) int {
	return func(args []string, stdout, stderr io.Writer) int {
		f := newFlags(verb, stderr)
		t := f.Int("t", 10, "seconds to wait before killing")
		f.IntVar(t, "time", 10, "")
		if f.parse(args) != nil {
			return 2
		}
		return eachContainer(verb, verb, url.Values{"t": {strconv.Itoa(*t)}}, f.Args(), stdout, stderr)
	}
}

func killVerb(args []string, stdout, stderr io.Writer) int {
	f := newFlags("kill", stderr)
	var sig string
	f.stringVar(&sig, "KILL", "s", "signal")
	if f.parse(args) != nil {
		return 2
	}
	return eachContainer("kill", "kill", url.Values{"signal": {sig}}, f.Args(), stdout, stderr)
}

func rmVerb(args []string, stdout, stderr io.Writer) int {
	f := newFlags("rm", stderr)
	var force, volumes bool
	f.boolVar(&force, "f", "force")
	f.boolVar(&volumes, "v", "volumes")
	if f.parse(args) != nil || f.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: berth rm [-f] [-v] CONTAINER...")
		return 2
	}
	status := 0
	for _, name := range f.Args() {
		q := url.Values{"force": {strconv.FormatBool(force)}, "v": {strconv.FormatBool(volumes)}}
		if _, err := client().Do("DELETE", "/containers/"+name, q, nil, nil); err != nil {
			status = fail(stderr, 1, err)
			continue
		}
		fmt.Fprintln(stdout, name)
	}
	return status
}

func waitVerb(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: berth wait CONTAINER...")
		return 2
	}
	status := 0
	for _, name := range args {
		var w struct{ StatusCode int }
		if _, err := client().Do("POST", "/containers/"+name+"/wait", nil, nil, &w); err != nil {
			status = fail(stderr, 1, err)
			continue
		}
		fmt.Fprintln(stdout, w.StatusCode)
	}
	return status
}

func logsVerb(args []string, stdout, stderr io.Writer) int {
	f := newFlags("logs", stderr)
	var follow, timestamps bool
	var tail string
	f.boolVar(&follow, "f", "follow")
	f.boolVar(&timestamps, "t", "timestamps")
	f.stringVar(&tail, "all", "tail")
	if f.parse(args) != nil || f.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: berth logs [-f] [-t] [--tail N] CONTAINER")
		return 2
	}
	q := url.Values{"stdout": {"1"}, "stderr": {"1"}, "follow": {strconv.FormatBool(follow)}, "timestamps": {strconv.FormatBool(timestamps)}}
	if tail != "all" {
		q.Set("tail", tail)
	}
	resp, err := client().Do("GET", "/containers/"+f.Arg(0)+"/logs", q, nil, nil)
	if err != nil {
		return fail(stderr, 1, err)
	}
	defer resp.Body.Close()
	if err := engine.Demux(resp.Body, stdout, stderr); err != nil {
		return fail(stderr, 1, err)
	}
	return 0
}

// ago formats a duration as docker ps does ("5 seconds", "About an hour").
func ago(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s < 1:
		return "Less than a second"
	case s < 60:
		return fmt.Sprintf("%d seconds", int(s))
	case d.Minutes() < 2:
		return "About a minute"
	case d.Minutes() < 60:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	case d.Hours() < 2:
		return "About an hour"
	case d.Hours() < 48:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	case d.Hours() < 24*7*2:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	case d.Hours() < 24*30*3:
		return fmt.Sprintf("%d weeks", int(d.Hours()/24/7))
	case d.Hours() < 24*365*2:
		return fmt.Sprintf("%d months", int(d.Hours()/24/30))
	}
	return fmt.Sprintf("%d years", int(d.Hours()/24/365))
}

func status(c engine.Container, now time.Time) string {
	st := c.State
	switch {
	case st.Restarting:
		return fmt.Sprintf("Restarting (%d) %s ago", st.ExitCode, ago(now.Sub(st.FinishedAt)))
	case st.Running:
		return "Up " + ago(now.Sub(st.StartedAt))
	case st.Status == "created":
		return "Created"
	}
	return fmt.Sprintf("Exited (%d) %s ago", st.ExitCode, ago(now.Sub(st.FinishedAt)))
}

// ports formats published and exposed ports as docker ps does.
func ports(c engine.Container) string {
	var out []string
	for key, bindings := range c.NetworkSettings.Ports {
		if len(bindings) == 0 {
			out = append(out, key)
		}
		for _, b := range bindings {
			out = append(out, fmt.Sprintf("%s:%s->%s", b.HostIp, b.HostPort, key))
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func psVerb(args []string, stdout, stderr io.Writer) int {
	f := newFlags("ps", stderr)
	var all, quiet, latest, noTrunc bool
	f.boolVar(&all, "a", "all")
	f.boolVar(&quiet, "q", "quiet")
	f.boolVar(&latest, "l", "latest")
	f.boolVar(&noTrunc, "no-trunc")
	if f.parse(args) != nil {
		return 2
	}
	var cs []engine.Container
	if _, err := client().Do("GET", "/containers/json", url.Values{"all": {strconv.FormatBool(all || latest)}}, nil, &cs); err != nil {
		return fail(stderr, 1, err)
	}
	if latest && len(cs) > 1 {
		cs = cs[:1]
	}
	if quiet {
		for _, c := range cs {
			id := c.Id
			if !noTrunc {
				id = engine.ShortID(id)
			}
			fmt.Fprintln(stdout, id)
		}
		return 0
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES")
	now := time.Now()
	for _, c := range cs {
		id, cmd := c.Id, strings.Join(append([]string{c.Path}, c.Args...), " ")
		if !noTrunc {
			id = engine.ShortID(id)
			if len(cmd) > 20 {
				cmd = cmd[:19] + "…"
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%q\t%s ago\t%s\t%s\t%s\n", id, c.Config.Image, cmd, ago(now.Sub(c.Created)), status(c, now),
			ports(c), strings.TrimPrefix(c.Name, "/"))
	}
	tw.Flush()
	return 0
}

func inspectVerb(args []string, stdout, stderr io.Writer) int {
	f := newFlags("inspect", stderr)
	var format string
	f.stringVar(&format, "", "f", "format")
	if f.parse(args) != nil || f.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: berth inspect [-f FORMAT] CONTAINER...")
		return 2
	}
	var tmpl *template.Template
	if format != "" {
		var err error
		tmpl, err = template.New("").Funcs(template.FuncMap{"json": func(v any) string {
			b, _ := json.Marshal(v)
			return string(b)
		}}).Parse(format)
		if err != nil {
			return fail(stderr, 1, fmt.Errorf("template: %w", err))
		}
	}
	var all []engine.Container
	status := 0
	for _, name := range f.Args() {
		var c engine.Container
		if _, err := client().Do("GET", "/containers/"+name+"/json", nil, nil, &c); err != nil {
			status = fail(stderr, 1, err)
			continue
		}
		if tmpl != nil {
			if err := tmpl.Execute(stdout, c); err != nil {
				status = fail(stderr, 1, err)
			}
			fmt.Fprintln(stdout)
			continue
		}
		all = append(all, c)
	}
	if tmpl == nil && len(all) > 0 {
		b, _ := json.MarshalIndent(all, "", "    ")
		fmt.Fprintln(stdout, string(b))
	}
	return status
}

func imagesVerb(args []string, stdout, stderr io.Writer) int {
	f := newFlags("images", stderr)
	var quiet, noTrunc, all bool
	f.boolVar(&quiet, "q", "quiet")
	f.boolVar(&noTrunc, "no-trunc")
	f.boolVar(&all, "a", "all")
	if f.parse(args) != nil {
		return 2
	}
	var q url.Values
	if all {
		q = url.Values{"all": {"1"}}
	}
	var imgs []engine.ImageSummary
	if _, err := client().Do("GET", "/images/json", q, nil, &imgs); err != nil {
		return fail(stderr, 1, err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 8, 3, ' ', 0)
	if !quiet {
		fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tVIRTUAL SIZE")
	}
	now := time.Now()
	for _, img := range imgs {
		id := strings.TrimPrefix(img.Id, "sha256:")
		if !noTrunc {
			id = engine.ShortID(id)
		}
		if quiet {
			fmt.Fprintln(tw, id)
			continue
		}
		tags := img.RepoTags
		if len(tags) == 0 {
			tags = []string{"<none>:<none>"}
		}
		for _, t := range tags {
			i := strings.LastIndex(t, ":")
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s ago\t%s\n", t[:i], t[i+1:], id, ago(now.Sub(time.Unix(img.Created, 0))), humanSize(uint64(img.Size)))
		}
	}
	tw.Flush()
	return 0
}

func loadVerb(args []string, stdout, stderr io.Writer) int {
	f := newFlags("load", stderr)
	var input string
	f.stringVar(&input, "", "i", "input")
	if f.parse(args) != nil {
		return 2
	}
	return postArchive(input, "/images/load", nil, stdout, stderr)
}

func importVerb(args []string, stdout, stderr io.Writer) int {
	if len(args) < 1 || len(args) > 2 {
		fmt.Fprintln(stderr, "usage: berth import FILE|- [REPOSITORY[:TAG]]")
		return 2
	}
	q := url.Values{"fromSrc": {"-"}}
	if len(args) == 2 {
		q.Set("repo", args[1])
	}
	return postArchive(args[0], "/images/create", q, stdout, stderr)
}

// postArchive sends the file at path ("" or "-": standard input) to the
// API and prints the progress it answers with.
func postArchive(path, endpoint string, q url.Values, stdout, stderr io.Writer) int {
	var in io.Reader = os.Stdin
	if path != "" && path != "-" {
		file, err := os.Open(path)
		if err != nil {
			return fail(stderr, 1, err)
		}
		defer file.Close()
		in = file
	}
	return postWithProgress(endpoint, q, in, stdout, stderr)
}

// postWithProgress sends a request whose answer is a stream of progress
// messages (load, import, pull) and prints them.
func postWithProgress(endpoint string, q url.Values, body io.Reader, stdout, stderr io.Writer) int {
	var in any
	if body != nil {
		in = body
	}
	resp, err := client().Do("POST", endpoint, q, in, nil)
	if err != nil {
		return fail(stderr, 1, err)
	}
	defer resp.Body.Close()
	if err := engine.JSONMessages(resp.Body, stdout); err != nil {
		return fail(stderr, 1, err)
	}
	return 0
}

func tagVerb(args []string, stdout, stderr io.Writer) int {
	if len(args) != 2 {
		fmt.Fprintln(stderr, "usage: berth tag IMAGE REPOSITORY[:TAG]")
		return 2
	}
	if _, err := client().Do("POST", "/images/"+args[0]+"/tag", url.Values{"repo": {args[1]}}, nil, nil); err != nil {
		return fail(stderr, 1, err)
	}
	return 0
}

func rmiVerb(args []string, stdout, stderr io.Writer) int {
	f := newFlags("rmi", stderr)
	var force bool
	f.boolVar(&force, "f", "force")
	if f.parse(args) != nil || f.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: berth rmi [-f] IMAGE...")
		return 2
	}
	status := 0
	for _, name := range f.Args() {
		var out []map[string]string
		if _, err := client().Do("DELETE", "/images/"+name, url.Values{"force": {strconv.FormatBool(force)}}, nil, &out); err != nil {
			status = fail(stderr, 1, err)
			continue
		}
		for _, m := range out {
			for k, v := range m {
				fmt.Fprintf(stdout, "%s: %s\n", k, v)
			}
		}
	}
	return status
}

func saveVerb(args []string, stdout, stderr io.Writer) int {
	f := newFlags("save", stderr)
	var output string
	f.stringVar(&output, "", "o", "output")
	if f.parse(args) != nil || f.NArg() == 0 {
		fmt.Fprintln(stderr, "usage: berth save [-o FILE] IMAGE...")
		return 2
	}
	return download("/images/get", url.Values{"names": f.Args()}, output, stdout, stderr)
}

// exportVerb is docker export: a container's root filesystem as a flat
// tar, the input berth import was made for.
func exportVerb(args []string, stdout, stderr io.Writer) int {
	f := newFlags("export", stderr)
	var output string
	f.stringVar(&output, "", "o", "output")
	if f.parse(args) != nil || f.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: berth export [-o FILE] CONTAINER")
		return 2
	}
	return download("/containers/"+f.Arg(0)+"/export", nil, output, stdout, stderr)
}

// download writes what a GET answers to the file output, or to stdout.
func download(path string, q url.Values, output string, stdout, stderr io.Writer) int {
	resp, err := client().Do("GET", path, q, nil, nil)
	if err != nil {
		return fail(stderr, 1, err)
	}
	defer resp.Body.Close()
	w := stdout
	if output != "" {
		file, err := os.Create(output)
		if err != nil {
			return fail(stderr, 1, err)
		}
		defer file.Close()
		w = file
	}
	if _, err := io.Copy(w, resp.Body); err != nil {
		return fail(stderr, 1, err)
	}
	return 0
}

func pullVerb(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: berth pull NAME[:TAG]")
		return 2
	}
	return postWithProgress("/images/create", url.Values{"fromImage": {args[0]}}, nil, stdout, stderr)
}
