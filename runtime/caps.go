package runtime

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// capabilities are the capability names the kernel knows, by number.
var capabilities = map[string]int{
	"CHOWN": 0, "DAC_OVERRIDE": 1, "DAC_READ_SEARCH": 2, "FOWNER": 3, "FSETID": 4, "KILL": 5, "SETGID": 6,
	"SETUID": 7, "SETPCAP": 8, "LINUX_IMMUTABLE": 9, "NET_BIND_SERVICE": 10, "NET_BROADCAST": 11,
	"NET_ADMIN": 12, "NET_RAW": 13, "IPC_LOCK": 14, "IPC_OWNER": 15, "SYS_MODULE": 16, "SYS_RAWIO": 17,
	"SYS_CHROOT": 18, "SYS_PTRACE": 19, "SYS_PACCT": 20, "SYS_ADMIN": 21, "SYS_BOOT": 22, "SYS_NICE": 23,
	"SYS_RESOURCE": 24, "SYS_TIME": 25, "SYS_TTY_CONFIG": 26, "MKNOD": 27, "LEASE": 28, "AUDIT_WRITE": 29,
	"AUDIT_CONTROL": 30, "SETFCAP": 31, "MAC_OVERRIDE": 32, "MAC_ADMIN": 33, "SYSLOG": 34, "WAKE_ALARM": 35,
	"BLOCK_SUSPEND": 36, "AUDIT_READ": 37, "PERFMON": 38, "BPF": 39, "CHECKPOINT_RESTORE": 40,
}

// DefaultCaps is Docker's default capability set.
var DefaultCaps = []string{"CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
	"SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"}

// ErrUnknownCapability is returned for a capability name the kernel does
// not have.
var ErrUnknownCapability = errors.New("unknown capability")

// AllCaps is every capability, as --privileged gives.
func AllCaps() []string {
	var out []string
	for c := range capabilities {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// Caps returns the capabilities a container keeps: Docker's defaults with
// add and drop applied ("ALL" in either means every capability), as
// docker run --cap-add and --cap-drop do. Names may have the CAP_ prefix.
func Caps(add, drop []string) ([]string, error) {
	set := map[string]bool{}
	for _, c := range DefaultCaps {
		set[c] = true
	}
	norm := func(c string) (string, error) {
		c = strings.TrimPrefix(strings.ToUpper(c), "CAP_")
		if _, ok := capabilities[c]; !ok && c != "ALL" {
			return "", fmt.Errorf("%w %q", ErrUnknownCapability, c)
		}
		return c, nil
	}
	for _, c := range drop {
		n, err := norm(c)
		if err != nil {
			return nil, err
		}
		if n == "ALL" {
			set = map[string]bool{}
		}
		delete(set, n)
	}
	for _, c := range add {
		n, err := norm(c)
		if err != nil {
			return nil, err
		}
		if n == "ALL" {
			for name := range capabilities {
				set[name] = true
			}
			continue
		}
		set[n] = true
	}
	var out []string
	for c := range set {
		out = append(out, c)
	}
	sort.Strings(out)
	return out, nil
}

// lastCap is the highest capability number this kernel knows.
func lastCap() int {
	last := 40
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			last = n
		}
	}
	return last
}

// capMask is the bit mask of caps.
func capMask(caps []string) uint64 {
	var mask uint64
	for _, c := range caps {
		mask |= 1 << capabilities[c]
	}
	return mask
}

// dropPrivileges leaves the calling thread with exactly keep in its
// bounding set, with the container's user and groups, with keep effective
// and permitted for root (none for another user, as the kernel does on
// setuid), nothing inheritable and no ambient capabilities, so that no
// exec can gain one. last is the kernel's highest capability number.
func dropPrivileges(cred credentials, keep []string, last int) error {
	mask := capMask(keep)
	for c := 0; c <= last; c++ {
		if mask&(1<<c) == 0 {
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
				return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
			}
		}
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	groups := make([]int, len(cred.groups))
	for i, g := range cred.groups {
		groups[i] = int(g)
	}
	if err := unix.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := unix.Setgid(int(cred.gid)); err != nil {
		return fmt.Errorf("setgid %d: %w", cred.gid, err)
	}
	if err := unix.Setuid(int(cred.uid)); err != nil {
		return fmt.Errorf("setuid %d: %w", cred.uid, err)
	}
	if cred.uid != 0 {
		mask = 0
	}
	// For another user the kernel has cleared effective and permitted on
	// setuid; inheritable it leaves, so it is set here for everyone.
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	data := [2]unix.CapUserData{
		{Effective: uint32(mask), Permitted: uint32(mask)},
		{Effective: uint32(mask >> 32), Permitted: uint32(mask >> 32)},
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}
