package runtime

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// rlimitNames are the resource limits --ulimit names, as Docker's.
var rlimitNames = map[string]int{
	"as": unix.RLIMIT_AS, "core": unix.RLIMIT_CORE, "cpu": unix.RLIMIT_CPU, "data": unix.RLIMIT_DATA,
	"fsize": unix.RLIMIT_FSIZE, "locks": unix.RLIMIT_LOCKS, "memlock": unix.RLIMIT_MEMLOCK,
	"msgqueue": unix.RLIMIT_MSGQUEUE, "nice": unix.RLIMIT_NICE, "nofile": unix.RLIMIT_NOFILE,
	"nproc": unix.RLIMIT_NPROC, "rss": unix.RLIMIT_RSS, "rtprio": unix.RLIMIT_RTPRIO,
	"rttime": unix.RLIMIT_RTTIME, "sigpending": unix.RLIMIT_SIGPENDING, "stack": unix.RLIMIT_STACK,
}

// ErrRlimit is returned for a resource limit the kernel does not have.
var ErrRlimit = errors.New("resource limit")

// CheckRlimit refuses a limit name the kernel does not have, or a soft
// limit above the hard one.
func CheckRlimit(l Rlimit) error {
	if _, ok := rlimitNames[l.Name]; !ok {
		return fmt.Errorf("%w: unknown ulimit type %q", ErrRlimit, l.Name)
	}
	if l.Soft > l.Hard {
		return fmt.Errorf("%w: ulimit %s: soft limit %d is above the hard limit %d", ErrRlimit, l.Name, l.Soft, l.Hard)
	}
	return nil
}

// setRlimits sets the process's resource limits, before its privileges
// go (raising a hard limit needs CAP_SYS_RESOURCE).
func setRlimits(ls []Rlimit) error {
	for _, l := range ls {
		if err := CheckRlimit(l); err != nil {
			return err
		}
		if err := unix.Setrlimit(rlimitNames[l.Name], &unix.Rlimit{Cur: l.Soft, Max: l.Hard}); err != nil {
			return fmt.Errorf("ulimit %s: %w", l.Name, err)
		}
	}
	return nil
}
