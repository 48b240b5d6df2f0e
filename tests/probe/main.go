// Command probe is run inside containers by berth's isolation tests: it
// tries what a default container must not do, with system calls a shell
// cannot make, and prints one line per try:
//
//	probe syscalls         each guarded system call: "name: allowed" or "name: errno"
//	probe write N          N bytes of "a" on stdout, and no newline
//	probe watch-caps FILE  every process seen in this PID namespace whose
//	                       effective capabilities are more than probe's own,
//	                       polled from "watching" until FILE exists
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: probe syscalls|write N|watch-caps FILE")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "syscalls":
		syscalls()
	case "write":
		n, _ := strconv.Atoi(os.Args[2])
		write(n)
	case "watch-caps":
		watchCaps(os.Args[2])
	default:
		os.Exit(2)
	}
}

// try runs one system call and reports whether the kernel let it through.
func try(name string, f func() error) {
	if err := f(); err != nil {
		fmt.Printf("%s: %v\n", name, err)
		return
	}
	fmt.Printf("%s: allowed\n", name)
}

func rawErr(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func syscalls() {
	desc := []byte("probe\x00")
	try("add_key", func() error {
		_, _, e := unix.Syscall6(unix.SYS_ADD_KEY, uintptr(unsafe.Pointer(&[]byte("user\x00")[0])),
			uintptr(unsafe.Pointer(&desc[0])), uintptr(unsafe.Pointer(&desc[0])), 5, uintptr(0xfffffffd), 0) // KEY_SPEC_PROCESS_KEYRING
		return rawErr(e)
	})
	try("keyctl", func() error {
		_, _, e := unix.Syscall(unix.SYS_KEYCTL, 0, ^uintptr(2), 0) // KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING
		return rawErr(e)
	})
	try("io_uring_setup", func() error {
		params := make([]byte, 120)
		fd, _, e := unix.Syscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params[0])), 0)
		if e == 0 {
			unix.Close(int(fd))
		}
		return rawErr(e)
	})
	try("userfaultfd", func() error {
		fd, _, e := unix.Syscall(unix.SYS_USERFAULTFD, 0, 0, 0)
		if e == 0 {
			unix.Close(int(fd))
		}
		return rawErr(e)
	})
	try("unshare(CLONE_NEWUSER)", func() error { return unix.Unshare(unix.CLONE_NEWUSER) })
	try("unshare(CLONE_NEWNS)", func() error { return unix.Unshare(unix.CLONE_NEWNS) })
	try("personality(READ_IMPLIES_EXEC)", func() error {
		_, _, e := unix.Syscall(unix.SYS_PERSONALITY, 0x0400000, 0, 0)
		return rawErr(e)
	})
	try("personality(PER_LINUX)", func() error {
		_, _, e := unix.Syscall(unix.SYS_PERSONALITY, 0, 0, 0)
		return rawErr(e)
	})
	try("socket(AF_VSOCK)", func() error {
		fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM, 0)
		if err == nil {
			unix.Close(fd)
		}
		return err
	})
	try("socket(AF_INET)", func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
		if err == nil {
			unix.Close(fd)
		}
		return err
	})
	try("mount(tmpfs)", func() error { return unix.Mount("none", "/mnt", "tmpfs", 0, "") })
	try("bpf", func() error {
		_, _, e := unix.Syscall(unix.SYS_BPF, 0, 0, 0)
		return rawErr(e)
	})
}

func write(n int) {
	buf := []byte(strings.Repeat("a", 1<<16))
	for n > 0 {
		k, err := os.Stdout.Write(buf[:min(n, len(buf))])
		if err != nil {
			os.Exit(1)
		}
		n -= k
	}
}

// capEff reads a process's effective capabilities.
func capEff(pid string) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return n, err == nil
		}
	}
	return 0, false
}

func watchCaps(stop string) {
	mine, _ := capEff("self")
	seen := map[string]bool{}
	fmt.Println("watching")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(stop); err == nil {
			fmt.Println("watched")
			return
		}
		if time.Now().After(deadline) {
			fmt.Println("not told to stop")
			return
		}
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid := e.Name()
			if pid[0] < '0' || pid[0] > '9' || seen[pid] {
				continue
			}
			if caps, ok := capEff(pid); ok && caps&^mine != 0 {
				comm, _ := os.ReadFile("/proc/" + pid + "/comm")
				fmt.Printf("pid %s (%s) has capabilities %016x\n", pid, strings.TrimSpace(string(comm)), caps)
				seen[pid] = true
			}
		}
	}
}
