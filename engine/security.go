package engine

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/opencontainers/runtime-spec/specs-go"

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
				return s, fmt.Errorf("%w: --security-opt %q: give seccomp=unconfined, seccomp=builtin or a profile (the CLI reads seccomp=FILE.json and sends its contents)", ErrInvalid, o)
			}
		case "no-new-privileges":
			b := true
			if ok {
				var err error
				if b, err = strconv.ParseBool(v); err != nil {
					return s, fmt.Errorf("%w: --security-opt %q: no-new-privileges takes true or false", ErrInvalid, o)
				}
			}
			s.noNewPrivs = b
		case "apparmor":
			// berth's kernel runs no AppArmor: "unconfined" is what it
			// gives anyway; a profile it cannot apply.
			if v != "unconfined" {
				return s, fmt.Errorf("%w: --security-opt %q: this host has no AppArmor; only apparmor=unconfined is accepted", ErrInvalid, o)
			}
		case "label":
			kind, _, _ := strings.Cut(v, ":")
			switch kind {
			case "disable", "level", "type", "filetype", "user", "role":
				s.label = append(s.label, v)
			default:
				return s, fmt.Errorf("%w: --security-opt %q: use label=disable, label=level:LEVEL, label=type:TYPE, label=user:USER or label=role:ROLE", ErrInvalid, o)
			}
		default:
			return s, fmt.Errorf("%w: --security-opt %q is not supported (berth knows seccomp=, no-new-privileges, label= and apparmor=unconfined)", ErrInvalid, o)
		}
	}
	return s, nil
}

// networkModes are the --network values berth carries out.
var networkModes = map[string]bool{"": true, "default": true, "bridge": true, "none": true, "host": true}

// logOptions are the json-file log options berth carries out.
var logOptions = map[string]bool{"max-size": true, "max-file": true}

// checkHostConfig refuses, before anything is made, what berth cannot
// carry out: a bad capability, security option, device, network mode or
// log option.
func checkHostConfig(hc HostConfig) error {
	if _, err := runtime.Caps(hc.CapAdd, hc.CapDrop); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	sec, err := parseSecurityOpts(hc.SecurityOpt)
	if err != nil {
		return err
	}
	if sec.seccomp != "" && sec.seccomp != "unconfined" {
		caps, _ := runtime.Caps(hc.CapAdd, hc.CapDrop)
		if _, err := runtime.SeccompProfile(sec.seccomp, caps); err != nil {
			return fmt.Errorf("%w: --security-opt seccomp: %w", ErrInvalid, err)
		}
	}
	if _, err := devices(hc); err != nil {
		return fmt.Errorf("%w: --device: %w", ErrInvalid, err)
	}
	if !networkModes[hc.NetworkMode] {
		if strings.HasPrefix(hc.NetworkMode, "container:") {
			return fmt.Errorf("%w: --network %s: joining another container's network is not supported", ErrInvalid, hc.NetworkMode)
		}
		return fmt.Errorf("%w: network %s not found: berth has the networks bridge, host and none", ErrNotFound, hc.NetworkMode)
	}
	if t := hc.LogConfig.Type; t != "" && t != "json-file" {
		return fmt.Errorf("%w: --log-driver %s: berth keeps logs with json-file only", ErrInvalid, t)
	}
	for k, v := range hc.LogConfig.Config {
		if !logOptions[k] {
			return fmt.Errorf("%w: --log-opt %s: json-file options berth supports are max-size and max-file", ErrInvalid, k)
		}
		if _, _, err := logLimits(map[string]string{k: v}, 0, 0); err != nil {
			return err
		}
	}
	return nil
}

// devices are the device nodes a container's /dev gets besides the
// defaults.
func devices(hc HostConfig) ([]runtime.Device, error) {
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
func ParseDevice(s string) (DeviceMapping, error) {
	parts := strings.Split(s, ":")
	d := DeviceMapping{PathOnHost: parts[0], CgroupPermissions: "rwm"}
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
		return d, fmt.Errorf("%w: --device %q: use HOST[:CONTAINER][:PERMISSIONS]", ErrInvalid, s)
	}
	if !filepath.IsAbs(d.PathOnHost) || (d.PathInContainer != "" && !filepath.IsAbs(d.PathInContainer)) {
		return d, fmt.Errorf("%w: --device %q: paths must be absolute", ErrInvalid, s)
	}
	if d.PathInContainer == "" {
		d.PathInContainer = d.PathOnHost
	}
	return d, nil
}

// process is what a container, or an exec in it, runs as: its user,
// capabilities, no_new_privs, SELinux label and seccomp profile.
func (e *Engine) process(c *Container, args, env []string, cwd, user string) (runtime.Process, error) {
	hc := c.HostConfig
	sec, err := parseSecurityOpts(hc.SecurityOpt)
	if err != nil {
		return runtime.Process{}, err
	}
	caps := runtime.AllCaps()
	if !hc.Privileged {
		if caps, err = runtime.Caps(hc.CapAdd, hc.CapDrop); err != nil {
			return runtime.Process{}, err
		}
	}
	var profile *specs.LinuxSeccomp
	if !hc.Privileged && sec.seccomp != "unconfined" {
		if profile, err = runtime.SeccompProfile(sec.seccomp, caps); err != nil {
			return runtime.Process{}, err
		}
	}
	return runtime.Process{Args: args, Env: env, Cwd: cwd, User: user, Capabilities: caps,
		NoNewPrivileges: sec.noNewPrivs, Label: c.ProcessLabel, Seccomp: profile}, nil
}

// runtimeSpec is the runtime's spec of container c's first process, on
// root device dev mounted at rootMount, and its cgroup's limits.
func (e *Engine) runtimeSpec(c *Container, dev, rootMount string) (*runtime.Spec, runtime.Resources, error) {
	hc := c.HostConfig
	p, err := e.process(c, append([]string{c.Path}, c.Args...), e.runEnv(c), c.Config.WorkingDir, c.Config.User)
	if err != nil {
		return nil, runtime.Resources{}, err
	}
	devs, err := devices(hc)
	if err != nil {
		return nil, runtime.Resources{}, err
	}
	s := &runtime.Spec{ID: c.Id, Hostname: c.Config.Hostname, Process: p, Devices: devs, Privileged: hc.Privileged,
		Root:        runtime.Root{Device: dev, MountPoint: rootMount, ReadOnly: hc.ReadonlyRootfs, MountLabel: c.MountLabel},
		MaskedPaths: runtime.DefaultMaskedPaths, ReadonlyPaths: runtime.DefaultReadonlyPaths, HostNetwork: hc.Network() == "host"}
	for _, m := range c.Mounts {
		s.Mounts = append(s.Mounts, runtime.Mount{Source: m.Source, Target: m.Destination, ReadOnly: !m.RW})
	}
	for _, f := range []string{"hosts", "hostname", "resolv.conf"} {
		s.Mounts = append(s.Mounts, runtime.Mount{Source: filepath.Join(e.dir(c.Id), f), Target: "/etc/" + f, File: true})
	}
	res := runtime.Resources{Memory: hc.Memory, NanoCPUs: hc.NanoCpus, PidsLimit: hc.PidsLimit,
		Devices: runtime.DeviceRules(devs, hc.Privileged)}
	return s, res, nil
}
