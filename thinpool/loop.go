package thinpool

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Loop is a loop device attached to a backing file.
type Loop struct {
	Path string // /dev/loopN
	Dev  Dev
	f    *os.File
}

// AttachLoop attaches file to a free loop device with direct I/O (so the
// page cache does not hold every block twice) and auto-clear (the device
// goes away once nothing holds it open: its pool is removed). Close the
// Loop once the device is in use by a table.
func AttachLoop(file string) (*Loop, error) {
	backing, err := os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("thinpool: open %s: %w", file, err)
	}
	defer backing.Close()
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("thinpool: open /dev/loop-control: %w (is the loop module loaded?)", err)
	}
	defer ctl.Close()
	for attempt := 0; attempt < 10; attempt++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return nil, fmt.Errorf("thinpool: find a free loop device: %w", err)
		}
		path := fmt.Sprintf("/dev/loop%d", n)
		dev, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return nil, fmt.Errorf("thinpool: open %s: %w", path, err)
		}
		cfg := unix.LoopConfig{Fd: uint32(backing.Fd())}
		cfg.Info.Flags = unix.LO_FLAGS_DIRECT_IO | unix.LO_FLAGS_AUTOCLEAR
		copy(cfg.Info.File_name[:], file)
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, dev.Fd(), unix.LOOP_CONFIGURE, uintptr(unsafe.Pointer(&cfg)))
		if errno == unix.EBUSY { // another process took it first
			dev.Close()
			continue
		}
		if errno != 0 {
			dev.Close()
			return nil, fmt.Errorf("thinpool: attach %s to %s: %w", file, path, errno)
		}
		var st unix.Stat_t
		if err := unix.Fstat(int(dev.Fd()), &st); err != nil {
			dev.Close()
			return nil, err
		}
		return &Loop{Path: path, Dev: devFromKernel(st.Rdev), f: dev}, nil
	}
	return nil, errors.New("thinpool: no free loop device after 10 attempts")
}

// Close drops berth's handle on the loop device; with auto-clear it is
// detached as soon as no table uses it either.
func (l *Loop) Close() error { return l.f.Close() }
