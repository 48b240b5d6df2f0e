package cli

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/strslice"
	"github.com/docker/go-connections/nat"
	"github.com/docker/go-units"
)

// createFlags are the flags of run and create, as Docker's.
type createFlags struct {
	detach, rm, publishAll, readOnly, interactive, tty, privileged, init, noHealthcheck bool
	sigProxy                                                                            bool
	name, workdir, user, hostname, domainname, restart, memory, memorySwap, entrypoint  string
	network, logDriver, stopSignal, detachKeys, platform                                string
	healthCmd, healthInterval, healthTimeout, healthStartPeriod                         string
	cpus                                                                                float64
	pidsLimit                                                                           int64
	cpuShares, stopTimeout, healthRetries                                               int
	publish, expose, volumes, env, envFiles, capAdd, capDrop, links, securityOpt        listFlag
	devices, logOpts, labels, labelFiles, addHosts, dns, dnsSearch, dnsOptions          listFlag
	tmpfs, mounts, ulimits                                                              listFlag
}

func (c *createFlags) register(f *flags, run bool) {
	f.interspersed = false
	if run {
		f.boolVar(&c.detach, "d", "detach")
		f.boolVar(&c.rm, "rm")
		c.sigProxy = true
		f.boolVar(&c.sigProxy, "sig-proxy")
		f.stringVar(&c.detachKeys, "", "detach-keys")
	} else {
		f.boolVar(&c.rm, "rm")
	}
	f.boolVar(&c.publishAll, "P", "publish-all")
	f.boolVar(&c.readOnly, "read-only")
	f.boolVar(&c.interactive, "i", "interactive")
	f.boolVar(&c.tty, "t", "tty")
	f.boolVar(&c.privileged, "privileged")
	f.boolVar(&c.init, "init")
	f.boolVar(&c.noHealthcheck, "no-healthcheck")
	f.stringVar(&c.name, "", "name")
	f.stringVar(&c.workdir, "", "w", "workdir")
	f.stringVar(&c.user, "", "u", "user")
	f.stringVar(&c.hostname, "", "h", "hostname")
	f.stringVar(&c.domainname, "", "domainname")
	f.stringVar(&c.restart, "", "restart")
	f.stringVar(&c.memory, "", "m", "memory")
	f.stringVar(&c.memorySwap, "", "memory-swap")
	f.stringVar(&c.entrypoint, "", "entrypoint")
	f.stringVar(&c.network, "", "network", "net")
	f.stringVar(&c.logDriver, "", "log-driver")
	f.stringVar(&c.stopSignal, "", "stop-signal")
	f.stringVar(&c.platform, "", "platform")
	f.stringVar(&c.healthCmd, "", "health-cmd")
	f.stringVar(&c.healthInterval, "", "health-interval")
	f.stringVar(&c.healthTimeout, "", "health-timeout")
	f.stringVar(&c.healthStartPeriod, "", "health-start-period")
	f.IntVar(&c.healthRetries, "health-retries", 0, "")
	f.Float64Var(&c.cpus, "cpus", 0, "")
	f.Int64Var(&c.pidsLimit, "pids-limit", 0, "")
	f.intVar(&c.cpuShares, 0, "c", "cpu-shares")
	f.IntVar(&c.stopTimeout, "stop-timeout", -2, "")
	f.listVar(&c.publish, "p", "publish")
	f.listVar(&c.expose, "expose")
	f.listVar(&c.volumes, "v", "volume")
	f.listVar(&c.env, "e", "env")
	f.listVar(&c.envFiles, "env-file")
	f.listVar(&c.capAdd, "cap-add")
	f.listVar(&c.capDrop, "cap-drop")
	f.listVar(&c.links, "link")
	f.listVar(&c.securityOpt, "security-opt")
	f.listVar(&c.devices, "device")
	f.listVar(&c.logOpts, "log-opt")
	f.listVar(&c.labels, "l", "label")
	f.listVar(&c.labelFiles, "label-file")
	f.listVar(&c.addHosts, "add-host")
	f.listVar(&c.dns, "dns")
	f.listVar(&c.dnsSearch, "dns-search")
	f.listVar(&c.dnsOptions, "dns-option")
	f.listVar(&c.tmpfs, "tmpfs")
	f.listVar(&c.mounts, "mount")
	f.listVar(&c.ulimits, "ulimit")
}

// request turns the flags, the image and the command into the create
// request, as Docker's CLI does.
func (c *createFlags) request(f *flags) (*container.Config, *container.HostConfig, error) {
	args := f.Args()
	if len(args) == 0 {
		return nil, nil, errors.New("an image name is required: berth run [OPTIONS] IMAGE [COMMAND] [ARG...]")
	}
	if c.platform != "" && c.platform != "linux/amd64" && c.platform != "linux" {
		return nil, nil, fmt.Errorf("--platform %s: berth runs linux/amd64 images only", c.platform)
	}
	cfg := &container.Config{Image: args[0], WorkingDir: c.workdir, User: c.user, Hostname: c.hostname, Domainname: c.domainname,
		OpenStdin: c.interactive, Tty: c.tty, StopSignal: c.stopSignal, AttachStdin: c.interactive && !c.detach,
		AttachStdout: !c.detach, AttachStderr: !c.detach}
	if len(args) > 1 {
		cfg.Cmd = args[1:]
	}
	// As Docker's CLI: the stdin of a container attached with -i ends
	// when the CLI's does.
	cfg.StdinOnce = c.interactive && !c.detach
	if c.stopTimeout != -2 {
		t := c.stopTimeout
		cfg.StopTimeout = &t
	}
	hc := &container.HostConfig{PublishAllPorts: c.publishAll, ReadonlyRootfs: c.readOnly, AutoRemove: c.rm,
		CapAdd: strslice.StrSlice(c.capAdd), CapDrop: strslice.StrSlice(c.capDrop), Links: c.links, Privileged: c.privileged,
		NetworkMode: container.NetworkMode(c.network), DNS: c.dns, DNSSearch: c.dnsSearch, DNSOptions: c.dnsOptions,
		ExtraHosts: c.addHosts}
	hc.NanoCPUs, hc.CPUShares = int64(c.cpus*1e9), int64(c.cpuShares)
	if c.pidsLimit != 0 {
		hc.PidsLimit = &c.pidsLimit
	}
	if c.init {
		t := true
		hc.Init = &t
	}
	f.Visit(func(fl *flag.Flag) {
		if fl.Name == "entrypoint" {
			cfg.Entrypoint = strslice.StrSlice{c.entrypoint} // "" clears the image's, as Docker's
		}
	})
	env, err := readEnv(c.envFiles, c.env)
	if err != nil {
		return nil, nil, err
	}
	cfg.Env = env
	labels, err := readEnv(c.labelFiles, c.labels)
	if err != nil {
		return nil, nil, err
	}
	if len(labels) > 0 {
		cfg.Labels = addKeyValues(map[string]string{}, labels)
	}
	for _, o := range c.securityOpt {
		o, err := securityOpt(o)
		if err != nil {
			return nil, nil, err
		}
		hc.SecurityOpt = append(hc.SecurityOpt, o)
	}
	for _, d := range c.devices {
		m, err := parseDevice(d)
		if err != nil {
			return nil, nil, err
		}
		hc.Devices = append(hc.Devices, m)
	}
	hc.LogConfig.Type = c.logDriver
	for _, o := range c.logOpts {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			return nil, nil, fmt.Errorf("invalid key/value pair %q for --log-opt: use KEY=VALUE", o)
		}
		if hc.LogConfig.Config == nil {
			hc.LogConfig.Config = map[string]string{}
		}
		hc.LogConfig.Config[k] = v
	}
	if c.restart != "" {
		if hc.RestartPolicy, err = parseRestart(c.restart); err != nil {
			return nil, nil, err
		}
	}
	if c.memory != "" {
		if hc.Memory, err = units.RAMInBytes(c.memory); err != nil {
			return nil, nil, fmt.Errorf("invalid argument %q for \"-m, --memory\" flag: %w", c.memory, err)
		}
	}
	if c.memorySwap != "" {
		if c.memorySwap == "-1" {
			hc.MemorySwap = -1
		} else if hc.MemorySwap, err = units.RAMInBytes(c.memorySwap); err != nil {
			return nil, nil, fmt.Errorf("invalid argument %q for \"--memory-swap\" flag: %w", c.memorySwap, err)
		}
	}
	exposed, bindings, err := nat.ParsePortSpecs(c.publish)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range c.expose {
		proto, port := nat.SplitProtoPort(e)
		start, end, err := nat.ParsePortRange(port)
		if err != nil {
			return nil, nil, fmt.Errorf("invalid range format for --expose: %s, error: %w", e, err)
		}
		for p := start; p <= end; p++ {
			np, err := nat.NewPort(proto, strconv.FormatUint(p, 10))
			if err != nil {
				return nil, nil, err
			}
			exposed[np] = struct{}{}
		}
	}
	if len(exposed) > 0 {
		cfg.ExposedPorts = exposed
	}
	hc.PortBindings = bindings
	for _, v := range c.volumes {
		if strings.HasPrefix(v, "/") && !strings.Contains(v, ":") {
			// -v /path: an anonymous volume of the container's own.
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			cfg.Volumes[v] = struct{}{}
			continue
		}
		hc.Binds = append(hc.Binds, v)
	}
	for _, m := range c.mounts {
		mm, err := parseMount(m)
		if err != nil {
			return nil, nil, err
		}
		hc.Mounts = append(hc.Mounts, mm)
	}
	for _, t := range c.tmpfs {
		dst, opts, _ := strings.Cut(t, ":")
		if hc.Tmpfs == nil {
			hc.Tmpfs = map[string]string{}
		}
		hc.Tmpfs[dst] = opts
	}
	for _, u := range c.ulimits {
		l, err := units.ParseUlimit(u)
		if err != nil {
			return nil, nil, fmt.Errorf("invalid argument %q for \"--ulimit\" flag: %w", u, err)
		}
		hc.Ulimits = append(hc.Ulimits, &container.Ulimit{Name: l.Name, Soft: l.Soft, Hard: l.Hard})
	}
	if cfg.Healthcheck, err = c.healthcheck(); err != nil {
		return nil, nil, err
	}
	return cfg, hc, nil
}

// healthcheck is the --health-* flags as a config, nil when none is given.
func (c *createFlags) healthcheck() (*container.HealthConfig, error) {
	set := c.healthCmd != "" || c.healthInterval != "" || c.healthTimeout != "" || c.healthStartPeriod != "" || c.healthRetries != 0
	if c.noHealthcheck {
		if set {
			return nil, errors.New("--no-healthcheck conflicts with --health-* options")
		}
		return &container.HealthConfig{Test: []string{"NONE"}}, nil
	}
	if !set {
		return nil, nil
	}
	h := &container.HealthConfig{Retries: c.healthRetries}
	if c.healthCmd != "" {
		h.Test = []string{"CMD-SHELL", c.healthCmd}
	}
	for _, d := range []struct {
		flag, value string
		dst         *time.Duration
	}{{"--health-interval", c.healthInterval, &h.Interval}, {"--health-timeout", c.healthTimeout, &h.Timeout},
		{"--health-start-period", c.healthStartPeriod, &h.StartPeriod}} {
		if d.value == "" {
			continue
		}
		v, err := time.ParseDuration(d.value)
		if err != nil || v < 0 {
			return nil, fmt.Errorf("invalid argument %q for %q flag: give a duration such as 30s", d.value, d.flag)
		}
		*d.dst = v
	}
	if c.healthRetries < 0 {
		return nil, errors.New("--health-retries cannot be negative")
	}
	return h, nil
}

// parseRestart reads --restart: no, always, unless-stopped,
// on-failure[:N].
func parseRestart(s string) (container.RestartPolicy, error) {
	name, count, hasCount := strings.Cut(s, ":")
	p := container.RestartPolicy{Name: container.RestartPolicyMode(name)}
	switch p.Name {
	case container.RestartPolicyDisabled, container.RestartPolicyAlways, container.RestartPolicyUnlessStopped:
		if hasCount {
			return p, fmt.Errorf("invalid restart policy format: maximum retry count can only be used with 'on-failure'")
		}
	case container.RestartPolicyOnFailure:
		if hasCount {
			n, err := strconv.Atoi(count)
			if err != nil {
				return p, fmt.Errorf("invalid restart policy format: maximum retry count must be an integer")
			}
			p.MaximumRetryCount = n
		}
	default:
		return p, fmt.Errorf("invalid restart policy format: no such policy: %s", name)
	}
	return p, nil
}

// addKeyValues adds KEY=VALUE flags (--label, --opt) to m, a KEY alone
// with an empty value, and returns m.
func addKeyValues(m map[string]string, list []string) map[string]string {
	for _, kv := range list {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// readEnv reads --env-file files, then -e values, as Docker's CLI: NAME
// alone takes the caller's value, or is left out when the caller has
// none; blank lines and comments in files are skipped.
func readEnv(files, values []string) ([]string, error) {
	var out []string
	add := func(kv string) {
		if strings.Contains(kv, "=") {
			out = append(out, kv)
			return
		}
		if v, ok := os.LookupEnv(kv); ok {
			out = append(out, kv+"="+v)
		}
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimLeft(sc.Text(), " \t")
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if k, _, _ := strings.Cut(line, "="); strings.ContainsAny(k, " \t") || k == "" {
				return nil, fmt.Errorf("%s:%d: variable %q contains whitespaces or is empty", f, n, k)
			}
			add(line)
		}
	}
	for _, v := range values {
		add(v)
	}
	return out, nil
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
		return "", fmt.Errorf("opening seccomp profile (%s) failed: %w", v, err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, b); err != nil {
		return "", fmt.Errorf("--security-opt seccomp: %s is not JSON: %w", v, err)
	}
	return "seccomp=" + compact.String(), nil
}

// parseDevice reads --device HOST[:CONTAINER][:PERMISSIONS].
func parseDevice(s string) (container.DeviceMapping, error) {
	parts := strings.Split(s, ":")
	d := container.DeviceMapping{CgroupPermissions: "rwm"}
	switch len(parts) {
	case 3:
		d.CgroupPermissions = parts[2]
		fallthrough
	case 2:
		if validPermissions(parts[1]) && len(parts) == 2 {
			d.CgroupPermissions = parts[1]
		} else {
			d.PathInContainer = parts[1]
		}
		fallthrough
	case 1:
		d.PathOnHost = parts[0]
	default:
		return d, fmt.Errorf("invalid device specification: %s", s)
	}
	if d.PathInContainer == "" {
		d.PathInContainer = d.PathOnHost
	}
	if !strings.HasPrefix(d.PathOnHost, "/") || !strings.HasPrefix(d.PathInContainer, "/") || !validPermissions(d.CgroupPermissions) {
		return d, fmt.Errorf("invalid device specification: %s", s)
	}
	return d, nil
}

func validPermissions(p string) bool {
	if p == "" {
		return false
	}
	for _, c := range p {
		if !strings.ContainsRune("rwm", c) {
			return false
		}
	}
	return true
}

// parseMount reads --mount, Docker's comma-separated KEY=VALUE fields.
func parseMount(s string) (mount.Mount, error) {
	fields, err := csv.NewReader(strings.NewReader(s)).Read()
	if err != nil {
		return mount.Mount{}, fmt.Errorf("invalid --mount %q: %w", s, err)
	}
	m := mount.Mount{Type: mount.TypeVolume}
	boolValue := func(k, v string, set bool) (bool, error) {
		if !set {
			return true, nil
		}
		switch strings.ToLower(v) {
		case "1", "true":
			return true, nil
		case "0", "false":
			return false, nil
		}
		return false, fmt.Errorf("invalid value for %s: %s", k, v)
	}
	var volumeLabels []string
	for _, field := range fields {
		k, v, set := strings.Cut(field, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		switch k {
		case "type":
			m.Type = mount.Type(v)
		case "source", "src":
			m.Source = v
		case "target", "destination", "dst":
			m.Target = v
		case "readonly", "ro":
			if m.ReadOnly, err = boolValue(k, v, set); err != nil {
				return m, err
			}
		case "consistency":
			m.Consistency = mount.Consistency(v)
		case "bind-propagation":
			if m.BindOptions == nil {
				m.BindOptions = &mount.BindOptions{}
			}
			m.BindOptions.Propagation = mount.Propagation(v)
		case "volume-nocopy":
			if m.VolumeOptions == nil {
				m.VolumeOptions = &mount.VolumeOptions{}
			}
			if m.VolumeOptions.NoCopy, err = boolValue(k, v, set); err != nil {
				return m, err
			}
		case "volume-label":
			volumeLabels = append(volumeLabels, v)
		case "volume-driver":
			if m.VolumeOptions == nil {
				m.VolumeOptions = &mount.VolumeOptions{}
			}
			m.VolumeOptions.DriverConfig = &mount.Driver{Name: v}
		case "tmpfs-size":
			n, err := units.RAMInBytes(v)
			if err != nil {
				return m, fmt.Errorf("invalid value for %s: %s", k, v)
			}
			if m.TmpfsOptions == nil {
				m.TmpfsOptions = &mount.TmpfsOptions{}
			}
			m.TmpfsOptions.SizeBytes = n
		case "tmpfs-mode":
			n, err := strconv.ParseUint(v, 8, 32)
			if err != nil {
				return m, fmt.Errorf("invalid value for %s: %s", k, v)
			}
			if m.TmpfsOptions == nil {
				m.TmpfsOptions = &mount.TmpfsOptions{}
			}
			m.TmpfsOptions.Mode = os.FileMode(n)
		default:
			return m, fmt.Errorf("unexpected key '%s' in '%s'", k, field)
		}
	}
	if m.Target == "" {
		return m, errors.New("target is required")
	}
	if len(volumeLabels) > 0 {
		if m.Type != mount.TypeVolume {
			return m, fmt.Errorf("cannot mix 'volume-*' options with mount type '%s'", m.Type)
		}
		if m.VolumeOptions == nil {
			m.VolumeOptions = &mount.VolumeOptions{}
		}
		m.VolumeOptions.Labels = addKeyValues(map[string]string{}, volumeLabels)
	}
	return m, nil
}
