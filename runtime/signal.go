package runtime

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"berth/errdefs"
)

// ParseSignal reads a signal by number or name (KILL, SIGKILL).
func ParseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid signal: %s", s))
		}
		return unix.Signal(n), nil
	}
	sig := unix.SignalNum("SIG" + strings.TrimPrefix(strings.ToUpper(s), "SIG"))
	if sig == 0 {
		return 0, errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("invalid signal: %s", s))
	}
	return sig, nil
}
