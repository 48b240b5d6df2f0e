package engine

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/cgroups/v3/cgroup2/stats"
	"github.com/docker/docker/api/types/container"
	"golang.org/x/sys/unix"
)

// statsInterval is how often docker stats gets figures, as Docker's.
const statsInterval = time.Second

// ContainerStats is docker stats: the container's figures from its cgroup
// (cgroup v2) and its network namespace, with the previous sample's CPU
// figures so that a client can work out the CPU share. Without stream, one
// sample after a first one a second before, as Docker does, so that the
// CPU share is right.
func (e *Engine) ContainerStats(ctx context.Context, ref string, stream bool, emit func(*container.StatsResponse) error) error {
	c, err := e.Inspect(ref)
	if err != nil {
		return err
	}
	if !c.State.Running {
		return emit(&container.StatsResponse{Name: c.Name, ID: c.Id})
	}
	var prev *container.StatsResponse
	tick := time.NewTicker(statsInterval)
	defer tick.Stop()
	for {
		cur := e.sample(c)
		if prev != nil {
			cur.PreCPUStats, cur.PreRead = prev.CPUStats, prev.Read
		}
		if prev != nil || stream {
			if err := emit(cur); err != nil || !stream {
				return nil
			}
		}
		prev = cur
		select {
		case <-tick.C:
		case <-ctx.Done():
			return nil
		}
		if now, err := e.Inspect(c.Id); err != nil || !now.State.Running || now.State.Pid != c.State.Pid {
			if stream {
				return nil
			}
			// Ended between the samples: the figures it had.
			return emit(cur)
		}
	}
}

// sample is one reading of container c's figures.
func (e *Engine) sample(c Container) *container.StatsResponse {
	out := &container.StatsResponse{Name: c.Name, ID: c.Id, Read: time.Now().UTC()}
	out.CPUStats.SystemUsage = systemCPUUsage()
	out.CPUStats.OnlineCPUs = uint32(goruntime.NumCPU())
	if m, err := e.opts.Runtime.Stats(c.Id); err == nil {
		cgroupStats(out, m, hostMemory())
	}
	out.Networks = networkStats(c.State.Pid)
	return out
}

// cgroupStats fills in what a cgroup v2 tells, as Docker's daemon maps it.
func cgroupStats(out *container.StatsResponse, m *stats.Metrics, hostMem uint64) {
	if p := m.Pids; p != nil {
		out.PidsStats = container.PidsStats{Current: p.Current, Limit: p.Limit}
	}
	if cpu := m.CPU; cpu != nil {
		out.CPUStats.CPUUsage = container.CPUUsage{TotalUsage: cpu.UsageUsec * 1000, UsageInKernelmode: cpu.SystemUsec * 1000,
			UsageInUsermode: cpu.UserUsec * 1000}
		out.CPUStats.ThrottlingData = container.ThrottlingData{Periods: cpu.NrPeriods, ThrottledPeriods: cpu.NrThrottled,
			ThrottledTime: cpu.ThrottledUsec * 1000}
	}
	if mem := m.Memory; mem != nil {
		limit := mem.UsageLimit
		if limit == 0 || limit == math.MaxUint64 || limit > hostMem {
			limit = hostMem
		}
		out.MemoryStats = container.MemoryStats{Usage: mem.Usage, Limit: limit, Stats: map[string]uint64{
			"anon": mem.Anon, "file": mem.File, "kernel_stack": mem.KernelStack, "slab": mem.Slab, "sock": mem.Sock,
			"shmem": mem.Shmem, "file_mapped": mem.FileMapped, "file_dirty": mem.FileDirty, "file_writeback": mem.FileWriteback,
			"anon_thp": mem.AnonThp, "inactive_anon": mem.InactiveAnon, "active_anon": mem.ActiveAnon,
			"inactive_file": mem.InactiveFile, "active_file": mem.ActiveFile, "unevictable": mem.Unevictable,
			"slab_reclaimable": mem.SlabReclaimable, "slab_unreclaimable": mem.SlabUnreclaimable, "pgfault": mem.Pgfault,
			"pgmajfault": mem.Pgmajfault, "workingset_refault": mem.WorkingsetRefault,
			"workingset_activate": mem.WorkingsetActivate, "workingset_nodereclaim": mem.WorkingsetNodereclaim,
			"pgrefill": mem.Pgrefill, "pgscan": mem.Pgscan, "pgsteal": mem.Pgsteal, "pgactivate": mem.Pgactivate,
			"pgdeactivate": mem.Pgdeactivate, "pglazyfree": mem.Pglazyfree, "pglazyfreed": mem.Pglazyfreed,
			"thp_fault_alloc": mem.ThpFaultAlloc, "thp_collapse_alloc": mem.ThpCollapseAlloc}}
		if m.MemoryEvents != nil {
			out.MemoryStats.Failcnt = m.MemoryEvents.Oom
		}
	}
	if io := m.Io; io != nil {
		for _, u := range io.Usage {
			out.BlkioStats.IoServiceBytesRecursive = append(out.BlkioStats.IoServiceBytesRecursive,
				container.BlkioStatEntry{Major: u.Major, Minor: u.Minor, Op: "read", Value: u.Rbytes},
				container.BlkioStatEntry{Major: u.Major, Minor: u.Minor, Op: "write", Value: u.Wbytes})
			out.BlkioStats.IoServicedRecursive = append(out.BlkioStats.IoServicedRecursive,
				container.BlkioStatEntry{Major: u.Major, Minor: u.Minor, Op: "read", Value: u.Rios},
				container.BlkioStatEntry{Major: u.Major, Minor: u.Minor, Op: "write", Value: u.Wios})
		}
	}
}

// clockTicks is USER_HZ, the unit of /proc/stat's times: 100 on Linux.
const clockTicks = 100

// systemCPUUsage is the host's CPU time in nanoseconds, from /proc/stat,
// as Docker's daemon reads it.
func systemCPUUsage() uint64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(line)
	if len(fields) < 8 || fields[0] != "cpu" {
		return 0
	}
	var ticks uint64
	for _, f := range fields[1:8] {
		n, _ := strconv.ParseUint(f, 10, 64)
		ticks += n
	}
	return ticks * (1e9 / clockTicks)
}

// hostMemory is the host's memory in bytes, the limit of a container
// without one.
func hostMemory() uint64 {
	var si unix.Sysinfo_t
	if unix.Sysinfo(&si) != nil {
		return 0
	}
	return si.Totalram * uint64(si.Unit)
}

// networkStats reads the interfaces of process pid's network namespace
// from /proc/<pid>/net/dev, loopback left out, as Docker's.
func networkStats(pid int) map[string]container.NetworkStats {
	f, err := os.Open(fmt.Sprintf("/proc/%d/net/dev", pid))
	if err != nil {
		return nil
	}
	defer f.Close()
	out := map[string]container.NetworkStats{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		name = strings.TrimSpace(name)
		if !ok || name == "lo" {
			continue
		}
		v := strings.Fields(rest)
		if len(v) < 16 {
			continue
		}
		n := make([]uint64, 16)
		for i := range n {
			n[i], _ = strconv.ParseUint(v[i], 10, 64)
		}
		out[name] = container.NetworkStats{RxBytes: n[0], RxPackets: n[1], RxErrors: n[2], RxDropped: n[3],
			TxBytes: n[8], TxPackets: n[9], TxErrors: n[10], TxDropped: n[11]}
	}
	return out
}
