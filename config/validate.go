package config

import (
	"fmt"
	"net"
	"net/netip"
	"path"
	"slices"
	"strconv"
	"strings"
)

// problems collects the errors of one validation pass, each placed at the
// value of the field it is about.
type problems struct {
	file string
	pos  positions
	list ErrorList
}

func (p *problems) add(field string, format string, args ...any) {
	p.list = append(p.list, Error{File: p.file, Pos: p.pos.value(field), Field: field,
		Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) check(field string, err error) {
	if err != nil {
		p.add(field, "%v", err)
	}
}

// validate checks every value that decoding alone cannot judge.
func (c *Config) validate(pos positions) ErrorList {
	p := &problems{file: c.File, pos: pos}
	p.check("host.hostname", ValidHostname(c.Host.Hostname))
	c.validateNetwork(p)
	c.validateStorage(p)
	c.validateEngine(p)
	c.validateSecurity(p)
	c.validateImages(p)
	switch c.Image.Kernel {
	case KernelCloud, KernelGeneric:
	default:
		p.add("image.kernel", "%q: use %q (VMs) or %q (bare metal)", c.Image.Kernel, KernelCloud, KernelGeneric)
	}
	c.validateContainers(p)
	return p.list
}

func (c *Config) validateEngine(p *problems) {
	if c.Engine.LogMaxFile < 1 {
		p.add("engine.log_max_file", "%d: keep at least 1 log file", c.Engine.LogMaxFile)
	}
	if s := c.Engine.LogMaxSize; s != nil && *s != 0 && *s < 4*KiB {
		p.add("engine.log_max_size", "%s is too small to hold a log line; give at least 4KB, or 0 to never rotate", s)
	}
}

func (c *Config) validateSecurity(p *problems) {
	switch c.Security.SELinux {
	case SELinuxEnforcing, SELinuxPermissive, SELinuxDisabled:
	default:
		p.add("security.selinux", "%q: use \"enforcing\", \"permissive\" or \"disabled\"", c.Security.SELinux)
	}
	switch c.Security.SELinuxFailure {
	case "continue", "rescue":
	default:
		p.add("security.selinux_failure", "%q: use \"continue\" or \"rescue\"", c.Security.SELinuxFailure)
	}
}

func (c *Config) validateImages(p *problems) {
	for _, b := range c.Images.Bundle {
		switch {
		case slices.Contains(BuiltImages, b):
		case strings.HasSuffix(b, ".tar") || strings.HasSuffix(b, ".tar.gz") || strings.HasSuffix(b, ".tgz"):
		default:
			p.add("images.bundle", "%q is neither an image berth builds (%s) nor a tarball (.tar, .tar.gz, .tgz)", b, strings.Join(BuiltImages, ", "))
		}
	}
}

func (c *Config) validateNetwork(p *problems) {
	n := c.Network
	if _, err := net.ParseMAC(n.Interface); err != nil && (len(n.Interface) > 15 || strings.ContainsAny(n.Interface, "/ :")) {
		p.add("network.interface", "%q is neither \"auto\", an interface name nor a MAC address", n.Interface)
	}
	var host netip.Prefix
	switch n.Mode {
	case "dhcp":
		for _, f := range []struct{ name, value string }{{"address", n.Address}, {"gateway", n.Gateway}} {
			if f.value != "" {
				p.add("network."+f.name, "is only used with mode = \"static\" (mode is \"dhcp\")")
			}
		}
	case "static":
		if n.Address == "" {
			p.add("network.mode", "static mode needs network.address, e.g. address = \"192.168.1.10/24\"")
			break
		}
		var err error
		host, err = parseHostPrefix(n.Address)
		if err != nil {
			p.add("network.address", "%v", err)
			break
		}
		if n.Gateway != "" {
			gw, err := netip.ParseAddr(n.Gateway)
			switch {
			case err != nil || !gw.Is4():
				p.add("network.gateway", "%q is not an IPv4 address", n.Gateway)
			case !host.Masked().Contains(gw):
				p.add("network.gateway", "%s is not in the host's subnet %s", gw, host.Masked())
			}
		}
	default:
		p.add("network.mode", "%q is neither \"dhcp\" nor \"static\"", n.Mode)
	}
	for i, d := range n.DNS {
		if _, err := netip.ParseAddr(d); err != nil {
			p.add(fmt.Sprintf("network.dns[%d]", i), "%q is not an IP address", d)
		}
	}

	b := c.Bridge
	if b.Name == "" || len(b.Name) > 15 || strings.ContainsAny(b.Name, "/ ") {
		p.add("bridge.name", "%q is not a valid interface name (at most 15 characters, no / or space)", b.Name)
	}
	bridge, err := parseHostPrefix(b.Address)
	if err != nil {
		p.add("bridge.address", "%v", err)
		return
	}
	if bridge.Bits() > 30 {
		p.add("bridge.address", "subnet %s is too small for containers (use /30 or larger)", bridge.Masked())
	}
	if host.IsValid() && host.Masked().Overlaps(bridge.Masked()) {
		p.add("bridge.address", "container subnet %s overlaps the host's subnet %s; pick another, e.g. 172.18.0.1/16",
			bridge.Masked(), host.Masked())
	}
}

// parseHostPrefix parses an IPv4 address in CIDR form that may be given to
// an interface: not the subnet's network or broadcast address.
func parseHostPrefix(s string) (netip.Prefix, error) {
	pfx, err := netip.ParsePrefix(s)
	if err != nil || !pfx.Addr().Is4() {
		return pfx, fmt.Errorf("%q is not an IPv4 address in CIDR form, e.g. \"172.17.0.1/16\"", s)
	}
	if pfx.Bits() < 31 {
		network := pfx.Masked().Addr()
		if pfx.Addr() == network || pfx.Addr() == BroadcastAddr(pfx) {
			return pfx, fmt.Errorf("%s is the network or broadcast address of %s, not a host address", pfx.Addr(), pfx.Masked())
		}
	}
	return pfx, nil
}

// BroadcastAddr is the last address of p's subnet.
func BroadcastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	hostBits := 32 - p.Bits()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= 1<<hostBits - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

func (c *Config) validateStorage(p *problems) {
	s := c.Storage
	switch {
	case s.StateDisk == "auto" || s.StateDisk == "none":
	case IsDeviceName(s.StateDisk):
	default:
		p.add("storage.state_disk", "%q is not \"auto\", \"none\" or a device (/dev/vdb, /dev/disk/by-id/..., LABEL=name, PARTLABEL=name)", s.StateDisk)
	}
	if (s.DataDevice == "") != (s.MetadataDevice == "") {
		p.add("storage.data_device", "data_device and metadata_device go together: name both block devices, or neither for loopback files")
	}
	for _, f := range []struct{ name, value string }{{"data_device", s.DataDevice}, {"metadata_device", s.MetadataDevice}} {
		if f.value != "" && !IsDeviceName(f.value) {
			p.add("storage."+f.name, "%q is not a device (/dev/vdc, /dev/disk/by-id/..., LABEL=name, PARTLABEL=name)", f.value)
		}
	}
	if s.DataDevice != "" && s.DataDevice == s.MetadataDevice {
		p.add("storage.metadata_device", "data and metadata must be different devices")
	}
	if s.MetadataSize < 2*MiB {
		p.add("storage.metadata_size", "%s is too small; the thin pool needs at least 2MiB of metadata", s.MetadataSize)
	}
	if s.BaseSize < 64*MiB {
		p.add("storage.base_size", "%s is too small; use at least 64MiB", s.BaseSize)
	}
	if s.DataDevice == "" && s.BaseSize > s.DataSize {
		p.add("storage.base_size", "%s is larger than the pool's data_size %s", s.BaseSize, s.DataSize)
	}
	if _, err := ParsePercent(s.MinFreeSpace); err != nil {
		p.add("storage.min_free_space", "%v", err)
	}
}

// ParsePercent parses a percentage such as "10%" into 0..99.
func ParsePercent(s string) (int, error) {
	num, ok := strings.CutSuffix(s, "%")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n < 0 || n > 99 {
		return 0, fmt.Errorf("%q is not a percentage from 0%% to 99%%, e.g. \"10%%\"", s)
	}
	return n, nil
}

func (c *Config) validateContainers(p *problems) {
	index := map[string]int{}
	published := map[string]string{} // "ip:port/proto" → field that published it
	for i, ct := range c.Containers {
		f := func(name string) string { return fmt.Sprintf("container[%d].%s", i, name) }
		if ct.Name == "" {
			p.add(fmt.Sprintf("container[%d]", i), "name is missing; every [[container]] needs a name")
		} else if err := ValidName(ct.Name); err != nil {
			p.add(f("name"), "%v", err)
		} else if j, dup := index[ct.Name]; dup {
			p.add(f("name"), "%q is already the name of container[%d] (line %d)", ct.Name, j, p.pos.value(fmt.Sprintf("container[%d].name", j)).Line)
		} else {
			index[ct.Name] = i
		}
		if ct.Image == "" {
			p.add(fmt.Sprintf("container[%d]", i), "image is missing, e.g. image = \"busybox:latest\"")
		} else {
			p.check(f("image"), ValidImageRef(ct.Image))
		}
		for j, e := range ct.Env {
			if k, _, ok := strings.Cut(e, "="); !ok || k == "" || strings.ContainsAny(k, " \t") {
				p.add(fmt.Sprintf("%s[%d]", f("env"), j), "%q is not of the form KEY=value", e)
			}
		}
		if ct.Workdir != "" && !path.IsAbs(ct.Workdir) {
			p.add(f("workdir"), "%q is not an absolute path", ct.Workdir)
		}
		for j, spec := range ct.Ports {
			field := fmt.Sprintf("%s[%d]", f("ports"), j)
			m, err := ParsePort(spec)
			if err != nil {
				p.add(field, "%v", err)
				continue
			}
			if m.HostPort == 0 {
				continue
			}
			for _, key := range publishKeys(m) {
				if prev, dup := published[key]; dup {
					p.add(field, "host port %d/%s is already published by %s", m.HostPort, m.Proto, prev)
					break
				}
			}
			published[fmt.Sprintf("%s:%d/%s", m.HostIP, m.HostPort, m.Proto)] = field
		}
		for j, spec := range ct.Volumes {
			_, err := ParseVolume(spec)
			p.check(fmt.Sprintf("%s[%d]", f("volumes"), j), err)
		}
		_, err := ParseRestart(ct.Restart)
		p.check(f("restart"), err)
		if ct.Memory != 0 && ct.Memory < 6*MiB {
			p.add(f("memory"), "%s is below the minimum memory limit of 6MiB", ct.Memory)
		}
		if ct.CPUs < 0 {
			p.add(f("cpus"), "%v is negative", ct.CPUs)
		}
		if ct.PidsLimit < -1 {
			p.add(f("pids_limit"), "%d is not a limit (use -1 or 0 for none)", ct.PidsLimit)
		}
		if ct.Hostname != "" {
			p.check(f("hostname"), ValidHostname(ct.Hostname))
		}
		if strings.ContainsAny(ct.User, " \t\n") {
			p.add(f("user"), "%q is not of the form user[:group] or uid[:gid]", ct.User)
		}
		for j, l := range ct.Links {
			_, err := ParseLink(l)
			p.check(fmt.Sprintf("%s[%d]", f("links"), j), err)
		}
	}
	c.validateDependencies(p, index)
}

// publishKeys lists the bindings a mapping would clash with: the same
// address, or any address when either side binds all of them.
func publishKeys(m PortMapping) []string {
	keys := []string{fmt.Sprintf(":%d/%s", m.HostPort, m.Proto)}
	if m.HostIP != "" {
		keys = append(keys, fmt.Sprintf("%s:%d/%s", m.HostIP, m.HostPort, m.Proto))
	}
	return keys
}

// validateDependencies checks that depends_on and links name declared
// containers and that they form no cycle.
func (c *Config) validateDependencies(p *problems, index map[string]int) {
	for i, ct := range c.Containers {
		for _, d := range c.dependencies(i) {
			field := fmt.Sprintf("container[%d].%s[%d]", i, d.key, d.index)
			switch target, ok := index[d.name]; {
			case !ok:
				p.add(field, "%q is not the name of any [[container]]", d.name)
			case target == i:
				p.add(field, "container %q cannot depend on itself", ct.Name)
			}
		}
	}
	if cycle := c.findCycle(index); cycle != nil {
		first := cycle[0]
		names := make([]string, len(cycle))
		for k, i := range cycle {
			names[k] = c.Containers[i].Name
		}
		p.add(fmt.Sprintf("container[%d].%s", first, c.dependencies(first)[0].key),
			"dependency cycle: %s -> %s", strings.Join(names, " -> "), names[0])
	}
}

type dependency struct {
	name  string
	key   string // depends_on or links
	index int
}

// dependencies lists what container i must wait for: its depends_on
// entries and the containers it links to.
func (c *Config) dependencies(i int) []dependency {
	var out []dependency
	for j, d := range c.Containers[i].DependsOn {
		out = append(out, dependency{name: d, key: "depends_on", index: j})
	}
	for j, l := range c.Containers[i].Links {
		name, _, _ := strings.Cut(l, ":")
		out = append(out, dependency{name: name, key: "links", index: j})
	}
	return out
}

// findCycle returns the containers of one dependency cycle, in order, or nil.
func (c *Config) findCycle(index map[string]int) []int {
	const (
		unvisited = iota
		active
		done
	)
	state := make([]int, len(c.Containers))
	var stack []int
	var visit func(i int) []int
	visit = func(i int) []int {
		state[i] = active
		stack = append(stack, i)
		for _, d := range c.dependencies(i) {
			t, ok := index[d.name]
			if !ok || t == i {
				continue
			}
			switch state[t] {
			case active:
				for k, s := range stack {
					if s == t {
						return append([]int(nil), stack[k:]...)
					}
				}
			case unvisited:
				if cyc := visit(t); cyc != nil {
					return cyc
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[i] = done
		return nil
	}
	for i := range c.Containers {
		if state[i] == unvisited {
			if cyc := visit(i); cyc != nil {
				return cyc
			}
		}
	}
	return nil
}

// StartOrder returns the containers ordered so that each comes after the
// ones it depends on or links to; otherwise declaration order is kept.
// The config must have been validated (no cycles).
func (c *Config) StartOrder() []Container {
	index := map[string]int{}
	for i, ct := range c.Containers {
		index[ct.Name] = i
	}
	placed := make([]bool, len(c.Containers))
	var out []Container
	var place func(i int)
	place = func(i int) {
		if placed[i] {
			return
		}
		placed[i] = true
		for _, d := range c.dependencies(i) {
			if t, ok := index[d.name]; ok {
				place(t)
			}
		}
		out = append(out, c.Containers[i])
	}
	for i := range c.Containers {
		place(i)
	}
	return out
}

// IsDeviceName reports whether s names a block device as the config may:
// a path under /dev, LABEL=name or PARTLABEL=name.
func IsDeviceName(s string) bool {
	for _, prefix := range []string{"/dev/", "LABEL=", "PARTLABEL="} {
		if rest, ok := strings.CutPrefix(s, prefix); ok && rest != "" {
			return true
		}
	}
	return false
}
