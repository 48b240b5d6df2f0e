package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/pkg/stringid"
	"github.com/docker/go-units"
)

// statsRow is one container's figures as docker stats shows them.
type statsRow struct {
	id, name string
	trunc    bool
	s        container.StatsResponse
}

func (r statsRow) MarshalJSON() ([]byte, error) { return fieldsJSON(r) }

func (r statsRow) ID() string {
	if r.trunc {
		return stringid.TruncateID(r.id)
	}
	return r.id
}
func (r statsRow) Container() string { return r.ID() }
func (r statsRow) Name() string      { return strings.TrimPrefix(r.name, "/") }

// CPUPerc is the share of the host's CPUs the container used between the
// two samples, as Docker's CLI works it out.
func (r statsRow) CPUPerc() string { return fmt.Sprintf("%.2f%%", cpuPercent(r.s)) }

func cpuPercent(s container.StatsResponse) float64 {
	cpuDelta := float64(s.CPUStats.CPUUsage.TotalUsage) - float64(s.PreCPUStats.CPUUsage.TotalUsage)
	systemDelta := float64(s.CPUStats.SystemUsage) - float64(s.PreCPUStats.SystemUsage)
	cpus := float64(s.CPUStats.OnlineCPUs)
	if systemDelta > 0 && cpuDelta > 0 {
		return cpuDelta / systemDelta * cpus * 100
	}
	return 0
}

// memUsage is the memory the container uses, the page cache it could
// give back left out, as Docker's CLI counts it on cgroup v2.
func memUsage(s container.StatsResponse) float64 {
	used := float64(s.MemoryStats.Usage)
	if v, ok := s.MemoryStats.Stats["inactive_file"]; ok && float64(v) < used {
		used -= float64(v)
	}
	return used
}

func (r statsRow) MemUsage() string {
	return units.BytesSize(memUsage(r.s)) + " / " + units.BytesSize(float64(r.s.MemoryStats.Limit))
}

func (r statsRow) MemPerc() string {
	if r.s.MemoryStats.Limit == 0 {
		return "0.00%"
	}
	return fmt.Sprintf("%.2f%%", memUsage(r.s)/float64(r.s.MemoryStats.Limit)*100)
}

func (r statsRow) NetIO() string {
	var rx, tx float64
	for _, n := range r.s.Networks {
		rx += float64(n.RxBytes)
		tx += float64(n.TxBytes)
	}
	return units.HumanSizeWithPrecision(rx, 3) + " / " + units.HumanSizeWithPrecision(tx, 3)
}

func (r statsRow) BlockIO() string {
	var read, write float64
	for _, e := range r.s.BlkioStats.IoServiceBytesRecursive {
		switch strings.ToLower(e.Op) {
		case "read":
			read += float64(e.Value)
		case "write":
			write += float64(e.Value)
		}
	}
	return units.HumanSizeWithPrecision(read, 3) + " / " + units.HumanSizeWithPrecision(write, 3)
}

func (r statsRow) PIDs() string { return fmt.Sprint(r.s.PidsStats.Current) }

// statsHeader is docker stats's header row.
type statsHeader struct{}

func (statsHeader) ID() string        { return "CONTAINER ID" }
func (statsHeader) Container() string { return "CONTAINER" }
func (statsHeader) Name() string      { return "NAME" }
func (statsHeader) CPUPerc() string   { return "CPU %" }
func (statsHeader) MemUsage() string  { return "MEM USAGE / LIMIT" }
func (statsHeader) MemPerc() string   { return "MEM %" }
func (statsHeader) NetIO() string     { return "NET I/O" }
func (statsHeader) BlockIO() string   { return "BLOCK I/O" }
func (statsHeader) PIDs() string      { return "PIDS" }

// statsVerb is docker stats: a table of the containers' figures, once
// (--no-stream) or every second.
func statsVerb(e *env, args []string) int {
	f := newFlags("stats", e.stderr)
	var all, noStream, noTrunc bool
	var format string
	f.boolVar(&all, "a", "all")
	f.boolVar(&noStream, "no-stream")
	f.boolVar(&noTrunc, "no-trunc")
	f.stringVar(&format, "", "format")
	if code, ok := e.prepare(f, args, "", anyCount); !ok {
		return code
	}
	rf, err := parseFormat(format, "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}")
	if err != nil {
		return e.fail(1, err)
	}
	names := f.Args()
	if len(names) == 0 {
		list, err := e.client.ContainerList(e.ctx, container.ListOptions{All: all, Filters: filters.NewArgs()})
		if err != nil {
			return e.fail(1, err)
		}
		for _, c := range list {
			names = append(names, c.ID)
		}
	}
	var mu sync.Mutex
	latest := map[string]statsRow{}
	var order []string
	status := 0
	var wg sync.WaitGroup
	for _, n := range names {
		c, err := e.client.ContainerInspect(e.ctx, n)
		if err != nil {
			status = e.fail(1, err)
			continue
		}
		order = append(order, c.ID)
		latest[c.ID] = statsRow{id: c.ID, name: c.Name, trunc: !noTrunc}
		wg.Add(1)
		go func(id, name string) {
			defer wg.Done()
			resp, err := e.client.ContainerStats(e.ctx, id, !noStream)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			dec := json.NewDecoder(resp.Body)
			for {
				var s container.StatsResponse
				if err := dec.Decode(&s); err != nil {
					return
				}
				mu.Lock()
				latest[id] = statsRow{id: id, name: name, trunc: !noTrunc, s: s}
				mu.Unlock()
			}
		}(c.ID, c.Name)
	}
	print := func(w io.Writer) {
		mu.Lock()
		defer mu.Unlock()
		var rows []any
		ids := append([]string(nil), order...)
		for _, id := range ids {
			rows = append(rows, latest[id])
		}
		if err := rf.write(w, statsHeader{}, rows); err != nil {
			fmt.Fprintln(e.stderr, err)
		}
	}
	if noStream {
		wg.Wait()
		print(e.stdout)
		return status
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for {
		if isTerminal(e.stdout) {
			fmt.Fprint(e.stdout, "\033[2J\033[H")
		}
		print(e.stdout)
		select {
		case <-tick.C:
		case <-done:
			print(e.stdout)
			return status
		}
	}
}
