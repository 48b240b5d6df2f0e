package supervise

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"sync"

	"github.com/docker/docker/pkg/stringid"
	"golang.org/x/sys/unix"
)

// The keeper lets running containers outlive a crash of the engine, as
// docs/design.md says: PID 1 holds, for every run, the container's pid and the
// engine's ends of its output streams (log pipes or pty). Those ends stay
// open while no engine runs, so the container does not get EPIPE or a
// hangup, and its output waits in the pipe. A container whose engine died
// becomes PID 1's child: PID 1 reaps it and keeps its exit status. The
// next engine gets both back over its keeper socket and re-adopts the run.
//
// The messages go over a SOCK_SEQPACKET pair, one JSON object per message,
// the files as SCM_RIGHTS.

// keeperMsg is one message between PID 1 and the engine.
type keeperMsg struct {
	// Op is hold or drop (engine to PID 1), held, exit or ready (PID 1 to
	// the engine).
	Op     string
	ID     string
	Pid    int      `json:",omitempty"`
	Names  []string `json:",omitempty"` // of the files that come with the message
	Status *int     `json:",omitempty"` // the wait status of a run that ended
}

// HeldRun is a run that PID 1 kept while the engine was away.
type HeldRun struct {
	Pid    int
	Files  map[string]*os.File
	Status *unix.WaitStatus // set when the run ended meanwhile
}

// KeeperFDEnv names the variable through which PID 1 tells the engine the
// descriptor of its keeper socket.
const KeeperFDEnv = "BERTH_KEEPER_FD"

func sendMsg(fd int, m keeperMsg, files []*os.File) error { return sendMsgFlags(fd, m, files, 0) }

// sendMsgFlags is sendMsg with sendmsg(2)'s flags: PID 1 sends exits with
// MSG_DONTWAIT, so that an engine that does not read cannot stall it.
func sendMsgFlags(fd int, m keeperMsg, files []*os.File, flags int) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	var oob []byte
	if len(files) > 0 {
		fds := make([]int, len(files))
		for i, f := range files {
			fds[i] = fileFD(f)
		}
		oob = unix.UnixRights(fds...)
	}
	return unix.Sendmsg(fd, b, oob, nil, flags)
}

func recvMsg(fd int) (keeperMsg, []*os.File, error) {
	buf := make([]byte, 64*1024)
	oob := make([]byte, unix.CmsgSpace(16*4))
	n, oobn, _, _, err := unix.Recvmsg(fd, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return keeperMsg{}, nil, err
	}
	if n == 0 {
		return keeperMsg{}, nil, fmt.Errorf("keeper: the other side went away")
	}
	var files []*os.File
	if oobn > 0 {
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return keeperMsg{}, nil, err
		}
		for _, cm := range msgs {
			fds, err := unix.ParseUnixRights(&cm)
			if err != nil {
				continue
			}
			for _, f := range fds {
				files = append(files, os.NewFile(uintptr(f), "kept"))
			}
		}
	}
	var m keeperMsg
	if err := json.Unmarshal(buf[:n], &m); err != nil {
		for _, f := range files {
			f.Close()
		}
		return keeperMsg{}, nil, fmt.Errorf("keeper: bad message: %w", err)
	}
	return m, files, nil
}

// Keeper is PID 1's side.
type Keeper struct {
	mu   sync.Mutex
	runs map[string]*keptRun
	fd   int // the current engine's socket; -1 when none
	logf func(string, ...any)
}

type keptRun struct {
	pid    int
	names  []string
	files  []*os.File
	status *int
}

// NewKeeper returns an empty keeper; logf reports what goes wrong.
func NewKeeper(logf func(string, ...any)) *Keeper {
	return &Keeper{runs: map[string]*keptRun{}, fd: -1, logf: logf}
}

// Connect makes the socket for a new engine and returns its end, to be
// passed to the engine; the keeper first sends it every run it holds,
// then serves its messages until it goes away.
func (k *Keeper) Connect() (*os.File, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("keeper: socket: %w", err)
	}
	k.mu.Lock()
	if k.fd >= 0 {
		unix.Close(k.fd)
	}
	k.fd = fds[0]
	ids := make([]string, 0, len(k.runs))
	for id := range k.runs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var held []keptMsg
	for _, id := range ids {
		r := k.runs[id]
		held = append(held, keptMsg{keeperMsg{Op: "held", ID: id, Pid: r.pid, Names: r.names, Status: r.status}, r.files})
	}
	k.mu.Unlock()
	// Sent as the engine reads them, not before it starts: many runs
	// would fill the socket's buffer.
	go func() {
		for _, h := range held {
			if err := sendMsg(fds[0], h.msg, h.files); err != nil {
				k.logf("keeper: hand %s back to the engine: %v", stringid.TruncateID(h.msg.ID), err)
			}
		}
		sendMsg(fds[0], keeperMsg{Op: "ready"}, nil)
		k.serve(fds[0])
	}()
	return os.NewFile(uintptr(fds[1]), "keeper"), nil
}

// keptMsg is a held run's message with its files.
type keptMsg struct {
	msg   keeperMsg
	files []*os.File
}

func (k *Keeper) serve(fd int) {
	for {
		m, files, err := recvMsg(fd)
		if err != nil {
			k.mu.Lock()
			if k.fd == fd {
				unix.Close(fd)
				k.fd = -1
			}
			k.mu.Unlock()
			return
		}
		k.mu.Lock()
		switch m.Op {
		case "hold":
			k.drop(m.ID)
			k.runs[m.ID] = &keptRun{pid: m.Pid, names: m.Names, files: files}
		case "drop":
			k.drop(m.ID)
		default:
			for _, f := range files {
				f.Close()
			}
		}
		k.mu.Unlock()
	}
}

func (k *Keeper) drop(id string) {
	if r, ok := k.runs[id]; ok {
		for _, f := range r.files {
			f.Close()
		}
		delete(k.runs, id)
	}
}

// Reaped is told of every child PID 1 reaped that nobody waited for. When
// it was a container whose engine died, its status is kept and sent to
// the engine. It reports whether pid was a container's.
func (k *Keeper) Reaped(pid int, ws unix.WaitStatus) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	for id, r := range k.runs {
		if r.pid == pid && r.status == nil {
			st := int(ws)
			r.status = &st
			if k.fd >= 0 {
				if err := sendMsgFlags(k.fd, keeperMsg{Op: "exit", ID: id, Pid: pid, Status: &st}, nil, unix.MSG_DONTWAIT); err != nil {
					k.logf("keeper: tell the engine that container %s ended: %v; the next engine will know", stringid.TruncateID(id), err)
				}
			}
			return true
		}
	}
	return false
}

// KeeperLink is the engine's side.
type KeeperLink struct {
	fd   int
	mu   sync.Mutex
	exit func(id string, ws unix.WaitStatus)
}

// OpenKeeper reads, from the socket PID 1 passed, the runs it held for
// the engine.
func OpenKeeper(f *os.File) (*KeeperLink, map[string]HeldRun, error) {
	// Duplicated close-on-exec at once: no process started meanwhile may
	// inherit it.
	fd, err := unix.FcntlInt(uintptr(fileFD(f)), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	f.Close()
	held := map[string]HeldRun{}
	for {
		m, files, err := recvMsg(fd)
		if err != nil {
			return nil, nil, fmt.Errorf("keeper: %w", err)
		}
		if m.Op == "ready" {
			break
		}
		if m.Op != "held" || len(files) != len(m.Names) {
			for _, f := range files {
				f.Close()
			}
			continue
		}
		h := HeldRun{Pid: m.Pid, Files: map[string]*os.File{}}
		for i, n := range m.Names {
			h.Files[n] = files[i]
		}
		if m.Status != nil {
			ws := unix.WaitStatus(*m.Status)
			h.Status = &ws
		}
		held[m.ID] = h
	}
	return &KeeperLink{fd: fd}, held, nil
}

// Serve passes the exits PID 1 reports to exit, until PID 1 goes away.
func (l *KeeperLink) Serve(exit func(id string, ws unix.WaitStatus)) {
	for {
		m, files, err := recvMsg(l.fd)
		if err != nil {
			return
		}
		for _, f := range files {
			f.Close()
		}
		if m.Op == "exit" && m.Status != nil {
			exit(m.ID, unix.WaitStatus(*m.Status))
		}
	}
}

// Hold gives PID 1 the engine's ends of a run's streams.
func (l *KeeperLink) Hold(id string, pid int, files map[string]*os.File) error {
	if l == nil {
		return nil
	}
	m := keeperMsg{Op: "hold", ID: id, Pid: pid}
	var fs []*os.File
	// Not stdin's write end: PID 1 holding it would keep the container
	// from ever reading the end of its input. A container whose engine
	// dies sees its stdin end.
	for _, n := range []string{"stdout", "stderr", "pty"} {
		if f := files[n]; f != nil {
			m.Names = append(m.Names, n)
			fs = append(fs, f)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return sendMsg(l.fd, m, fs)
}

// Drop tells PID 1 a run is over.
func (l *KeeperLink) Drop(id string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	sendMsg(l.fd, keeperMsg{Op: "drop", ID: id}, nil)
}

// fileFD is f's descriptor. Unlike f.Fd, it leaves the file in
// non-blocking mode, so that a goroutine reading it does not hold a thread.
func fileFD(f *os.File) int {
	fd := -1
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(u uintptr) { fd = int(u) })
	}
	return fd
}
