// Package config reads and validates berth.toml, the one file that describes
// a berth host: its name, network, storage, container bridge and the
// containers it runs.
//
// Decoding is strict: an unknown key, a value of the wrong type or an
// impossible value is an error that names the file, line, column and field,
// so that a mistake is caught by `berth config check` on the build machine
// rather than on the console of a booted host.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"

	"github.com/BurntSushi/toml"
)

// Config is the whole of berth.toml.
type Config struct {
	Host       Host        `toml:"host"`
	Network    Network     `toml:"network"`
	Storage    Storage     `toml:"storage"`
	Bridge     Bridge      `toml:"bridge"`
	Engine     Engine      `toml:"engine"`
	Security   Security    `toml:"security"`
	Images     Images      `toml:"images"`
	Image      Image       `toml:"image"`
	Containers []Container `toml:"container"`

	// File is the name the config was read from, for messages.
	File string `toml:"-"`
}

// Images is the [images] section: the images the appliance carries.
type Images struct {
	// Bundle lists the images to bundle, loaded into the pool at first
	// boot (and again only when they change): the names of images berth's
	// build makes from Debian packages (BuiltImages), or docker save / OCI
	// tarballs (.tar, .tar.gz, .tgz), relative to the config file. Default
	// ["busybox"].
	Bundle []string `toml:"bundle"`
}

// Image is the [image] section: how make image builds the appliance.
type Image struct {
	// Kernel is the kernel flavour: "cloud" (default: Debian's cloud
	// kernel, the smallest, for VMs) or "generic" (Debian's generic
	// kernel with the disk, USB and network drivers of common PCs and
	// servers, for bare metal).
	Kernel string `toml:"kernel"`
}

// Kernel flavours.
const (
	KernelCloud   = "cloud"
	KernelGeneric = "generic"
)

// BuiltImages are the images berth's build makes from Debian packages:
// busybox:latest from busybox-static, and python:bookworm, a debootstrap
// tree with python3.
var BuiltImages = []string{"busybox", "python"}

// BundleList returns the images to bundle, the default when none are set.
func (i Images) BundleList() []string {
	if i.Bundle == nil {
		return []string{"busybox"}
	}
	return i.Bundle
}

// Host is the [host] section.
type Host struct {
	// Hostname of the berth host. Default "berth".
	Hostname string `toml:"hostname"`
}

// Network is the [network] section: the host's own network interface.
type Network struct {
	// Interface is the host interface to configure: "auto" (default: the
	// first Ethernet interface whose link comes up with a carrier), a name
	// such as "eth0", or a MAC address such as "52:54:00:12:34:56".
	Interface string `toml:"interface"`
	// Mode is "dhcp" (default) or "static".
	Mode string `toml:"mode"`
	// Address is the static address in CIDR form, e.g. "10.0.2.15/24".
	Address string `toml:"address"`
	// Gateway is the static default gateway.
	Gateway string `toml:"gateway"`
	// DNS lists name servers for /etc/resolv.conf (static mode, or to
	// override what DHCP offers).
	DNS []string `toml:"dns"`
	// HTTPProxy, HTTPSProxy and NoProxy are used for image pulls.
	HTTPProxy  string `toml:"http_proxy"`
	HTTPSProxy string `toml:"https_proxy"`
	NoProxy    string `toml:"no_proxy"`
}

// Storage is the [storage] section: the state disk and the thin pool.
type Storage struct {
	// StateDisk selects the disk that holds /var/lib/berth: "auto" (default:
	// the disk or partition labelled berth-state on any bus, else the
	// first blank disk), "none" (tmpfs, nothing persists) or a device: a
	// path such as /dev/vdb or /dev/disk/by-id/..., LABEL=name or
	// PARTLABEL=name.
	StateDisk string `toml:"state_disk"`
	// DataDevice and MetadataDevice name block devices for the thin pool,
	// as StateDisk does (/dev/... paths, /dev/disk/by-id/... names,
	// LABEL= or PARTLABEL=): a stable name survives devices being
	// renumbered. When both are empty the pool lives in sparse loopback
	// files under /var/lib/berth/devicemapper.
	DataDevice     string `toml:"data_device"`
	MetadataDevice string `toml:"metadata_device"`
	// DataSize and MetadataSize size the loopback files. Defaults 100GB, 2GB.
	DataSize     Size `toml:"data_size"`
	MetadataSize Size `toml:"metadata_size"`
	// BaseSize is the size of the base thin device every container's
	// filesystem is a snapshot of. Default 10GB.
	BaseSize Size `toml:"base_size"`
	// MinFreeSpace is the free space floor below which no new thin device
	// is created, as a percentage such as "10%". Default "10%".
	MinFreeSpace string `toml:"min_free_space"`
}

// Bridge is the [bridge] section: the bridge containers are attached to.
type Bridge struct {
	// Name of the bridge interface. Default "berth0".
	Name string `toml:"name"`
	// Address of the bridge in CIDR form; its subnet is the containers'
	// subnet. Default "172.17.0.1/16".
	Address string `toml:"address"`
}

// Engine is the [engine] section: limits the engine keeps for every
// container.
type Engine struct {
	// LogMaxSize rotates a container's log when it grows past this size,
	// as json-file's max-size; a container's --log-opt max-size wins.
	// Default 10MB; 0 never rotates.
	LogMaxSize *Size `toml:"log_max_size"`
	// LogMaxFile is how many log files a container keeps, as json-file's
	// max-file. Default 3.
	LogMaxFile int `toml:"log_max_file"`
	// MemoryReserve is memory kept for the host: all containers together
	// may use the machine's memory less this much (the memory.max of their
	// parent cgroup). Default 128MB.
	MemoryReserve *Size `toml:"memory_reserve"`
}

// Security is the [security] section.
type Security struct {
	// SELinux is the mode the host runs SELinux in: "enforcing"
	// (default), "permissive" or "disabled" (no policy is loaded).
	SELinux string `toml:"selinux"`
	// SELinuxFailure is what a host whose policy does not load does:
	// "continue" (default: boot on without SELinux, and say so) or
	// "rescue" (stop at the rescue shell; no container starts unconfined).
	SELinuxFailure string `toml:"selinux_failure"`
}

// SELinux modes.
const (
	SELinuxEnforcing  = "enforcing"
	SELinuxPermissive = "permissive"
	SELinuxDisabled   = "disabled"
)

// KernelCmdline is what the appliance's kernel command line always
// carries besides its consoles: SELinux as the kernel's security module
// (Debian's kernels build it in, off unless asked for).
const KernelCmdline = "security=selinux"

// Container is one [[container]] entry: a container berth keeps running.
type Container struct {
	Name       string   `toml:"name"`
	Image      string   `toml:"image"`
	Command    []string `toml:"command"`
	Entrypoint []string `toml:"entrypoint"`
	// Env entries are "KEY=value".
	Env     []string `toml:"env"`
	Workdir string   `toml:"workdir"`
	// Ports are published as with docker run -p:
	// "[ip:][hostPort:]containerPort[/tcp|/udp]".
	Ports []string `toml:"ports"`
	// PublishAll publishes every exposed port on a random host port (-P).
	PublishAll bool `toml:"publish_all"`
	// Volumes are "/host/path:/container/path[:ro|:rw]".
	Volumes []string `toml:"volumes"`
	// Restart is no, always, unless-stopped or on-failure[:N]. Default no.
	Restart   string   `toml:"restart"`
	Memory    Size     `toml:"memory"`
	CPUs      float64  `toml:"cpus"`
	PidsLimit int64    `toml:"pids_limit"`
	DependsOn []string `toml:"depends_on"`
	// Links are "name[:alias]"; a link also orders start-up like depends_on.
	Links    []string `toml:"links"`
	Hostname string   `toml:"hostname"`
	User     string   `toml:"user"`
}

// Defaults, as documented in docs/config.md.
const (
	DefaultHostname      = "berth"
	DefaultInterface     = "auto"
	DefaultBridgeName    = "berth0"
	DefaultBridgeAddress = "172.17.0.1/16"
	DefaultDataSize      = 100 * GiB
	DefaultMetadataSize  = 2 * GiB
	DefaultBaseSize      = 10 * GiB
	DefaultMinFreeSpace  = "10%"
	DefaultLogMaxSize    = 10 * MiB
	DefaultLogMaxFile    = 3
	DefaultMemoryReserve = 128 * MiB
)

// Load reads and validates the config file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates data, naming it file in every error. The
// returned error, if any, is an ErrorList with one entry per problem.
func Parse(file string, data []byte) (*Config, error) {
	pos := indexPositions(data)
	var c Config
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&c)
	if err != nil {
		return nil, ErrorList{decodeError(file, pos, err)}
	}
	var errs ErrorList
	for _, k := range md.Undecoded() {
		for _, p := range pos.occurrences(k.String()) {
			errs = append(errs, Error{File: file, Pos: p, Field: k.String(),
				Msg: "unknown key (see docs/config.md for the fields berth knows)"})
		}
	}
	if len(errs) > 0 {
		return nil, errs.sorted()
	}
	c.File = file
	c.applyDefaults()
	if errs := c.validate(pos); len(errs) > 0 {
		return nil, errs.sorted()
	}
	return &c, nil
}

// applyDefaults fills in every field the file left out.
func (c *Config) applyDefaults() {
	setDefault(&c.Host.Hostname, DefaultHostname)
	setDefault(&c.Network.Interface, DefaultInterface)
	setDefault(&c.Network.Mode, "dhcp")
	setDefault(&c.Image.Kernel, KernelCloud)
	setDefault(&c.Storage.StateDisk, "auto")
	setDefault(&c.Storage.MinFreeSpace, DefaultMinFreeSpace)
	setDefault(&c.Bridge.Name, DefaultBridgeName)
	setDefault(&c.Bridge.Address, DefaultBridgeAddress)
	if c.Storage.DataSize == 0 {
		c.Storage.DataSize = DefaultDataSize
	}
	if c.Storage.MetadataSize == 0 {
		c.Storage.MetadataSize = DefaultMetadataSize
	}
	if c.Storage.BaseSize == 0 {
		c.Storage.BaseSize = DefaultBaseSize
	}
	setDefault(&c.Security.SELinux, SELinuxEnforcing)
	setDefault(&c.Security.SELinuxFailure, "continue")
	if c.Engine.LogMaxSize == nil {
		v := DefaultLogMaxSize
		c.Engine.LogMaxSize = &v
	}
	if c.Engine.LogMaxFile == 0 {
		c.Engine.LogMaxFile = DefaultLogMaxFile
	}
	if c.Engine.MemoryReserve == nil {
		v := DefaultMemoryReserve
		c.Engine.MemoryReserve = &v
	}
	for i := range c.Containers {
		setDefault(&c.Containers[i].Restart, "no")
	}
}

func setDefault(field *string, value string) {
	if *field == "" {
		*field = value
	}
}

// decodeError turns an error from the TOML decoder into an Error at the
// best position known for it, naming the field with its array indices.
func decodeError(file string, pos positions, err error) Error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := pe.Message
		if pe.Usage != "" {
			msg += " (" + pe.Usage + ")"
		}
		e := Error{File: file, Pos: Pos{Line: pe.Position.Line, Col: pe.Position.Col}, Msg: msg}
		if pe.LastKey != "" {
			e.Field, e.Pos = pos.onLine(pe.LastKey, e.Pos)
		}
		return e
	}
	// Type mismatches come as plain errors:
	// toml: line 2 (last key "host.hostname"): incompatible types: ...
	if m := typeErrorRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		e := Error{File: file, Msg: m[3]}
		e.Field, e.Pos = pos.onLine(m[2], Pos{Line: line})
		return e
	}
	return Error{File: file, Msg: err.Error()}
}

var typeErrorRE = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]+)"\): (.*)$`)
