package runtime

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/containerd/cgroups/v3/cgroup2"
	"github.com/containerd/cgroups/v3/cgroup2/stats"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// CgroupRoot is where the cgroup2 filesystem is mounted.
const CgroupRoot = "/sys/fs/cgroup"

// CgroupControllers are the controllers container limits need; PID 1
// enables them at the root and the runtime for the containers' parent.
var CgroupControllers = []string{"cpu", "memory", "pids", "io"}

// Resources are a container's cgroup limits (containerd/cgroups/v3).
type Resources struct {
	// Memory is memory.max in bytes, 0 for none.
	Memory int64
	// MemorySwap is Docker's memory plus swap: -1 unlimited swap, 0 as
	// much swap as memory (with a memory limit), else the total.
	MemorySwap int64
	// NanoCPUs is CPU time in billionths of a CPU, 0 for no limit.
	NanoCPUs int64
	// CPUShares is Docker's relative weight (1024 the default), 0 for
	// the default.
	CPUShares int64
	// PidsLimit is pids.max, 0 or less for none.
	PidsLimit int64
	// Devices is the eBPF device filter (DeviceRules).
	Devices []specs.LinuxDeviceCgroup
}

// cgroupResources are r as containerd/cgroups writes them.
func cgroupResources(r Resources) *cgroup2.Resources {
	cr := &cgroup2.Resources{Devices: r.Devices}
	oomGroup := true
	cr.Memory = &cgroup2.Memory{OOMGroup: &oomGroup}
	if r.Memory > 0 {
		m := r.Memory
		cr.Memory.Max = &m
		var swap int64
		switch {
		case r.MemorySwap < 0:
			swap = -1 // cgroups writes "max"
		case r.MemorySwap == 0:
			swap = r.Memory
		default:
			swap = max(r.MemorySwap-r.Memory, 0)
		}
		cr.Memory.Swap = &swap
	}
	cr.CPU = &cgroup2.CPU{}
	if r.NanoCPUs > 0 {
		period := uint64(100000)
		quota := r.NanoCPUs * int64(period) / 1e9
		cr.CPU.Max = cgroup2.NewCPUMax(&quota, &period)
	}
	if r.CPUShares > 0 {
		// Docker's mapping of shares (2..262144) onto cgroup v2's weight.
		w := uint64(1 + ((min(max(r.CPUShares, 2), 262144)-2)*9999)/262142)
		cr.CPU.Weight = &w
	}
	if r.PidsLimit > 0 {
		cr.Pids = &cgroup2.Pids{Max: r.PidsLimit}
	}
	return cr
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
	// A stale cgroup of an earlier run would keep its device filter: a
	// new run starts from a new one.
	r.DeleteCgroup(id)
	if _, err := cgroup2.NewManager(CgroupRoot, r.cgroups.group(id), cgroupResources(res)); err != nil {
		return fmt.Errorf("runtime: cgroup of %s: %w", id, err)
	}
	return nil
}

// UpdateCgroup changes the limits of a running container; its device
// filter stays as it is.
func (r *Runtime) UpdateCgroup(id string, res Resources) error {
	res.Devices = nil
	m, err := cgroup2.Load(r.cgroups.group(id))
	if err == nil {
		err = m.Update(cgroupResources(res))
	}
	if err != nil {
		return fmt.Errorf("runtime: update the cgroup of %s: %w", id, err)
	}
	return nil
}

// Freeze freezes (or thaws) every process of container id.
func (r *Runtime) Freeze(id string, frozen bool) error {
	m, err := cgroup2.Load(r.cgroups.group(id))
	if err == nil {
		if frozen {
			err = m.Freeze()
		} else {
			err = m.Thaw()
		}
	}
	if err != nil {
		return fmt.Errorf("runtime: freeze %s: %w", id, err)
	}
	return nil
}

// Stats are container id's figures from its cgroup.
func (r *Runtime) Stats(id string) (*stats.Metrics, error) {
	m, err := cgroup2.Load(r.cgroups.group(id))
	if err != nil {
		return nil, err
	}
	return m.Stat()
}

// Procs are the processes (host pids) in container id's cgroup.
func (r *Runtime) Procs(id string) ([]int, error) {
	m, err := cgroup2.Load(r.cgroups.group(id))
	if err != nil {
		return nil, err
	}
	ps, err := m.Procs(true)
	var out []int
	for _, p := range ps {
		out = append(out, int(p))
	}
	return out, err
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
