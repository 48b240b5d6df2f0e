package engine

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"time"
)

// Container is a container as docker inspect shows it: the same field
// names, so that inspect -f templates written for Docker work.
type Container struct {
	// Id is spelled as Docker's JSON field, so that inspect -f '{{.Id}}'
	// works as it does with Docker.
	Id           string
	Created      time.Time
	Path         string
	Args         []string
	State        State
	Image        string // the image id
	Name         string // with a leading slash, as Docker's
	RestartCount int
	// ManuallyStopped is set when a user stops or kills the container, and
	// cleared when it starts: an unless-stopped container is started again
	// after a reboot only when it was not.
	ManuallyStopped bool
	HostConfig      HostConfig
	Config          ContainerConfig
	NetworkSettings NetworkSettings
	Mounts          []MountPoint
	LogPath         string
	// ProcessLabel and MountLabel are the container's SELinux labels, with
	// an MCS pair of its own; empty when SELinux is not enabled.
	ProcessLabel string
	MountLabel   string
}

// State is the container's run state.
type State struct {
	Status     string // created, running, restarting, exited, removing, dead
	Running    bool
	Paused     bool
	Restarting bool
	OOMKilled  bool
	Dead       bool
	Pid        int
	ExitCode   int
	Error      string
	StartedAt  time.Time
	FinishedAt time.Time
}

// ContainerConfig is what the container runs.
type ContainerConfig struct {
	Hostname     string
	User         string
	Env          []string
	Cmd          []string
	Entrypoint   []string
	Image        string // as the user named it
	WorkingDir   string
	ExposedPorts map[string]struct{}
	Tty          bool
	OpenStdin    bool
	StdinOnce    bool // stdin closes when the first attached client's input ends (docker run -i)
	Labels       map[string]string
	// Volumes are anonymous volumes (docker run -v /path), beside the
	// image's own.
	Volumes map[string]struct{} `json:",omitempty"`
}

// HostConfig is how the host runs it.
type HostConfig struct {
	Binds           []string
	PortBindings    map[string][]PortBinding
	PublishAllPorts bool
	RestartPolicy   RestartPolicy
	AutoRemove      bool
	Memory          int64
	NanoCpus        int64
	PidsLimit       int64
	CapAdd          []string
	CapDrop         []string
	ReadonlyRootfs  bool
	Links           []string
	// Privileged gives every capability and device, no seccomp filter and
	// writable /proc and /sys, as docker run --privileged.
	Privileged bool
	// SecurityOpt are docker run --security-opt's: seccomp=unconfined or
	// seccomp=<profile JSON>, no-new-privileges[=false], label=...
	SecurityOpt []string
	// Devices are the host's device nodes given with --device.
	Devices []DeviceMapping
	// NetworkMode is bridge (the default), none or host.
	NetworkMode string
	// LogConfig is the log driver, json-file, and its max-size and
	// max-file options.
	LogConfig LogConfig
}

// Network is the network the container is on: bridge, none or host. A
// record from before berth knew other modes has none set: bridge.
func (h HostConfig) Network() string {
	if h.NetworkMode == "" || h.NetworkMode == "default" {
		return "bridge"
	}
	return h.NetworkMode
}

// DeviceMapping is one --device HOST[:CONTAINER][:PERMISSIONS].
type DeviceMapping struct {
	PathOnHost        string
	PathInContainer   string
	CgroupPermissions string
}

// LogConfig is a container's log driver and its options.
type LogConfig struct {
	Type   string
	Config map[string]string
}

// RestartPolicy is Docker's restart policy.
type RestartPolicy struct {
	Name              string
	MaximumRetryCount int
}

// PortBinding is one host side of a published port.
type PortBinding struct {
	HostIp   string
	HostPort string
}

// NetworkSettings are the container's address and published ports.
type NetworkSettings struct {
	IPAddress   string
	IPPrefixLen int
	Gateway     string
	Bridge      string
	Ports       map[string][]PortBinding
}

// MountPoint is one volume.
type MountPoint struct {
	Type        string // bind (-v host:ctr), or volume (an image's VOLUME)
	Name        string `json:",omitempty"` // a volume's id
	Source      string
	Destination string
	Mode        string
	RW          bool
}

// newID returns a random 64-hex-digit container id.
func newID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// ShortID is the 12-digit form of an id that docker ps shows.
func ShortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// Names are made as Docker makes them: an adjective and a notable
// scientist or hacker, joined by an underscore.
var (
	nameLeft  = []string{"admiring", "agitated", "amazing", "angry", "awesome", "boring", "brave", "clever", "cool", "dazzling", "determined", "eager", "ecstatic", "elegant", "epic", "fervent", "focused", "friendly", "gallant", "gifted", "goofy", "happy", "hopeful", "hungry", "jolly", "keen", "kind", "laughing", "loving", "magical", "modest", "nervous", "nifty", "nostalgic", "pensive", "practical", "quirky", "relaxed", "romantic", "serene", "sharp", "silly", "sleepy", "stoic", "sweet", "tender", "trusting", "upbeat", "vibrant", "wizardly", "youthful", "zealous"}
	nameRight = []string{"albattani", "babbage", "bardeen", "bell", "brattain", "curie", "darwin", "davinci", "einstein", "elion", "euclid", "fermat", "feynman", "franklin", "galileo", "goldstine", "goodall", "hamilton", "heisenberg", "hopper", "hypatia", "kepler", "knuth", "lamarr", "leakey", "lovelace", "lumiere", "mayer", "mccarthy", "mcclintock", "meitner", "morse", "newton", "nobel", "pare", "pasteur", "perlman", "pike", "poincare", "ptolemy", "ritchie", "rosalind", "shannon", "swartz", "tesla", "thompson", "torvalds", "turing", "wilson", "wozniak", "wright", "yonath"}
)

func pick(list []string) string {
	n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(list))))
	return list[n.Int64()]
}

// generateName returns a Docker-style name not in taken.
func generateName(taken func(string) bool) string {
	for i := 0; ; i++ {
		name := pick(nameLeft) + "_" + pick(nameRight)
		if i > 10 {
			name = fmt.Sprintf("%s%d", name, i)
		}
		if !taken(name) {
			return name
		}
	}
}
