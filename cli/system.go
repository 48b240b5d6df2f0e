package cli

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/pkg/stringid"
	"github.com/docker/go-units"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"berth/api"
	"berth/hostpath"
)

func versionVerb(e *env, args []string) int {
	f := newFlags("version", e.stderr)
	var format string
	f.stringVar(&format, "", "f", "format")
	if f.parse(args) != nil {
		return ExitFailed
	}
	var u unix.Utsname
	kernel := "unknown"
	if unix.Uname(&u) == nil {
		kernel = unix.ByteSliceToString(u.Release[:])
	}
	type clientVersion struct {
		Version, APIVersion, GitCommit, GoVersion, Os, Arch, Kernel string
	}
	cv := clientVersion{Version: Version, APIVersion: api.Version, GitCommit: Commit, GoVersion: goruntime.Version(),
		Os: goruntime.GOOS, Arch: goruntime.GOARCH, Kernel: kernel}
	var sv *types.Version
	if e.client != nil {
		if v, err := e.client.ServerVersion(e.ctx); err == nil {
			sv = &v
		}
	}
	if format != "" {
		t, err := inspectTemplate(format)
		if err != nil {
			return e.fail(1, err)
		}
		if err := t.Execute(e.stdout, struct {
			Client clientVersion
			Server *types.Version
		}{cv, sv}); err != nil {
			return e.fail(1, err)
		}
		fmt.Fprintln(e.stdout)
		return 0
	}
	fmt.Fprintf(e.stdout, "berth version %s\ngit commit:    %s\nkernel:        %s\ngo version:    %s\n", Version, Commit, kernel, cv.GoVersion)
	// The engine's side, as docker version shows the server's, when one
	// answers (on the build machine none does).
	if sv != nil {
		fmt.Fprintf(e.stdout, "server:        engine %s, API %s (minimum %s)\n", sv.Version, sv.APIVersion, sv.MinAPIVersion)
	}
	return 0
}

// infoVerb is docker info: the host, its containers and images, and the
// devicemapper pool, as Docker prints them; then where the config came
// from.
func infoVerb(e *env, args []string) int {
	f := newFlags("info", e.stderr)
	var format string
	f.stringVar(&format, "", "f", "format")
	if code, ok := e.prepare(f, args, "", anyCount); !ok {
		return code
	}
	info, err := e.client.Info(e.ctx)
	if err != nil {
		return e.fail(1, err)
	}
	if format != "" {
		t, err := inspectTemplate(format)
		if err != nil {
			return e.fail(1, err)
		}
		if err := t.Execute(e.stdout, info); err != nil {
			return e.fail(1, err)
		}
		fmt.Fprintln(e.stdout)
		return 0
	}
	w := e.stdout
	fmt.Fprintf(w, "Containers: %d\n Running: %d\n Paused: %d\n Stopped: %d\n", info.Containers, info.ContainersRunning, info.ContainersPaused, info.ContainersStopped)
	fmt.Fprintf(w, "Images: %d\nServer Version: %s\nStorage Driver: %s\n", info.Images, info.ServerVersion, info.Driver)
	for _, kv := range info.DriverStatus {
		fmt.Fprintf(w, " %s: %s\n", kv[0], kv[1])
	}
	fmt.Fprintf(w, "Logging Driver: %s\nCgroup Driver: %s\nCgroup Version: %s\n", info.LoggingDriver, info.CgroupDriver, info.CgroupVersion)
	fmt.Fprintf(w, "Plugins:\n Volume: %s\n Network: %s\n Log: %s\n", strings.Join(info.Plugins.Volume, " "),
		strings.Join(info.Plugins.Network, " "), strings.Join(info.Plugins.Log, " "))
	fmt.Fprintf(w, "Swarm: %s\nRuntimes: %s\nDefault Runtime: %s\nInit Binary: %s\n", info.Swarm.LocalNodeState,
		strings.Join(sortedKeys(info.Runtimes), " "), info.DefaultRuntime, info.InitBinary)
	fmt.Fprintln(w, "Security Options:")
	for _, o := range info.SecurityOptions {
		// Docker's form: name=seccomp,profile=builtin.
		name, rest, _ := strings.Cut(o, ",")
		fmt.Fprintf(w, " %s\n", strings.TrimPrefix(name, "name="))
		for _, kv := range strings.Split(rest, ",") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				fmt.Fprintf(w, "  %s: %s\n", strings.ToUpper(k[:1])+k[1:], v)
			}
		}
	}
	fmt.Fprintf(w, "Kernel Version: %s\nOperating System: %s\nOSType: %s\nArchitecture: %s\nCPUs: %d\nTotal Memory: %s\n",
		info.KernelVersion, info.OperatingSystem, info.OSType, info.Architecture, info.NCPU, units.BytesSize(float64(info.MemTotal)))
	fmt.Fprintf(w, "Name: %s\nID: %s\nDocker Root Dir: %s\nDebug Mode: %v\n", info.Name, info.ID, info.DockerRootDir, info.Debug)
	source := ""
	if len(info.Labels) > 0 {
		fmt.Fprintln(w, "Labels:")
		for _, l := range info.Labels {
			fmt.Fprintf(w, " %s\n", l)
			if v, ok := strings.CutPrefix(l, "berth.config-source="); ok {
				source = v
			}
		}
	}
	fmt.Fprintf(w, "Live Restore Enabled: %v\n", info.LiveRestoreEnabled)
	if source != "" {
		fmt.Fprintf(w, "Config: %s\n", source)
	}
	for _, warn := range info.Warnings {
		fmt.Fprintln(e.stderr, warn)
	}
	return 0
}

// eventsVerb is docker events: past events with --since, then those that
// come, until --until or an interrupt.
func eventsVerb(e *env, args []string) int {
	f := newFlags("events", e.stderr)
	var sinceFlag, until, format string
	var filterFlags listFlag
	f.stringVar(&sinceFlag, "", "since")
	f.stringVar(&until, "", "until")
	f.stringVar(&format, "", "format")
	f.listVar(&filterFlags, "f", "filter")
	if code, ok := e.prepare(f, args, "", anyCount); !ok {
		return code
	}
	fl, err := parseFilters(filterFlags)
	if err != nil {
		return e.fail(1, err)
	}
	var tmpl *template.Template
	if format != "" && format != "json" {
		if tmpl, err = inspectTemplate(format); err != nil {
			return e.fail(1, err)
		}
	}
	msgs, errs := e.client.Events(e.ctx, events.ListOptions{Since: sinceFlag, Until: until, Filters: fl})
	for {
		select {
		case m := <-msgs:
			switch {
			case format == "json":
				b, _ := json.Marshal(m)
				fmt.Fprintln(e.stdout, string(b))
			case tmpl != nil:
				if err := tmpl.Execute(e.stdout, m); err != nil {
					return e.fail(1, err)
				}
				fmt.Fprintln(e.stdout)
			default:
				printEvent(e.stdout, m)
			}
		case err := <-errs:
			if err == nil || errors.Is(err, io.EOF) {
				return 0
			}
			return e.fail(1, err)
		}
	}
}

// printEvent prints an event as docker events does.
func printEvent(w io.Writer, m events.Message) {
	t := time.Unix(0, m.TimeNano)
	if m.TimeNano == 0 {
		t = time.Unix(m.Time, 0)
	}
	fmt.Fprintf(w, "%s %s %s %s", t.Format("2006-01-02T15:04:05.000000000Z07:00"), m.Type, m.Action, m.Actor.ID)
	if len(m.Actor.Attributes) > 0 {
		var attrs []string
		for _, k := range sortedKeys(m.Actor.Attributes) {
			attrs = append(attrs, k+"="+m.Actor.Attributes[k])
		}
		fmt.Fprintf(w, " (%s)", strings.Join(attrs, ", "))
	}
	fmt.Fprintln(w)
}

// systemDfVerb is docker system df, with -v each object.
func systemDfVerb(e *env, args []string) int {
	f := newFlags("system-df", e.stderr)
	var verbose bool
	f.boolVar(&verbose, "v", "verbose")
	if code, ok := e.prepare(f, args, "", anyCount); !ok {
		return code
	}
	du, err := e.client.DiskUsage(e.ctx, types.DiskUsageOptions{})
	if err != nil {
		return e.fail(1, err)
	}
	pct := func(part, whole int64) string {
		if whole == 0 {
			return ""
		}
		return fmt.Sprintf(" (%d%%)", part*100/whole)
	}
	var imgActive, imgReclaim int64
	for _, i := range du.Images {
		if i.Containers > 0 {
			imgActive++
		} else {
			imgReclaim += i.Size - max(i.SharedSize, 0)
		}
	}
	var ctrSize, ctrActive, ctrReclaim int64
	for _, c := range du.Containers {
		ctrSize += c.SizeRw
		if c.State == "running" || c.State == "paused" || c.State == "restarting" {
			ctrActive++
		} else {
			ctrReclaim += c.SizeRw
		}
	}
	var volSize, volActive, volReclaim int64
	for _, v := range du.Volumes {
		if v.UsageData == nil {
			continue
		}
		volSize += v.UsageData.Size
		if v.UsageData.RefCount > 0 {
			volActive++
		} else {
			volReclaim += v.UsageData.Size
		}
	}
	var cacheSize, cacheReclaim, cacheActive int64
	for _, b := range du.BuildCache {
		cacheSize += b.Size
		if b.InUse {
			cacheActive++
		} else if !b.Shared {
			cacheReclaim += b.Size
		}
	}
	tw := newTable(e.stdout)
	fmt.Fprintln(tw, "TYPE\tTOTAL\tACTIVE\tSIZE\tRECLAIMABLE")
	fmt.Fprintf(tw, "Images\t%d\t%d\t%s\t%s%s\n", len(du.Images), imgActive, humanSize(du.LayersSize), humanSize(imgReclaim), pct(imgReclaim, du.LayersSize))
	fmt.Fprintf(tw, "Containers\t%d\t%d\t%s\t%s%s\n", len(du.Containers), ctrActive, humanSize(ctrSize), humanSize(ctrReclaim), pct(ctrReclaim, ctrSize))
	fmt.Fprintf(tw, "Local Volumes\t%d\t%d\t%s\t%s%s\n", len(du.Volumes), volActive, humanSize(volSize), humanSize(volReclaim), pct(volReclaim, volSize))
	fmt.Fprintf(tw, "Build Cache\t%d\t%d\t%s\t%s\n", len(du.BuildCache), cacheActive, humanSize(cacheSize), humanSize(cacheReclaim))
	tw.Flush()
	if !verbose {
		return 0
	}
	fmt.Fprint(e.stdout, "\nImages space usage:\n\n")
	tw = newTable(e.stdout)
	fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\tSHARED SIZE\tUNIQUE SIZE\tCONTAINERS")
	for _, i := range du.Images {
		for _, r := range imageRows(*i, false, true) {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", r.Repository(), r.Tag(), r.ID(), r.CreatedSince(), r.Size(), r.SharedSize(), r.UniqueSize(), i.Containers)
		}
	}
	tw.Flush()
	fmt.Fprint(e.stdout, "\nContainers space usage:\n\n")
	tw = newTable(e.stdout)
	fmt.Fprintln(tw, "CONTAINER ID\tIMAGE\tCOMMAND\tLOCAL VOLUMES\tSIZE\tCREATED\tSTATUS\tNAMES")
	for _, c := range du.Containers {
		r := containerRow{c: *c, trunc: true}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID(), r.Image(), r.Command(), r.LocalVolumes(), humanSize(c.SizeRw), r.RunningFor(), r.Status(), r.Names())
	}
	tw.Flush()
	fmt.Fprint(e.stdout, "\nLocal Volumes space usage:\n\n")
	tw = newTable(e.stdout)
	fmt.Fprintln(tw, "VOLUME NAME\tLINKS\tSIZE")
	for _, v := range du.Volumes {
		if v.UsageData != nil {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", v.Name, v.UsageData.RefCount, humanSize(v.UsageData.Size))
		}
	}
	tw.Flush()
	fmt.Fprint(e.stdout, "\nBuild cache usage: "+humanSize(cacheSize)+"\n\n")
	tw = newTable(e.stdout)
	fmt.Fprintln(tw, "CACHE ID\tCACHE TYPE\tSIZE\tCREATED\tLAST USED\tUSAGE\tSHARED")
	for _, b := range du.BuildCache {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%v\n", b.ID, b.Type, humanSize(b.Size), since(b.CreatedAt), "", b.UsageCount, b.Shared)
	}
	tw.Flush()
	return 0
}

// systemPruneVerb is docker system prune: stopped containers, unused
// networks (berth has none to prune), dangling images (every unused one
// with -a), the build cache, and with --volumes unused volumes.
func systemPruneVerb(e *env, args []string) int {
	f := newFlags("system-prune", e.stderr)
	var force, all, volumes bool
	var filterFlags listFlag
	f.boolVar(&force, "f", "force")
	f.boolVar(&all, "a", "all")
	f.boolVar(&volumes, "volumes")
	f.listVar(&filterFlags, "filter")
	if code, ok := e.prepare(f, args, "", anyCount); !ok {
		return code
	}
	warning := "WARNING! This will remove:\n  - all stopped containers\n  - all networks not used by at least one container\n"
	if volumes {
		warning += "  - all volumes not used by at least one container\n"
	}
	if all {
		warning += "  - all images without at least one container associated to them\n  - all build cache\n"
	} else {
		warning += "  - all dangling images\n  - all dangling build cache\n"
	}
	if !e.confirm(force, strings.TrimRight(warning, "\n")) {
		return 0
	}
	fl, err := parseFilters(filterFlags)
	if err != nil {
		return e.fail(1, err)
	}
	var reclaimed uint64
	crep, err := e.client.ContainersPrune(e.ctx, fl)
	if err != nil {
		return e.fail(1, err)
	}
	e.printPruned("Deleted Containers:", crep.ContainersDeleted)
	reclaimed += crep.SpaceReclaimed
	if volumes {
		vrep, err := e.client.VolumesPrune(e.ctx, fl)
		if err != nil {
			return e.fail(1, err)
		}
		e.printPruned("Deleted Volumes:", vrep.VolumesDeleted)
		reclaimed += vrep.SpaceReclaimed
	}
	ifl := fl.Clone()
	if all {
		ifl.Add("dangling", "false")
	}
	irep, err := e.client.ImagesPrune(e.ctx, ifl)
	if err != nil {
		return e.fail(1, err)
	}
	if len(irep.ImagesDeleted) > 0 {
		fmt.Fprintln(e.stdout, "Deleted Images:")
		printDeleted(e.stdout, irep.ImagesDeleted)
		fmt.Fprintln(e.stdout)
	}
	reclaimed += irep.SpaceReclaimed
	brep, err := e.client.BuildCachePrune(e.ctx, build.CachePruneOptions{All: all, Filters: filters.NewArgs()})
	if err != nil {
		return e.fail(1, err)
	}
	e.printPruned("Deleted build cache objects:", brep.CachesDeleted)
	reclaimed += brep.SpaceReclaimed
	fmt.Fprintf(e.stdout, "Total reclaimed space: %s\n", units.HumanSize(float64(reclaimed)))
	return 0
}

// The volume verbs.

func volumeLsVerb(e *env, args []string) int {
	f := newFlags("volume-ls", e.stderr)
	var quiet bool
	var format string
	var filterFlags listFlag
	f.boolVar(&quiet, "q", "quiet")
	f.stringVar(&format, "", "format")
	f.listVar(&filterFlags, "f", "filter")
	if code, ok := e.prepare(f, args, "", anyCount); !ok {
		return code
	}
	fl, err := parseFilters(filterFlags)
	if err != nil {
		return e.fail(1, err)
	}
	list, err := e.client.VolumeList(e.ctx, volume.ListOptions{Filters: fl})
	if err != nil {
		return e.fail(1, err)
	}
	sort.Slice(list.Volumes, func(i, j int) bool { return list.Volumes[i].Name < list.Volumes[j].Name })
	def := "table {{.Driver}}\t{{.Name}}"
	if quiet {
		def, format = "{{.Name}}", ""
	}
	rf, err := parseFormat(format, def)
	if err != nil {
		return e.fail(1, err)
	}
	var rows []any
	for _, v := range list.Volumes {
		rows = append(rows, *v)
	}
	if err := rf.write(e.stdout, volume.Volume{Driver: "DRIVER", Name: "VOLUME NAME", Mountpoint: "MOUNTPOINT", Scope: "SCOPE"}, rows); err != nil {
		return e.fail(1, err)
	}
	return 0
}

func volumeCreateVerb(e *env, args []string) int {
	f := newFlags("volume-create", e.stderr)
	var driver, name string
	var labels, opts listFlag
	f.stringVar(&driver, "local", "d", "driver")
	f.stringVar(&name, "", "name")
	f.listVar(&labels, "label")
	f.listVar(&opts, "o", "opt")
	if f.parse(args) != nil {
		return ExitFailed
	}
	if f.NArg() > 1 {
		return e.usageError("volume-create", "\"volume create\" requires at most 1 argument.")
	}
	if f.NArg() == 1 {
		name = f.Arg(0)
	}
	if err := e.needClient(); err != nil {
		return e.fail(1, err)
	}
	o := volume.CreateOptions{Name: name, Driver: driver, Labels: map[string]string{}, DriverOpts: map[string]string{}}
	addKeyValues(o.Labels, labels)
	addKeyValues(o.DriverOpts, opts)
	v, err := e.client.VolumeCreate(e.ctx, o)
	if err != nil {
		return e.fail(1, err)
	}
	fmt.Fprintln(e.stdout, v.Name)
	return 0
}

func volumeRmVerb(e *env, args []string) int {
	f := newFlags("volume-rm", e.stderr)
	var force bool
	f.boolVar(&force, "f", "force")
	if f.parse(args) != nil {
		return ExitFailed
	}
	return e.eachContainer("volume-rm", f.Args(), func(name string) error { return e.client.VolumeRemove(e.ctx, name, force) })
}

func volumePruneVerb(e *env, args []string) int {
	f := newFlags("volume-prune", e.stderr)
	var force, all bool
	var filterFlags listFlag
	f.boolVar(&force, "f", "force")
	f.boolVar(&all, "a", "all")
	f.listVar(&filterFlags, "filter")
	if f.parse(args) != nil {
		return ExitFailed
	}
	if !e.confirm(force, "WARNING! This will remove anonymous local volumes not used by at least one container.") {
		return 0
	}
	fl, err := parseFilters(filterFlags)
	if err != nil {
		return e.fail(1, err)
	}
	if all {
		fl.Add("all", "true")
	}
	rep, err := e.client.VolumesPrune(e.ctx, fl)
	if err != nil {
		return e.fail(1, err)
	}
	e.printPruned("Deleted Volumes:", rep.VolumesDeleted)
	fmt.Fprintf(e.stdout, "Total reclaimed space: %s\n", units.HumanSize(float64(rep.SpaceReclaimed)))
	return 0
}

// printPruned lists what a prune deleted under its title, as Docker's
// CLI does; nothing when it deleted nothing.
func (e *env) printPruned(title string, deleted []string) {
	if len(deleted) == 0 {
		return
	}
	fmt.Fprintln(e.stdout, title)
	for _, d := range deleted {
		fmt.Fprintln(e.stdout, d)
	}
	fmt.Fprintln(e.stdout)
}

// The network verbs: berth's networks are bridge, host and none.

func networkLsVerb(e *env, args []string) int {
	f := newFlags("network-ls", e.stderr)
	var quiet, noTrunc bool
	var format string
	var filterFlags listFlag
	f.boolVar(&quiet, "q", "quiet")
	f.boolVar(&noTrunc, "no-trunc")
	f.stringVar(&format, "", "format")
	f.listVar(&filterFlags, "f", "filter")
	if code, ok := e.prepare(f, args, "", anyCount); !ok {
		return code
	}
	fl, err := parseFilters(filterFlags)
	if err != nil {
		return e.fail(1, err)
	}
	list, err := e.client.NetworkList(e.ctx, network.ListOptions{Filters: fl})
	if err != nil {
		return e.fail(1, err)
	}
	tw := newTable(e.stdout)
	if !quiet {
		fmt.Fprintln(tw, "NETWORK ID\tNAME\tDRIVER\tSCOPE")
	}
	for _, n := range list {
		id := n.ID
		if !noTrunc {
			id = stringid.TruncateID(id)
		}
		if quiet {
			fmt.Fprintln(tw, id)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", id, n.Name, n.Driver, n.Scope)
	}
	tw.Flush()
	return 0
}

func networkCreateVerb(e *env, args []string) int {
	if len(args) == 0 {
		return e.usageError("network-create", "\"network create\" requires exactly 1 argument.")
	}
	if err := e.needClient(); err != nil {
		return e.fail(1, err)
	}
	if _, err := e.client.NetworkCreate(e.ctx, args[len(args)-1], network.CreateOptions{}); err != nil {
		return e.fail(1, err)
	}
	return 0
}

func networkRmVerb(e *env, args []string) int {
	return e.eachContainer("network-rm", args, func(name string) error { return e.client.NetworkRemove(e.ctx, name) })
}

func networkPruneVerb(e *env, args []string) int {
	f := newFlags("network-prune", e.stderr)
	var force bool
	f.boolVar(&force, "f", "force")
	if f.parse(args) != nil {
		return ExitFailed
	}
	if !e.confirm(force, "WARNING! This will remove all custom networks not used by at least one container.") {
		return 0
	}
	if err := e.needClient(); err != nil {
		return e.fail(1, err)
	}
	if _, err := e.client.NetworksPrune(e.ctx, filters.NewArgs()); err != nil {
		return e.fail(1, err)
	}
	return 0
}

// login and logout: credentials kept, as docker login keeps them in
// ~/.docker/config.json, in a file only root reads, on the state disk.

// ConfigDirEnv names the directory of the CLI's credentials file.
const ConfigDirEnv = "BERTH_CONFIG"

func credentialsPath() string {
	dir := os.Getenv(ConfigDirEnv)
	if dir == "" {
		dir = hostpath.CLIConfig
	}
	return filepath.Join(dir, "config.json")
}

// cliConfig is the credentials file, in docker's config.json form.
type cliConfig struct {
	Auths map[string]struct {
		Auth string `json:"auth"`
	} `json:"auths"`
}

// loadCredentials reads the kept credentials, by registry.
func loadCredentials() map[string]registry.AuthConfig {
	out := map[string]registry.AuthConfig{}
	b, err := os.ReadFile(credentialsPath())
	if err != nil {
		return out
	}
	var c cliConfig
	if json.Unmarshal(b, &c) != nil {
		return out
	}
	for server, a := range c.Auths {
		raw, err := base64.StdEncoding.DecodeString(a.Auth)
		if err != nil {
			continue
		}
		user, pass, _ := strings.Cut(string(raw), ":")
		out[server] = registry.AuthConfig{Username: user, Password: pass, ServerAddress: server}
	}
	return out
}

// saveCredentials writes the credentials file, root's alone.
func saveCredentials(creds map[string]registry.AuthConfig) error {
	c := cliConfig{Auths: map[string]struct {
		Auth string `json:"auth"`
	}{}}
	for server, a := range creds {
		c.Auths[server] = struct {
			Auth string `json:"auth"`
		}{base64.StdEncoding.EncodeToString([]byte(a.Username + ":" + a.Password))}
	}
	b, err := json.MarshalIndent(c, "", "\t")
	if err != nil {
		return err
	}
	p := credentialsPath()
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}

// serverOf is a registry address as credentials are kept by it.
func serverOf(arg string) string {
	if arg == "" || strings.Contains(arg, "docker.io") {
		return dockerHub
	}
	s := strings.TrimPrefix(strings.TrimPrefix(arg, "https://"), "http://")
	return strings.TrimSuffix(s, "/")
}

func loginVerb(e *env, args []string) int {
	f := newFlags("login", e.stderr)
	var user, pass string
	var passStdin bool
	f.stringVar(&user, "", "u", "username")
	f.stringVar(&pass, "", "p", "password")
	f.boolVar(&passStdin, "password-stdin")
	if code, ok := e.prepare(f, args, "login", atMost(1)); !ok {
		return code
	}
	server := serverOf(f.Arg(0))
	if pass != "" {
		fmt.Fprintln(e.stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
		if passStdin {
			return e.fail(1, errors.New("--password and --password-stdin are mutually exclusive"))
		}
	}
	if passStdin {
		if user == "" {
			return e.fail(1, errors.New("Must provide --username with --password-stdin"))
		}
		b, err := io.ReadAll(e.stdin)
		if err != nil {
			return e.fail(1, err)
		}
		pass = strings.TrimRight(string(b), "\r\n")
	}
	if user == "" {
		fmt.Fprint(e.stdout, "Username: ")
		fmt.Fscanln(e.stdin, &user)
	}
	if pass == "" {
		fmt.Fprint(e.stdout, "Password: ")
		if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			b, _ := term.ReadPassword(int(f.Fd()))
			pass = string(b)
			fmt.Fprintln(e.stdout)
		} else {
			fmt.Fscanln(e.stdin, &pass)
		}
	}
	if user == "" || pass == "" {
		return e.fail(1, errors.New("Error: Cannot perform an interactive login from a non TTY device"))
	}
	a := registry.AuthConfig{Username: user, Password: pass, ServerAddress: server}
	resp, err := e.client.RegistryLogin(e.ctx, a)
	if err != nil {
		return e.fail(1, err)
	}
	creds := loadCredentials()
	creds[server] = a
	if err := saveCredentials(creds); err != nil {
		return e.fail(1, fmt.Errorf("store the credentials: %w", err))
	}
	fmt.Fprintln(e.stdout, resp.Status)
	return 0
}

func logoutVerb(e *env, args []string) int {
	if len(args) > 1 {
		return e.usageError("logout", "\"logout\" requires at most 1 argument.")
	}
	server := serverOf(strings.Join(args, ""))
	creds := loadCredentials()
	if _, ok := creds[server]; !ok {
		fmt.Fprintf(e.stdout, "Not logged in to %s\n", server)
		return 0
	}
	fmt.Fprintf(e.stdout, "Removing login credentials for %s\n", server)
	delete(creds, server)
	if err := saveCredentials(creds); err != nil {
		return e.fail(1, err)
	}
	return 0
}
