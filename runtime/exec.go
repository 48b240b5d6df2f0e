package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	goruntime "runtime"
	"syscall"

	"golang.org/x/sys/unix"
)

// ExecArg is the first argument with which the runtime starts (the sealed
// copy of) the running binary as the exec helper; its main calls RunExec.
const ExecArg = "__exec"

// RunExec is the exec helper, which runs a process in a running container
// (docker exec). The engine starts it in the host's PID namespace, inside
// the container's cgroup, with its ExecSpec on descriptor 3. On one locked
// thread it:
//
//  1. makes itself non-dumpable, so that nothing may read its memory or
//     descriptors through /proc while it holds the host's privileges;
//  2. sets its oom_score_adj and the SELinux label of the next exec, while
//     /proc is still the host's;
//  3. opens the container's namespaces, then, with a filesystem context
//     of its own (unshare(CLONE_FS), which setns into a mount namespace
//     needs in a threaded process), enters its IPC, UTS, network, cgroup
//     and mount namespaces;
//  4. enters its PID namespace last, which moves only children: nothing
//     of the helper is ever visible inside the container (runc's nsexec
//     order);
//  5. finds the user and the command in the container's files, drops to
//     the container's capabilities and user, installs its seccomp filter
//     (finish);
//  6. forks the command, which is born in the container's PID namespace
//     already in every other one, with this thread's credentials, filter
//     and label, and waits for it; its exit status is the helper's.
//
// It never returns.
func RunExec() {
	goruntime.LockOSThread()
	unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0)
	code, err := enterAndRun()
	if err != nil {
		exitWith(err)
	}
	os.Exit(code)
}

// namespaceOrder is the order in which the exec helper joins a
// container's namespaces: PID last, as it moves only children.
var namespaceOrder = []struct {
	name string
	flag int
}{{"ipc", unix.CLONE_NEWIPC}, {"uts", unix.CLONE_NEWUTS}, {"net", unix.CLONE_NEWNET},
	{"cgroup", unix.CLONE_NEWCGROUP}, {"mnt", unix.CLONE_NEWNS}, {"pid", unix.CLONE_NEWPID}}

func enterAndRun() (int, error) {
	f := os.NewFile(3, "spec")
	var s ExecSpec
	if err := json.NewDecoder(f).Decode(&s); err != nil {
		return 0, fmt.Errorf("read the exec spec: %w", err)
	}
	f.Close()
	if err := setOOMScoreAdj(s.Process.OOMScoreAdj); err != nil {
		return 0, err
	}
	if s.Process.Label != "" {
		if err := setExecLabel(s.Process.Label); err != nil {
			return 0, err
		}
	}
	last := lastCap()
	fds := make([]int, len(namespaceOrder))
	for i, ns := range namespaceOrder {
		fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/%s", s.Pid, ns.name), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return 0, fmt.Errorf("the container's %s namespace: %w", ns.name, err)
		}
		fds[i] = fd
	}
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return 0, fmt.Errorf("unshare the filesystem context: %w", err)
	}
	for i, ns := range namespaceOrder {
		if err := unix.Setns(fds[i], ns.flag); err != nil {
			return 0, fmt.Errorf("enter the container's %s namespace: %w", ns.name, err)
		}
		unix.Close(fds[i])
	}
	// This thread's root and working directory are the container's now.
	cred, err := lookupUser(s.Process.User)
	if err != nil {
		return 0, err
	}
	cwd := s.Process.Cwd
	if cwd == "" {
		cwd = "/"
	}
	if err := unix.Chdir(cwd); err != nil {
		return 0, fmt.Errorf("working directory %s: %w", cwd, err)
	}
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return 0, err
	}
	env := withDefaults(s.Process.Env, unix.ByteSliceToString(uts.Nodename[:]), cred.home)
	argv0, err := lookPath(s.Process.Args[0], env)
	if err != nil {
		return 0, err
	}
	if err := finish(s.Process, cred, last); err != nil {
		return 0, err
	}
	cmd := &exec.Cmd{Path: argv0, Args: s.Process.Args, Env: env, Dir: cwd,
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr,
		SysProcAttr: &syscall.SysProcAttr{Setsid: true, Setctty: s.Terminal, Ctty: 0}}
	if err := cmd.Start(); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return 0, coded(ExitNotFound, fmt.Errorf("exec %s: %w", s.Process.Args[0], err))
		}
		return 0, coded(ExitNotRunnable, fmt.Errorf("exec %s: %w", s.Process.Args[0], err))
	}
	err = cmd.Wait()
	if cmd.ProcessState == nil {
		return 0, err
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}
