package runtime

import "github.com/opencontainers/runtime-spec/specs-go"

// Spec is everything the runtime needs to start a container's first
// process. The engine fills it in; the runtime asks nothing else.
type Spec struct {
	ID       string
	Hostname string
	Root     Root
	Process  Process
	// Mounts are bound into the container, in order, after its /proc,
	// /dev and /sys.
	Mounts []Mount
	// Devices are nodes the container's /dev gets beyond the defaults
	// (--device; every host device with Privileged).
	Devices []Device
	// Privileged leaves /sys and the cgroup filesystem writable and masks
	// nothing, as docker run --privileged.
	Privileged bool
	// MaskedPaths and ReadonlyPaths are Docker's (DefaultMaskedPaths,
	// DefaultReadonlyPaths) unless privileged.
	MaskedPaths, ReadonlyPaths []string
	// HostNetwork shares the host's network namespace (--network host);
	// otherwise the container gets one of its own.
	HostNetwork bool
	// Init is a host program (tini) copied into the container as
	// /dev/docker-init (so ps shows Docker's name), to run as its first
	// process (--init): the engine puts it in front of the command.
	Init string
}

// InitPath is where an init (Spec.Init) is in the container.
const InitPath = "/dev/docker-init"

// Made are the paths (relative to the root) the runtime puts in every
// container's root: mount points and the name files. They are no change
// of the container's: docker diff, commit and a build's RUN leave them
// out.
var Made = map[string]bool{"proc": true, "sys": true, "dev": true,
	"etc/hosts": true, "etc/hostname": true, "etc/resolv.conf": true}

// Rlimit is one resource limit (--ulimit), by its name: nofile, nproc,
// core...
type Rlimit struct {
	Name       string
	Soft, Hard uint64
}

// Root is the container's root filesystem: a block device mounted in the
// container's own mount namespace, so that its mount never leaks into the
// host's.
type Root struct {
	Device     string // /dev/dm-N, ext4
	MountPoint string // an empty directory to mount it on
	ReadOnly   bool
	// MountLabel is the SELinux context= of the root, /dev and /dev/pts;
	// empty when SELinux is off.
	MountLabel string
}

// Process is the program a container runs, or an exec runs in it.
type Process struct {
	Args []string
	Env  []string
	Cwd  string
	// User is user[:group], names or numbers, resolved in the container's
	// /etc/passwd and /etc/group.
	User string
	// Capabilities are the bounding, permitted and effective set (for
	// root; another user has none effective). Nothing is inheritable or
	// ambient.
	Capabilities []string
	// NoNewPrivileges sets no_new_privs: no setuid binary or file
	// capability grants anything. berth sets it by default.
	NoNewPrivileges bool
	// Label is the SELinux process label; empty when SELinux is off.
	Label string
	// Seccomp is the profile installed just before exec; nil is
	// unconfined.
	Seccomp *specs.LinuxSeccomp
	// Rlimits are set before the exec.
	Rlimits []Rlimit
	// OOMScoreAdj is the process's /proc/self/oom_score_adj: the engine
	// runs at a score the OOM killer avoids, which its children would
	// otherwise inherit.
	OOMScoreAdj int
}

// ExecSpec is what the exec helper needs to run a process in a running
// container.
type ExecSpec struct {
	// Pid is the container's first process in the host's PID namespace:
	// its namespaces are the ones entered.
	Pid     int
	Process Process
	// Terminal gives the process its stdin as controlling terminal.
	Terminal bool
}

// Exit statuses of a process the runtime could not start, as Docker's.
const (
	ExitSetupFailed = 125 // berth failed to set the container up
	ExitNotRunnable = 126 // the command exists but cannot be run
	ExitNotFound    = 127 // no such command
)
