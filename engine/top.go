package engine

import (
	"bufio"
	"fmt"
	"os"
	"os/user"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"golang.org/x/sys/unix"

	"berth/errdefs"
)

// This file is docker top: Docker runs the host's ps and keeps the
// container's processes; berth's appliance has no ps, so the engine reads
// /proc itself, in the columns ps prints for the options Docker users
// give it (-ef, aux, -o FIELDS, -Z).

// proc is what /proc tells of one process.
type proc struct {
	pid, ppid, pgid, sid   int
	uid, gid               int
	comm, state            string
	args                   []string
	tty                    uint64
	utime, stime, start    uint64 // clock ticks; start since boot
	nice, priority, thread int64
	vsize, rss             uint64 // bytes, pages
	label                  string
}

// readProc reads process pid.
func readProc(pid int) (proc, error) {
	p := proc{pid: pid}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return p, err
	}
	// comm is in parentheses and may hold spaces and parentheses.
	s := string(stat)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return p, fmt.Errorf("engine: /proc/%d/stat: unexpected format", pid)
	}
	p.comm = s[open+1 : end]
	f := strings.Fields(s[end+1:])
	if len(f) < 22 {
		return p, fmt.Errorf("engine: /proc/%d/stat: unexpected format", pid)
	}
	num := func(i int) int64 { n, _ := strconv.ParseInt(f[i], 10, 64); return n }
	p.state = f[0]
	p.ppid, p.pgid, p.sid = int(num(1)), int(num(2)), int(num(3))
	p.tty = uint64(num(4))
	p.utime, p.stime = uint64(num(11)), uint64(num(12))
	p.priority, p.nice, p.thread = num(15), num(16), num(17)
	p.start = uint64(num(19))
	p.vsize, p.rss = uint64(num(20)), uint64(num(21))
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			k, v, _ := strings.Cut(line, ":")
			if fs := strings.Fields(v); len(fs) > 0 {
				switch k {
				case "Uid":
					p.uid, _ = strconv.Atoi(fs[0])
				case "Gid":
					p.gid, _ = strconv.Atoi(fs[0])
				}
			}
		}
	}
	if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && len(cmdline) > 0 {
		p.args = strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	}
	if label, err := os.ReadFile(fmt.Sprintf("/proc/%d/attr/current", pid)); err == nil {
		p.label = strings.TrimRight(string(label), "\x00\n")
	}
	if p.label == "" {
		p.label = "-"
	}
	return p, nil
}

// psColumn is a column of ps: its header and its value for a process.
type psColumn struct {
	header string
	value  func(p proc, now psClock) string
}

// psClock is what the time columns need: now, the boot time, the memory.
type psClock struct {
	now, boot time.Time
	memory    uint64
}

func (c psClock) started(p proc) time.Time {
	return c.boot.Add(time.Duration(p.start) * time.Second / clockTicks)
}

func (c psClock) elapsed(p proc) time.Duration { return c.now.Sub(c.started(p)) }

func cpuTicks(p proc) uint64 { return p.utime + p.stime }

// cpuTime is [DD-]HH:MM:SS, as ps's TIME.
func cpuTime(ticks uint64) string {
	s := ticks / clockTicks
	if s >= 86400 {
		return fmt.Sprintf("%d-%02d:%02d:%02d", s/86400, s%86400/3600, s%3600/60, s%60)
	}
	return fmt.Sprintf("%02d:%02d:%02d", s/3600, s%3600/60, s%60)
}

// elapsedTime is [[DD-]HH:]MM:SS, as ps's ELAPSED.
func elapsedTime(d time.Duration) string {
	s := int64(d.Seconds())
	switch {
	case s >= 86400:
		return fmt.Sprintf("%d-%02d:%02d:%02d", s/86400, s%86400/3600, s%3600/60, s%60)
	case s >= 3600:
		return fmt.Sprintf("%02d:%02d:%02d", s/3600, s%3600/60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

// startTime is HH:MM today, Mon DD this year, else the year, as ps's
// STIME.
func startTime(t, now time.Time) string {
	switch {
	case now.Sub(t) < 24*time.Hour && t.YearDay() == now.YearDay():
		return t.Format("15:04")
	case t.Year() == now.Year():
		return t.Format("Jan02")
	}
	return t.Format("2006")
}

// ttyName is a process's controlling terminal as ps names it.
func ttyName(nr uint64) string {
	if nr == 0 {
		return "?"
	}
	major, minor := unix.Major(nr), unix.Minor(nr)
	switch {
	case major >= 136 && major <= 143:
		return fmt.Sprintf("pts/%d", (major-136)*256+minor)
	case major == 4 && minor < 64:
		return fmt.Sprintf("tty%d", minor)
	case major == 4:
		return fmt.Sprintf("ttyS%d", minor-64)
	case major == 5 && minor == 1:
		return "console"
	}
	return "?"
}

func userName(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return u.Username
	}
	return strconv.Itoa(uid)
}

func groupName(gid int) string {
	if g, err := user.LookupGroupId(strconv.Itoa(gid)); err == nil {
		return g.Name
	}
	return strconv.Itoa(gid)
}

func commandText(p proc) string {
	if len(p.args) == 0 {
		return "[" + p.comm + "]"
	}
	return strings.Join(p.args, " ")
}

func percent(part, whole float64) string {
	if whole <= 0 {
		return "0.0"
	}
	return strconv.FormatFloat(part*100/whole, 'f', 1, 64)
}

// psColumns are the -o fields berth's top knows, by ps's names.
var psColumns = map[string]psColumn{
	"pid":   {"PID", func(p proc, _ psClock) string { return strconv.Itoa(p.pid) }},
	"ppid":  {"PPID", func(p proc, _ psClock) string { return strconv.Itoa(p.ppid) }},
	"pgid":  {"PGID", func(p proc, _ psClock) string { return strconv.Itoa(p.pgid) }},
	"sid":   {"SID", func(p proc, _ psClock) string { return strconv.Itoa(p.sid) }},
	"uid":   {"UID", func(p proc, _ psClock) string { return strconv.Itoa(p.uid) }},
	"user":  {"USER", func(p proc, _ psClock) string { return userName(p.uid) }},
	"gid":   {"GID", func(p proc, _ psClock) string { return strconv.Itoa(p.gid) }},
	"group": {"GROUP", func(p proc, _ psClock) string { return groupName(p.gid) }},
	"comm":  {"COMMAND", func(p proc, _ psClock) string { return p.comm }},
	"args":  {"COMMAND", func(p proc, _ psClock) string { return commandText(p) }},
	"stat":  {"STAT", func(p proc, _ psClock) string { return p.state }},
	"s":     {"S", func(p proc, _ psClock) string { return p.state }},
	"tty":   {"TT", func(p proc, _ psClock) string { return ttyName(p.tty) }},
	"time":  {"TIME", func(p proc, _ psClock) string { return cpuTime(cpuTicks(p)) }},
	"etime": {"ELAPSED", func(p proc, c psClock) string { return elapsedTime(c.elapsed(p)) }},
	"stime": {"STIME", func(p proc, c psClock) string { return startTime(c.started(p), c.now) }},
	"vsz":   {"VSZ", func(p proc, _ psClock) string { return strconv.FormatUint(p.vsize/1024, 10) }},
	"rss": {"RSS", func(p proc, _ psClock) string {
		return strconv.FormatUint(p.rss*uint64(os.Getpagesize())/1024, 10)
	}},
	"%cpu": {"%CPU", func(p proc, c psClock) string {
		return percent(float64(cpuTicks(p))/clockTicks, c.elapsed(p).Seconds())
	}},
	"%mem": {"%MEM", func(p proc, c psClock) string {
		return percent(float64(p.rss*uint64(os.Getpagesize())), float64(c.memory))
	}},
	"c": {"C", func(p proc, c psClock) string {
		if e := c.elapsed(p).Seconds(); e > 0 {
			return strconv.Itoa(int(float64(cpuTicks(p)) / clockTicks * 100 / e))
		}
		return "0"
	}},
	"ni":    {"NI", func(p proc, _ psClock) string { return strconv.FormatInt(p.nice, 10) }},
	"pri":   {"PRI", func(p proc, _ psClock) string { return strconv.FormatInt(p.priority, 10) }},
	"nlwp":  {"NLWP", func(p proc, _ psClock) string { return strconv.FormatInt(p.thread, 10) }},
	"label": {"LABEL", func(p proc, _ psClock) string { return p.label }},
}

// psAliases are other names ps takes for the same fields.
var psAliases = map[string]string{"cmd": "args", "command": "args", "ucmd": "comm", "pcpu": "%cpu", "pmem": "%mem",
	"euid": "uid", "euser": "user", "egid": "gid", "egroup": "group", "tname": "tty", "tt": "tty", "start_time": "stime",
	"lwp": "pid", "state": "s", "thcount": "nlwp", "cputime": "time", "rssize": "rss", "vsize": "vsz", "context": "label",
	"nice": "ni", "session": "sid", "pgrp": "pgid"}

// psFormat reads ps arguments as docker top passes them ("-ef", "aux",
// "-o pid,comm", "-eo user,args", with Z or -Z for the SELinux label) into
// the columns to print.
func psFormat(args string) ([]psColumn, error) {
	fields := strings.Fields(args)
	if len(fields) == 0 {
		fields = []string{"-ef"}
	}
	var names []string
	full, bsd, label := false, false, false
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		switch {
		case strings.HasPrefix(f, "-o") || strings.HasPrefix(f, "-eo") || strings.HasPrefix(f, "o"):
			list := strings.TrimLeft(strings.TrimPrefix(strings.TrimPrefix(f, "-"), "e"), "o")
			if list == "" {
				if i+1 >= len(fields) {
					return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("ps: -o needs a list of fields"))
				}
				i++
				list = fields[i]
			}
			for _, n := range strings.Split(list, ",") {
				n = strings.ToLower(n)
				if a, ok := psAliases[n]; ok {
					n = a
				}
				if _, ok := psColumns[n]; !ok {
					return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("ps: unknown field %q: berth's top knows %s", n, strings.Join(psFieldNames(), ", ")))
				}
				names = append(names, n)
			}
		case strings.HasPrefix(f, "-"):
			for _, ch := range f[1:] {
				switch ch {
				case 'e', 'A', 'a', 'x':
				case 'f', 'F', 'l':
					full = true
				case 'Z', 'M':
					label = true
				default:
					return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("ps: option -%c: berth's top takes -e, -f, -Z, aux and -o FIELDS", ch))
				}
			}
		default:
			for _, ch := range f {
				switch ch {
				case 'a', 'x', 'e', 'w':
				case 'u':
					bsd = true
				case 'Z', 'M':
					label = true
				default:
					return nil, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("ps: option %c: berth's top takes -e, -f, -Z, aux and -o FIELDS", ch))
				}
			}
		}
	}
	chosen := names != nil
	if names == nil {
		switch {
		case bsd:
			names = []string{"user", "pid", "%cpu", "%mem", "vsz", "rss", "tty", "stat", "stime", "time", "args"}
		case full:
			names = []string{"uid", "pid", "ppid", "c", "stime", "tty", "time", "args"}
		default:
			names = []string{"pid", "tty", "time", "comm"}
		}
	}
	if label {
		names = append([]string{"label"}, names...)
	}
	var cols []psColumn
	for _, n := range names {
		c := psColumns[n]
		switch {
		case n == "uid" && full:
			c = psColumn{"UID", psColumns["user"].value} // ps -f shows the user's name under UID
		case n == "tty" && (full || bsd):
			c.header = "TTY"
		case n == "stime" && bsd:
			c.header = "START"
		case n == "args" && full:
			c.header = "CMD"
		case n == "comm" && !chosen && !full && !bsd:
			c.header = "CMD"
		}
		cols = append(cols, c)
	}
	return cols, nil
}

func psFieldNames() []string {
	var out []string
	for n := range psColumns {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// bootTime is when the host booted, from /proc/stat.
func bootTime() time.Time {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return time.Now()
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "btime "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return time.Unix(n, 0)
		}
	}
	return time.Now()
}

// ContainerTop is docker top: the container's processes, as ps with
// psArgs prints them.
func (e *Engine) ContainerTop(ref, psArgs string) (container.TopResponse, error) {
	c, err := e.Inspect(ref)
	if err != nil {
		return container.TopResponse{}, err
	}
	if !c.State.Running {
		return container.TopResponse{}, errdefs.Kind(errdefs.ErrConflict, fmt.Errorf("Container %s is not running", c.Id))
	}
	cols, err := psFormat(psArgs)
	if err != nil {
		return container.TopResponse{}, err
	}
	pids, err := e.opts.Runtime.Procs(c.Id)
	if err != nil {
		return container.TopResponse{}, err
	}
	sort.Ints(pids)
	clock := psClock{now: time.Now(), boot: bootTime(), memory: hostMemory()}
	out := container.TopResponse{Processes: [][]string{}}
	for _, col := range cols {
		out.Titles = append(out.Titles, col.header)
	}
	for _, pid := range pids {
		p, err := readProc(pid)
		if err != nil {
			continue // gone meanwhile
		}
		row := make([]string, len(cols))
		for i, col := range cols {
			row[i] = col.value(p, clock)
		}
		out.Processes = append(out.Processes, row)
	}
	return out, nil
}
