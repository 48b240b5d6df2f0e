package engine

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
	"golang.org/x/sys/unix"
)

// Container is a container's record, kept as config.json in its
// directory: Docker's own Config and HostConfig (what was asked), and the
// engine's state of it.
type Container struct {
	// Id is spelled as Docker's JSON field.
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
	HostConfig      *container.HostConfig
	Config          *container.Config
	NetworkSettings NetworkSettings
	// Mounts are its bind mounts, volumes and tmpfs mounts.
	Mounts  []container.MountPoint
	LogPath string
	// ProcessLabel and MountLabel are the container's SELinux labels, with
	// an MCS pair of its own; empty when SELinux is off or the container
	// runs unlabelled.
	ProcessLabel string
	MountLabel   string
}

// State is the container's run state.
type State struct {
	Status     string // created, running, paused, restarting, exited, removing, dead
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
	Health     *container.Health `json:",omitempty"`
}

// NetworkSettings are the container's address and published ports.
type NetworkSettings struct {
	IPAddress   string
	IPPrefixLen int
	Gateway     string
	Bridge      string
	MacAddress  string `json:",omitempty"`
	Ports       nat.PortMap
}

// networkMode is the network the container is on: bridge, none or host (a
// record that names none is on the bridge).
func networkMode(hc *container.HostConfig) string {
	if hc == nil || hc.NetworkMode == "" || hc.NetworkMode == "default" {
		return "bridge"
	}
	return string(hc.NetworkMode)
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

// exitCode is the exit status Docker reports for a wait status: the
// code, or 128 and the signal that ended the process.
func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// joinArgs is a command as one line, as Docker's events show it.
func joinArgs(args []string) string { return strings.Join(args, " ") }
