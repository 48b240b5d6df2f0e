package qemu

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// VM is a running QEMU whose serial console is connected to pipes.
type VM struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu      sync.Mutex
	out     []byte        // everything the serial console printed
	changed chan struct{} // closed and replaced whenever out grows or QEMU exits
	cursor  int           // Expect searches from here
	exited  bool
	exitErr error
	runs    int    // numbers Run's markers
	monitor string // QEMU's human monitor socket, if Options asked for one
}

// Monitor runs commands on QEMU's human monitor (Options.Monitor), as
// device_add to plug a device in.
func (vm *VM) Monitor(commands ...string) error {
	if vm.monitor == "" {
		return fmt.Errorf("qemu: no monitor: set Options.Monitor")
	}
	return monitorCommands(vm.monitor, commands...)
}

// Start boots a VM. Its serial console is read into a log that Expect
// searches and Log returns.
func Start(opts Options) (*VM, error) {
	args, err := Args(opts)
	if err != nil {
		return nil, err
	}
	args = append(args, "-serial", "stdio")
	var monitor string
	if opts.DeadNIC || opts.Monitor {
		dir, err := os.MkdirTemp("", "berth-qemu-")
		if err != nil {
			return nil, err
		}
		monitor = filepath.Join(dir, "monitor")
		args = append(args, "-monitor", "unix:"+monitor+",server=on,wait=off")
		if opts.DeadNIC {
			args = append(args, "-S") // paused until the dead card's link is down
		}
	}
	cmd := exec.Command(Binary, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("qemu: start %s: %w (is qemu-system-x86 installed? run make deps)", Binary, err)
	}
	vm := &VM{cmd: cmd, stdin: stdin, changed: make(chan struct{}), monitor: monitor}
	go vm.read(stdout)
	if opts.DeadNIC {
		if err := vm.Monitor("set_link "+DeadNICID+" off", "cont"); err != nil {
			vm.Kill()
			return nil, err
		}
	}
	return vm, nil
}

// read collects the console output until QEMU exits.
func (vm *VM) read(r io.Reader) {
	buf := make([]byte, 4096)
	for {
		n, err := r.Read(buf)
		vm.mu.Lock()
		vm.out = append(vm.out, buf[:n]...)
		if err != nil {
			vm.exitErr = vm.cmd.Wait()
			vm.exited = true
			if vm.monitor != "" {
				os.RemoveAll(filepath.Dir(vm.monitor))
			}
		}
		close(vm.changed)
		vm.changed = make(chan struct{})
		vm.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// Log returns everything the serial console printed so far.
func (vm *VM) Log() string {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return string(vm.out)
}

// Send types s on the serial console.
func (vm *VM) Send(s string) error {
	_, err := io.WriteString(vm.stdin, s)
	return err
}

// Expect waits until the console prints a match for the regular
// expression pattern after the last match, and returns the match and its
// groups. It fails when timeout passes or QEMU exits first.
func (vm *VM) Expect(pattern string, timeout time.Duration) ([]string, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		vm.mu.Lock()
		rest := vm.out[vm.cursor:]
		if loc := re.FindSubmatchIndex(rest); loc != nil {
			var groups []string
			for i := 0; i < len(loc); i += 2 {
				if loc[i] >= 0 {
					groups = append(groups, string(rest[loc[i]:loc[i+1]]))
				} else {
					groups = append(groups, "")
				}
			}
			vm.cursor += loc[1]
			vm.mu.Unlock()
			return groups, nil
		}
		exited, changed := vm.exited, vm.changed
		vm.mu.Unlock()
		if exited {
			return nil, fmt.Errorf("qemu: exited (%v) before the console printed %q", vm.exitErr, pattern)
		}
		select {
		case <-changed:
		case <-deadline.C:
			return nil, fmt.Errorf("qemu: the console did not print %q within %v", pattern, timeout)
		}
	}
}

// Run types command (one line of shell) into the shell on the console and
// returns what it printed and its exit status. Markers around the output
// let Run tell the output from the echo of what it typed.
func (vm *VM) Run(command string, timeout time.Duration) (string, int, error) {
	vm.mu.Lock()
	vm.runs++
	n := vm.runs
	vm.mu.Unlock()
	// One line, so that nothing the shell echoes comes between the
	// markers; the quotes split the markers in that echo, so only the
	// shell's output matches them. The command runs in a subshell, so that
	// one ending in & is still one line.
	line := fmt.Sprintf("echo '%s''%d'; (%s); echo \"%s%d:$?\"\n", "=BEGIN=", n, command, "=END=", n)
	if err := vm.Send(line); err != nil {
		return "", -1, err
	}
	if _, err := vm.Expect(fmt.Sprintf(`=BEGIN=%d\r?\n`, n), timeout); err != nil {
		return "", -1, err
	}
	start := vm.cursorPos()
	// The line end matters: without it a status of 125 could match as 1
	// when only its first digit has arrived.
	m, err := vm.Expect(fmt.Sprintf(`=END=%d:(\d+)\r?\n`, n), timeout)
	if err != nil {
		return "", -1, err
	}
	vm.mu.Lock()
	out := string(vm.out[start : vm.cursor-len(m[0])])
	vm.mu.Unlock()
	code, _ := strconv.Atoi(m[1])
	return cleanOutput(out), code, nil
}

// asyncPrefix starts the lines PID 1 prints on the console whenever the
// kernel logs an SELinux denial: they are no command's output.
const asyncPrefix = "berth: SELinux: "

// cleanOutput drops carriage returns, terminal queries, PID 1's SELinux
// reports and the newline before the end marker.
func cleanOutput(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	s = strings.ReplaceAll(s, "\x1b[6n", "")
	if strings.Contains(s, asyncPrefix) {
		var keep []string
		for _, line := range strings.SplitAfter(s, "\n") {
			if !strings.HasPrefix(line, asyncPrefix) {
				keep = append(keep, line)
			}
		}
		s = strings.Join(keep, "")
	}
	return strings.TrimSuffix(s, "\n")
}

func (vm *VM) cursorPos() int {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return vm.cursor
}

// Wait waits until QEMU exits and returns its exit status, or kills it
// when timeout passes first.
func (vm *VM) Wait(timeout time.Duration) (int, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		vm.mu.Lock()
		exited, changed := vm.exited, vm.changed
		vm.mu.Unlock()
		if exited {
			return vm.cmd.ProcessState.ExitCode(), nil
		}
		select {
		case <-changed:
		case <-deadline.C:
			vm.Kill()
			return -1, fmt.Errorf("qemu: still running after %v; killed", timeout)
		}
	}
}

// Poweroff types poweroff on the console and waits for QEMU to exit; a
// guest that hangs is killed after timeout.
func (vm *VM) Poweroff(timeout time.Duration) error {
	if err := vm.Send("poweroff\n"); err != nil && !vm.hasExited() {
		return err
	}
	code, err := vm.Wait(timeout)
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("qemu: exited with status %d after poweroff", code)
	}
	return nil
}

func (vm *VM) hasExited() bool {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return vm.exited
}

// Kill stops QEMU at once, as a power cut would.
func (vm *VM) Kill() {
	if vm.cmd.Process != nil {
		vm.cmd.Process.Signal(os.Kill)
	}
}

// Reporter is the part of testing.TB that Cleanup needs.
type Reporter interface {
	Cleanup(func())
	Failed() bool
	Logf(format string, args ...any)
}

// CleanupOnExit makes sure the VM is gone when the test ends, and prints
// its whole serial log when the test failed.
func (vm *VM) CleanupOnExit(t Reporter) {
	t.Cleanup(func() {
		if !vm.hasExited() {
			vm.Kill()
			vm.Wait(10 * time.Second)
		}
		if t.Failed() {
			t.Logf("serial console log:\n%s", vm.Log())
		}
	})
}

// monitorCommands runs commands on QEMU's human monitor at the unix
// socket path, once QEMU listens there (within 30 s).
func monitorCommands(path string, commands ...string) error {
	deadline := time.Now().Add(30 * time.Second)
	var conn net.Conn
	for {
		var err error
		if conn, err = net.Dial("unix", path); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("qemu: monitor %s: %w", path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer conn.Close()
	r := bufio.NewReader(conn)
	for _, c := range commands {
		if _, err := r.ReadString(')'); err != nil { // the (qemu) prompt
			return fmt.Errorf("qemu: monitor: %w", err)
		}
		if _, err := fmt.Fprintf(conn, "%s\n", c); err != nil {
			return fmt.Errorf("qemu: monitor: %s: %w", c, err)
		}
	}
	_, err := r.ReadString(')') // the prompt after the last
	return err
}
