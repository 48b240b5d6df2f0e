package thinpool

import (
	"encoding/binary"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Control is an open /dev/mapper/control: device-mapper's ioctl interface.
type Control struct {
	f *os.File
}

// OpenControl opens /dev/mapper/control. The dm-mod module must be loaded
// (berth loads it at boot), and devtmpfs makes the node.
func OpenControl() (*Control, error) {
	f, err := os.OpenFile("/dev/mapper/control", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("thinpool: open device-mapper control: %w (is dm-mod loaded?)", err)
	}
	return &Control{f: f}, nil
}

// Close closes the control node.
func (c *Control) Close() error { return c.f.Close() }

// request is one dm ioctl's input.
type request struct {
	name        string
	dev         uint64
	flags       uint32
	targetCount uint32
	data        []byte
}

// reply is the header and data the kernel wrote back.
type reply struct {
	hdr  unix.DmIoctl
	data []byte
}

// ioctl sends one device-mapper ioctl. The buffer is the 312-byte
// dm_ioctl header followed by the data; when the kernel sets
// DM_BUFFER_FULL_FLAG the call is repeated with a larger buffer.
func (c *Control) ioctl(cmd uintptr, r request) (reply, error) {
	size := 16 << 10
	for size < unix.SizeofDmIoctl+len(r.data) {
		size *= 2
	}
	for {
		words := make([]uint64, size/8) // 8-byte aligned, as the kernel wants
		buf := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), size)
		hdr := (*unix.DmIoctl)(unsafe.Pointer(&buf[0]))
		hdr.Version = [3]uint32{4, 0, 0}
		hdr.Data_size = uint32(size)
		hdr.Data_start = unix.SizeofDmIoctl
		hdr.Flags = r.flags
		hdr.Dev = r.dev
		hdr.Target_count = r.targetCount
		if len(r.name) >= unix.DM_NAME_LEN {
			return reply{}, fmt.Errorf("device name %q is too long", r.name)
		}
		copy(hdr.Name[:], r.name)
		copy(buf[unix.SizeofDmIoctl:], r.data)
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, c.f.Fd(), cmd, uintptr(unsafe.Pointer(&buf[0]))); errno != 0 {
			return reply{}, errno
		}
		if hdr.Flags&unix.DM_BUFFER_FULL_FLAG != 0 {
			size *= 2
			continue
		}
		end := int(hdr.Data_size)
		if end > size {
			end = size
		}
		out := reply{hdr: *hdr}
		if int(hdr.Data_start) < end {
			out.data = append([]byte(nil), buf[hdr.Data_start:end]...)
		}
		return out, nil
	}
}

// Version returns the device-mapper ioctl interface version.
func (c *Control) Version() ([3]uint32, error) {
	r, err := c.ioctl(unix.DM_VERSION, request{})
	return r.hdr.Version, err
}

// Create makes an empty device called name and returns its number.
func (c *Control) Create(name string) (Dev, error) {
	r, err := c.ioctl(unix.DM_DEV_CREATE, request{name: name})
	if err != nil {
		return Dev{}, fmt.Errorf("create device %s: %w", name, err)
	}
	return devFromKernel(r.hdr.Dev), nil
}

// Load loads targets as the inactive table of name.
func (c *Control) Load(name string, targets []Target) error {
	data, err := encodeTargets(targets)
	if err != nil {
		return err
	}
	if _, err := c.ioctl(unix.DM_TABLE_LOAD, request{name: name, targetCount: uint32(len(targets)), data: data}); err != nil {
		return fmt.Errorf("load table of %s: %w", name, err)
	}
	return nil
}

// Resume makes the loaded table of name live and lets I/O through.
func (c *Control) Resume(name string) error {
	if _, err := c.ioctl(unix.DM_DEV_SUSPEND, request{name: name}); err != nil {
		return fmt.Errorf("resume %s: %w", name, err)
	}
	return nil
}

// Suspend holds new I/O to name and flushes what is in flight.
func (c *Control) Suspend(name string) error {
	if _, err := c.ioctl(unix.DM_DEV_SUSPEND, request{name: name, flags: unix.DM_SUSPEND_FLAG}); err != nil {
		return fmt.Errorf("suspend %s: %w", name, err)
	}
	return nil
}

// Remove removes the device name.
func (c *Control) Remove(name string) error {
	if _, err := c.ioctl(unix.DM_DEV_REMOVE, request{name: name}); err != nil {
		return fmt.Errorf("remove %s: %w", name, err)
	}
	return nil
}

// Info returns the number of the device name, and whether it exists.
func (c *Control) Info(name string) (Dev, bool, error) {
	r, err := c.ioctl(unix.DM_DEV_STATUS, request{name: name})
	if err == unix.ENXIO {
		return Dev{}, false, nil
	}
	if err != nil {
		return Dev{}, false, fmt.Errorf("status of %s: %w", name, err)
	}
	return devFromKernel(r.hdr.Dev), true, nil
}

// Status returns the status lines of name's live table.
func (c *Control) Status(name string) ([]Target, error) {
	r, err := c.ioctl(unix.DM_TABLE_STATUS, request{name: name})
	if err != nil {
		return nil, fmt.Errorf("table status of %s: %w", name, err)
	}
	return decodeTargets(r.data, r.hdr.Target_count)
}

// Table returns the live table of name.
func (c *Control) Table(name string) ([]Target, error) {
	r, err := c.ioctl(unix.DM_TABLE_STATUS, request{name: name, flags: unix.DM_STATUS_TABLE_FLAG})
	if err != nil {
		return nil, fmt.Errorf("table of %s: %w", name, err)
	}
	return decodeTargets(r.data, r.hdr.Target_count)
}

// Message sends a message to the target of name at sector 0.
func (c *Control) Message(name, msg string) error {
	if _, err := c.ioctl(unix.DM_TARGET_MSG, request{name: name, data: encodeMessage(msg)}); err != nil {
		return fmt.Errorf("message %q to %s: %w", msg, name, err)
	}
	return nil
}

// encodeMessage lays out a DM_TARGET_MSG payload: the sector (0, as
// thin-pool messages want; little-endian u64) and the NUL-terminated text.
func encodeMessage(msg string) []byte {
	data := make([]byte, 8, 8+len(msg)+1)
	data = append(data, msg...)
	return append(data, 0)
}

// Device is one device-mapper device.
type Device struct {
	Name string
	Dev  Dev
}

// List returns every device-mapper device. Each dm_name_list entry is
// dev (8 bytes), next (4 bytes, offset of the next entry from this one, 0
// for the last) and the NUL-terminated name.
func (c *Control) List() ([]Device, error) {
	r, err := c.ioctl(unix.DM_LIST_DEVICES, request{})
	if err != nil {
		return nil, fmt.Errorf("list devices: %w", err)
	}
	var out []Device
	for off := 0; off+12 <= len(r.data); {
		e := r.data[off:]
		dev := binary.LittleEndian.Uint64(e[0:])
		next := binary.LittleEndian.Uint32(e[8:])
		if dev == 0 && next == 0 && off == 0 && cString(e[12:]) == "" {
			break // no devices
		}
		out = append(out, Device{Name: cString(e[12:]), Dev: devFromKernel(dev)})
		if next == 0 {
			break
		}
		off += int(next)
	}
	return out, nil
}
