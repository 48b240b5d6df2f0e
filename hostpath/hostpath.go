// Package hostpath names every path berth uses on the host, in one place:
// what the appliance carries (read-only, from the image build), what it
// keeps (the state disk) and what lives for one boot (/run). The image
// build, PID 1, the engine and the CLI all read them from here, so a path
// is changed once. The design is in docs/design.md.
package hostpath

// What the appliance carries, written by the image build.
const (
	// ApplianceConfig is the config built into the appliance.
	ApplianceConfig = "/etc/berth/berth.toml"
	// InitBinary is the init docker run --init runs in a container.
	InitBinary = "/usr/libexec/berth/docker-init"
	// Share holds what the appliance carries besides its binaries.
	Share = "/usr/share/berth"
	// BundledImages holds the image archives loaded at first boot.
	BundledImages = Share + "/images"
	// Welcome holds the page PID 1 copies to WWW when that does not exist
	// yet, so that the default config's web server shows something.
	Welcome = Share + "/www"
	// Mkfs formats the state disk and the thin pool's volumes.
	Mkfs = "/sbin/mkfs.ext4"
	// Modules holds the kernel's modules, a directory per release.
	Modules = "/lib/modules"
	// SELinux holds the policy the image build compiled, in
	// SELinuxPolicy; SELinuxConfig names it, and PID 1 loads it.
	SELinux       = "/etc/selinux"
	SELinuxConfig = SELinux + "/config"
	SELinuxType   = "default"
	SELinuxPolicy = SELinux + "/" + SELinuxType
)

// What berth keeps: the state disk is mounted at State at boot (or memory
// holds it when there is none).
const (
	State = "/var/lib/berth"
	// Containers holds a directory per container: its record, its log.
	Containers = State + "/containers"
	// Images is the image store: records, blobs, tags, the build cache.
	Images = State + "/images"
	// Pool is the thin pool's record and its loopback files.
	Pool = State + "/devicemapper"
	// Network holds the bridge's address allocations and the NAT lock.
	Network = State + "/network"
	// Volumes holds the named volumes.
	Volumes = State + "/volumes"
	// CLIConfig is the berth CLI's credentials (docker login).
	CLIConfig = State + "/cli"
	// WWW is what the default config's web server serves.
	WWW = State + "/www"
)

// What lives for one boot.
const (
	Run = "/run/berth"
	// ActiveConfig is the config in force (the built-in one, or one from
	// the kernel command line or a config drive), and ConfigSource says
	// where it came from.
	ActiveConfig = Run + "/berth.toml"
	ConfigSource = Run + "/config-source"
	// ConfigDrive is where a config drive is mounted while it is read.
	ConfigDrive = Run + "/config-drive"
	// EnginePID holds the engine's pid.
	EnginePID = Run + "/engine.pid"
	// APISocket is berth's API socket; DockerSocket is the same socket
	// where Docker's tools look for it.
	APISocket    = "/run/berth.sock"
	DockerSocket = "/run/docker.sock"
)
