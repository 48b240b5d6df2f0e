package runtime

import (
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// sealedSelf copies the running binary into a memfd and seals it against
// every change (F_SEAL_WRITE, SHRINK, GROW, and SEAL so that no seal comes
// off), as runc's exeseal does. Container processes are started from this
// copy: /proc/<pid>/exe of a process still running berth's code inside a
// container then names a file nothing can write, so that a container
// cannot reach through it to the host's binary (CVE-2019-5736).
func sealedSelf() (*os.File, error) {
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("runtime: seal the binary: %w", err)
	}
	defer src.Close()
	fd, err := unix.MemfdCreate("berth", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("runtime: seal the binary: memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "memfd:berth")
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return nil, fmt.Errorf("runtime: seal the binary: copy: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("runtime: seal the binary: %w", err)
	}
	// A new process names it /proc/self/fd/N once its own descriptors 0
	// to 6 are in place: N must be none of them.
	high, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, highFD)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("runtime: seal the binary: %w", err)
	}
	return os.NewFile(uintptr(high), "memfd:berth"), nil
}

// highFD is the lowest descriptor the sealed binary may have: above every
// descriptor a started process is given.
const highFD = 100

// sealed reports whether f carries every seal sealedSelf adds.
func sealed(f *os.File) bool {
	got, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	want := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	return err == nil && got&want == want
}
