package config

import (
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"strconv"
	"strings"
)

// PortMapping is one published port, as written with docker run -p.
type PortMapping struct {
	HostIP        string // "" means every address
	HostPort      uint16 // 0 means a random port from the ephemeral range
	ContainerPort uint16
	Proto         string // "tcp" or "udp"
}

// ParsePort parses "[ip:][hostPort:]containerPort[/proto]".
func ParsePort(spec string) (PortMapping, error) {
	m := PortMapping{Proto: "tcp"}
	rest := spec
	if i := strings.LastIndex(rest, "/"); i >= 0 {
		m.Proto = rest[i+1:]
		rest = rest[:i]
		if m.Proto != "tcp" && m.Proto != "udp" {
			return m, fmt.Errorf("port %q: protocol %q is neither tcp nor udp", spec, m.Proto)
		}
	}
	parts := strings.Split(rest, ":")
	var host, ctr string
	switch len(parts) {
	case 1:
		ctr = parts[0]
	case 2:
		host, ctr = parts[0], parts[1]
	case 3:
		m.HostIP, host, ctr = parts[0], parts[1], parts[2]
		ip, err := netip.ParseAddr(m.HostIP)
		if err != nil || !ip.Is4() {
			return m, fmt.Errorf("port %q: %q is not an IPv4 address", spec, m.HostIP)
		}
	default:
		return m, fmt.Errorf("port %q is not of the form [ip:][hostPort:]containerPort[/tcp|udp]", spec)
	}
	var err error
	if m.ContainerPort, err = parsePortNumber(spec, "container", ctr); err != nil {
		return m, err
	}
	if host != "" {
		if m.HostPort, err = parsePortNumber(spec, "host", host); err != nil {
			return m, err
		}
	}
	return m, nil
}

func parsePortNumber(spec, which, s string) (uint16, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("port %q: %s port %q is not a number", spec, which, s)
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %q: %s port %d is out of range 1-65535", spec, which, n)
	}
	return uint16(n), nil
}

// String formats m as docker ps shows a published port.
func (m PortMapping) String() string {
	ip := m.HostIP
	if ip == "" {
		ip = "0.0.0.0"
	}
	return fmt.Sprintf("%s:%d->%d/%s", ip, m.HostPort, m.ContainerPort, m.Proto)
}

// Volume is one bind mount, as written with docker run -v.
type Volume struct {
	HostPath      string
	ContainerPath string
	ReadOnly      bool
	// Relabel is Docker's SELinux option: "z" labels the host path for
	// every container to share, "Z" for this container alone; "" leaves
	// its label.
	Relabel string
}

// ParseVolume parses "/host/path:/container/path[:OPTIONS]", OPTIONS
// being comma-separated ro or rw, and z or Z, as docker run -v's.
func ParseVolume(spec string) (Volume, error) {
	parts := strings.Split(spec, ":")
	var v Volume
	switch len(parts) {
	case 3:
		seen := map[string]bool{}
		for _, o := range strings.Split(parts[2], ",") {
			switch o {
			case "ro":
				v.ReadOnly = true
			case "rw":
			case "z", "Z":
				v.Relabel = o
			default:
				return v, fmt.Errorf("volume %q: option %q is none of ro, rw, z and Z", spec, o)
			}
			kind := "label"
			if o == "ro" || o == "rw" {
				kind = "mode"
			}
			if seen[kind] {
				return v, fmt.Errorf("volume %q: options %q say two things of one kind", spec, parts[2])
			}
			seen[kind] = true
		}
		fallthrough
	case 2:
		v.HostPath, v.ContainerPath = parts[0], parts[1]
	default:
		return v, fmt.Errorf("volume %q is not of the form /host/path:/container/path[:ro]", spec)
	}
	if !path.IsAbs(v.HostPath) {
		return v, fmt.Errorf("volume %q: host path %q is not absolute", spec, v.HostPath)
	}
	if !path.IsAbs(v.ContainerPath) {
		return v, fmt.Errorf("volume %q: container path %q is not absolute", spec, v.ContainerPath)
	}
	if path.Clean(v.ContainerPath) == "/" {
		return v, fmt.Errorf("volume %q: cannot mount over the container's root", spec)
	}
	return v, nil
}

// RestartPolicy is a container's restart policy.
type RestartPolicy struct {
	Name              string // no, always, unless-stopped, on-failure
	MaximumRetryCount int    // on-failure only; 0 means no limit
}

// ParseRestart parses no, always, unless-stopped or on-failure[:N].
func ParseRestart(s string) (RestartPolicy, error) {
	name, count, hasCount := strings.Cut(s, ":")
	p := RestartPolicy{Name: name}
	switch name {
	case "no", "always", "unless-stopped":
		if hasCount {
			return p, fmt.Errorf("restart policy %q takes no retry count (only on-failure does)", s)
		}
	case "on-failure":
		if hasCount {
			n, err := strconv.Atoi(count)
			if err != nil || n < 0 {
				return p, fmt.Errorf("restart policy %q: retry count %q is not a whole number >= 0", s, count)
			}
			p.MaximumRetryCount = n
		}
	default:
		return p, fmt.Errorf("restart policy %q is not one of no, always, unless-stopped, on-failure[:N]", s)
	}
	return p, nil
}

// nameRE is Docker's rule for container names.
var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// ValidName reports whether s may name a container.
func ValidName(s string) error {
	if !nameRE.MatchString(s) {
		return fmt.Errorf("name %q is not valid: use letters, digits and _.- , starting with a letter or digit", s)
	}
	return nil
}

var hostnameLabelRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`)

// ValidHostname reports whether s is a valid host name (RFC 1123).
func ValidHostname(s string) error {
	if len(s) == 0 || len(s) > 64 {
		return fmt.Errorf("hostname %q must be 1 to 64 characters", s)
	}
	for _, label := range strings.Split(s, ".") {
		if !hostnameLabelRE.MatchString(label) {
			return fmt.Errorf("hostname %q is not valid: use letters, digits and -, in dot-separated labels", s)
		}
	}
	return nil
}

// imageRefRE accepts the shape of an image reference:
// [registry[:port]/]repo[/more][:tag][@digest].
var imageRefRE = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$`)

// ValidImageRef reports whether s has the shape of an image reference.
func ValidImageRef(s string) error {
	if !imageRefRE.MatchString(s) {
		return fmt.Errorf("image %q is not a valid reference (e.g. busybox, busybox:latest, registry:5000/team/app:1.0)", s)
	}
	return nil
}

// Link is a "name[:alias]" link to another container.
type Link struct {
	Name, Alias string
}

// ParseLink parses "name[:alias]"; the alias defaults to the name.
func ParseLink(s string) (Link, error) {
	name, alias, _ := strings.Cut(s, ":")
	if alias == "" {
		alias = name
	}
	if err := ValidName(name); err != nil {
		return Link{}, fmt.Errorf("link %q: %w", s, err)
	}
	if err := ValidHostname(alias); err != nil {
		return Link{}, fmt.Errorf("link %q: alias: %w", s, err)
	}
	return Link{Name: name, Alias: alias}, nil
}
