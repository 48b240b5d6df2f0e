package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/opencontainers/runtime-spec/specs-go"

	"berth/errdefs"
	"berth/runtime"
)

// securityOpts are a container's --security-opt, read.
type securityOpts struct {
	// seccomp is "" for Docker's default profile, "unconfined", or a
	// profile's JSON (Docker's CLI sends the file's contents).
	seccomp    string
	noNewPrivs bool
	// label are the label= options, as label.InitLabels takes them:
	// disable, level:..., type:..., filetype:..., user:..., role:...
	label []string
}

// parseSecurityOpts reads --security-opt values as Docker does, in both
// the key=value and the old key:value forms. An option berth does not
// carry out is an error.
func parseSecurityOpts(opts []string) (securityOpts, error) {
	s := securityOpts{noNewPrivs: true}
	for _, o := range opts {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			k, v, ok = strings.Cut(o, ":")
		}
		switch k {
		case "seccomp":
			switch {
			case v == "unconfined":
				s.seccomp = "unconfined"
			case v == "builtin" || v == "":
				s.seccomp = ""
			case json.Valid([]byte(v)):
				s.seccomp = v
			default:
				return s, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("--security-opt %q: give seccomp=unconfined, seccomp=builtin or a profile (the CLI reads seccomp=FILE.json and sends its contents)", o))
			}
		case "no-new-privileges":
			b := true
			if ok {
				var err error
				if b, err = strconv.ParseBool(v); err != nil {
					return s, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("--security-opt %q: no-new-privileges takes true or false", o))
				}
			}
			s.noNewPrivs = b
		case "apparmor":
			// berth's kernel runs no AppArmor: "unconfined" is what it
			// gives anyway; a profile it cannot apply.
			if v != "unconfined" {
				return s, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("--security-opt %q: this host has no AppArmor; only apparmor=unconfined is accepted", o))
			}
		case "label":
			kind, _, _ := strings.Cut(v, ":")
			switch kind {
			case "disable", "level", "type", "filetype", "user", "role":
				s.label = append(s.label, v)
			default:
				return s, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("--security-opt %q: use label=disable, label=level:LEVEL, label=type:TYPE, label=user:USER or label=role:ROLE", o))
			}
		default:
			return s, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("--security-opt %q is not supported (berth knows seccomp=, no-new-privileges, label= and apparmor=unconfined)", o))
		}
	}
	return s, nil
}

// networkModes are the --network values berth carries out.
var networkModes = map[string]bool{"": true, "default": true, "bridge": true, "none": true, "host": true}

// logOptions are the json-file log options berth carries out.
var logOptions = map[string]bool{"max-size": true, "max-file": true}

// checkHostConfig refuses, before anything is made, what berth cannot
// carry out: a bad capability, security option, device, network mode,
// log option, ulimit or restart policy.
func checkHostConfig(hc *container.HostConfig) error {
	if _, err := runtime.Caps(hc.CapAdd, hc.CapDrop); err != nil {
		return errdefs.Kind(errdefs.ErrInvalid, err)
	}
	sec, err := parseSecurityOpts(hc.SecurityOpt)
	if err != nil {
		return err
	}
	if sec.seccomp != "" && sec.seccomp != "unconfined" {
		caps, _ := runtime.Caps(hc.CapAdd, hc.CapDrop)
		if _, err := runtime.SeccompProfile(sec.seccomp, caps); err != nil {
			return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("--security-opt seccomp: %w", err))
		}
	}
	if _, err := devices(hc); err != nil {
		return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("--device: %w", err))
	}
	mode := string(hc.NetworkMode)
	if !networkModes[mode] {
		if strings.HasPrefix(mode, "container:") {
			return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("--network %s: joining another container's network is not supported", mode))
		}
		return errdefs.Kind(errdefs.ErrNotFound, fmt.Errorf("network %s not found", mode))
	}
	if t := hc.LogConfig.Type; t != "" && t != "json-file" {
		return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("--log-driver %s: berth keeps logs with json-file only", t))
	}
	for k, v := range hc.LogConfig.Config {
		if !logOptions[k] {
			return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("--log-opt %s: json-file options berth supports are max-size and max-file", k))
		}
		if _, _, err := logLimits(map[string]string{k: v}, 0, 0); err != nil {
			return err
		}
	}
	for _, u := range hc.Ulimits {
		if err := runtime.CheckRlimit(runtime.Rlimit{Name: u.Name, Soft: uint64(u.Soft), Hard: uint64(u.Hard)}); err != nil {
			return errdefs.Kind(errdefs.ErrInvalid, err)
		}
	}
	switch hc.RestartPolicy.Name {
	case container.RestartPolicyDisabled, container.RestartPolicyAlways, container.RestartPolicyUnlessStopped:
		if hc.RestartPolicy.MaximumRetryCount != 0 {
			return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid restart policy: maximum retry count can only be used with 'on-failure'"))
		}
	case container.RestartPolicyOnFailure:
		if hc.RestartPolicy.MaximumRetryCount < 0 {
			return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid restart policy: maximum retry count cannot be negative"))
		}
	default:
		return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid restart policy '%s'", hc.RestartPolicy.Name))
	}
	if hc.AutoRemove && hc.RestartPolicy.Name != container.RestartPolicyDisabled {
		return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("can't create 'AutoRemove' container with restart policy"))
	}
	if hc.Memory > 0 && hc.MemorySwap > 0 && hc.MemorySwap < hc.Memory {
		return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("Minimum memoryswap limit should be larger than memory limit, see usage"))
	}
	if hc.Memory != 0 && hc.Memory < 6<<20 {
		return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("Minimum memory limit allowed is 6MB"))
	}
	if hc.NanoCPUs < 0 || hc.CPUShares < 0 {
		return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("--cpus and --cpu-shares cannot be negative"))
	}
	for _, h := range hc.ExtraHosts {
		name, addr, ok := strings.Cut(h, ":")
		if !ok || name == "" || (net.ParseIP(addr) == nil && addr != "host-gateway") {
			return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid argument %q for --add-host: give NAME:ADDRESS", h))
		}
	}
	for _, d := range hc.DNS {
		if net.ParseIP(d) == nil {
			return errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("%s is not an ip address", d))
		}
	}
	return nil
}

// devices are the device nodes a container's /dev gets besides the
// defaults.
func devices(hc *container.HostConfig) ([]runtime.Device, error) {
	if hc.Privileged {
		return runtime.HostDevices()
	}
	var out []runtime.Device
	for _, d := range hc.Devices {
		dev, err := runtime.HostDevice(d.PathOnHost, d.PathInContainer, d.CgroupPermissions)
		if err != nil {
			return nil, err
		}
		out = append(out, dev)
	}
	return out, nil
}

// ParseDevice reads --device HOST[:CONTAINER][:PERMISSIONS], as Docker's
// CLI does.
func ParseDevice(s string) (container.DeviceMapping, error) {
	parts := strings.Split(s, ":")
	d := container.DeviceMapping{PathOnHost: parts[0], CgroupPermissions: "rwm"}
	switch len(parts) {
	case 1:
	case 2:
		if strings.Trim(parts[1], "rwm") == "" && parts[1] != "" {
			d.CgroupPermissions = parts[1]
		} else {
			d.PathInContainer = parts[1]
		}
	case 3:
		d.PathInContainer, d.CgroupPermissions = parts[1], parts[2]
	default:
		return d, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("--device %q: use HOST[:CONTAINER][:PERMISSIONS]", s))
	}
	if !filepath.IsAbs(d.PathOnHost) || (d.PathInContainer != "" && !filepath.IsAbs(d.PathInContainer)) {
		return d, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("--device %q: paths must be absolute", s))
	}
	if d.PathInContainer == "" {
		d.PathInContainer = d.PathOnHost
	}
	return d, nil
}

// process is what a container, or an exec in it, runs as: its user,
// capabilities, no_new_privs, SELinux label, seccomp profile and resource
// limits.
func (e *Engine) process(c *Container, args, env []string, cwd, user string) (runtime.Process, error) {
	return e.processAs(c, args, env, cwd, user, c.HostConfig.Privileged)
}

// processAs is process with privileged standing for the container's own
// setting (docker exec --privileged).
func (e *Engine) processAs(c *Container, args, env []string, cwd, user string, privileged bool) (runtime.Process, error) {
	hc := c.HostConfig
	sec, err := parseSecurityOpts(hc.SecurityOpt)
	if err != nil {
		return runtime.Process{}, err
	}
	caps := runtime.AllCaps()
	if !privileged {
		if caps, err = runtime.Caps(hc.CapAdd, hc.CapDrop); err != nil {
			return runtime.Process{}, err
		}
	}
	var profile *specs.LinuxSeccomp
	if !privileged && sec.seccomp != "unconfined" {
		if profile, err = runtime.SeccompProfile(sec.seccomp, caps); err != nil {
			return runtime.Process{}, err
		}
	}
	p := runtime.Process{Args: args, Env: env, Cwd: cwd, User: user, Capabilities: caps,
		NoNewPrivileges: sec.noNewPrivs, Label: c.ProcessLabel, Seccomp: profile}
	for _, u := range hc.Ulimits {
		p.Rlimits = append(p.Rlimits, runtime.Rlimit{Name: u.Name, Soft: uint64(u.Soft), Hard: uint64(u.Hard)})
	}
	return p, nil
}

// runtimeSpec is the runtime's spec of container c's first process, on
// root device dev mounted at rootMount, and its cgroup's limits.
func (e *Engine) runtimeSpec(c *Container, dev, rootMount string) (*runtime.Spec, runtime.Resources, error) {
	hc := c.HostConfig
	args := append([]string{c.Path}, c.Args...)
	init := ""
	if hc.Init != nil && *hc.Init {
		if e.opts.InitBinary == "" {
			return nil, runtime.Resources{}, errdefs.Kind(errdefs.ErrInvalid, errors.New("--init: this host carries no init program"))
		}
		init = e.opts.InitBinary
		args = append([]string{runtime.InitPath, "--"}, args...)
	}
	p, err := e.process(c, args, e.runEnv(c), c.Config.WorkingDir, c.Config.User)
	if err != nil {
		return nil, runtime.Resources{}, err
	}
	devs, err := devices(hc)
	if err != nil {
		return nil, runtime.Resources{}, err
	}
	s := &runtime.Spec{ID: c.Id, Hostname: c.Config.Hostname, Process: p, Devices: devs, Privileged: hc.Privileged,
		Root:        runtime.Root{Device: dev, MountPoint: rootMount, ReadOnly: hc.ReadonlyRootfs, MountLabel: c.MountLabel},
		MaskedPaths: runtime.DefaultMaskedPaths, ReadonlyPaths: runtime.DefaultReadonlyPaths, HostNetwork: networkMode(hc) == "host",
		Init: init}
	for _, m := range c.Mounts {
		if m.Type == mount.TypeTmpfs {
			s.Mounts = append(s.Mounts, runtime.Mount{Target: m.Destination, Tmpfs: true, Data: m.Mode})
			continue
		}
		s.Mounts = append(s.Mounts, runtime.Mount{Source: m.Source, Target: m.Destination, ReadOnly: !m.RW})
	}
	for _, f := range []string{"hosts", "hostname", "resolv.conf"} {
		s.Mounts = append(s.Mounts, runtime.Mount{Source: filepath.Join(e.dir(c.Id), f), Target: "/etc/" + f, File: true})
	}
	res := resources(hc)
	res.Devices = runtime.DeviceRules(devs, hc.Privileged)
	return s, res, nil
}

// resources are a container's cgroup limits.
func resources(hc *container.HostConfig) runtime.Resources {
	r := runtime.Resources{Memory: hc.Memory, MemorySwap: hc.MemorySwap, NanoCPUs: hc.NanoCPUs, CPUShares: hc.CPUShares}
	if hc.PidsLimit != nil {
		r.PidsLimit = *hc.PidsLimit
	}
	return r
}
