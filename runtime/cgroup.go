package runtime

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containerd/cgroups/v3/cgroup2"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// CgroupRoot is where the cgroup2 filesystem is mounted.
const CgroupRoot = "/sys/fs/cgroup"

// CgroupControllers are the controllers container limits need; PID 1
// enables them at the root and the runtime for the containers' parent.
var CgroupControllers = []string{"cpu", "memory", "pids", "io"}

// Resources are a container's cgroup limits (containerd/cgroups/v3).
type Resources struct {
	// Memory is memory.max in bytes, 0 for none; swap is then off.
	Memory int64
	// NanoCPUs is CPU time in billionths of a CPU, 0 for no limit.
	NanoCPUs int64
	// PidsLimit is pids.max, 0 for none.
	PidsLimit int64
	// Devices is the eBPF device filter (DeviceRules).
	Devices []specs.LinuxDeviceCgroup
}

// cgroupTree is the parent cgroup of every container.
type cgroupTree struct {
	parent string // relative to CgroupRoot: /berth
}

func newCgroupTree(parent string, memoryMax int64) (*cgroupTree, error) {
	t := &cgroupTree{parent: path.Clean("/" + parent)}
	dir := filepath.Join(CgroupRoot, t.parent)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("runtime: cgroup %s: %w", t.parent, err)
	}
	var enable []string
	for _, c := range CgroupControllers {
		enable = append(enable, "+"+c)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte(strings.Join(enable, " ")), 0); err != nil {
		return nil, fmt.Errorf("runtime: enable cgroup controllers %v for containers: %w", enable, err)
	}
	max := "max"
	if memoryMax > 0 {
		max = strconv.FormatInt(memoryMax, 10)
	}
	if err := os.WriteFile(filepath.Join(dir, "memory.max"), []byte(max), 0); err != nil {
		return nil, fmt.Errorf("runtime: memory.max of %s: %w", t.parent, err)
	}
	return t, nil
}

func (t *cgroupTree) group(id string) string { return path.Join(t.parent, id) }
func (t *cgroupTree) path(id string) string  { return filepath.Join(CgroupRoot, t.group(id)) }

// CgroupPath is the directory of container id's cgroup.
func (r *Runtime) CgroupPath(id string) string { return r.cgroups.path(id) }

// CreateCgroup makes container id's cgroup with its limits and device
// filter. The kernel's OOM killer takes the whole container when it
// strikes (memory.oom.group).
func (r *Runtime) CreateCgroup(id string, res Resources) error {
	cr := &cgroup2.Resources{Devices: res.Devices}
	oomGroup := true
	cr.Memory = &cgroup2.Memory{OOMGroup: &oomGroup}
	if res.Memory > 0 {
		m, swap := res.Memory, int64(0)
		cr.Memory.Max, cr.Memory.Swap = &m, &swap
	}
	if res.NanoCPUs > 0 {
		period := uint64(100000)
		quota := res.NanoCPUs * int64(period) / 1e9
		cr.CPU = &cgroup2.CPU{Max: cgroup2.NewCPUMax(&quota, &period)}
	}
	if res.PidsLimit > 0 {
		cr.Pids = &cgroup2.Pids{Max: res.PidsLimit}
	}
	// A stale cgroup of an earlier run would keep its device filter: a
	// new run starts from a new one.
	r.DeleteCgroup(id)
	if _, err := cgroup2.NewManager(CgroupRoot, r.cgroups.group(id), cr); err != nil {
		return fmt.Errorf("runtime: cgroup of %s: %w", id, err)
	}
	return nil
}

// KillCgroup kills every process in container id's cgroup.
func (r *Runtime) KillCgroup(id string) {
	if m, err := cgroup2.Load(r.cgroups.group(id)); err == nil {
		m.Kill()
	}
}

// DeleteCgroup kills what is left in container id's cgroup and removes it.
func (r *Runtime) DeleteCgroup(id string) {
	if m, err := cgroup2.Load(r.cgroups.group(id)); err == nil {
		if _, err := os.Stat(r.cgroups.path(id)); err == nil {
			m.Kill()
			m.Delete()
		}
	}
}

// OOMKilled reports whether the kernel's OOM killer struck in container
// id's cgroup.
func (r *Runtime) OOMKilled(id string) bool {
	b, err := os.ReadFile(filepath.Join(r.cgroups.path(id), "memory.events"))
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 2 && f[0] == "oom_kill" && f[1] != "0" {
			return true
		}
	}
	return false
}
