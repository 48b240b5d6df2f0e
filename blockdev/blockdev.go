// Package blockdev finds the machine's disks and partitions by what they
// are, not by the order the kernel numbered them: filesystem labels (ext4
// and FAT), GPT partition names and the stable names udev would give
// (/dev/disk/by-id/ata-MODEL_SERIAL, nvme-MODEL_SERIAL, virtio-SERIAL,
// usb-VENDOR_MODEL_SERIAL-0:0, each partition with -partN). berth has no
// udev: PID 1 makes /dev/disk/by-id, by-label and by-partlabel itself
// (Link), and the config names devices by them, or as LABEL=name and
// PARTLABEL=name (Path). See docs/design.md.
package blockdev

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Device is one disk or partition.
type Device struct {
	Name          string // vda, vda1, sda, nvme0n1p2, ...
	Partition     bool
	HasPartitions bool
	Label         string   // ext2/3/4 volume name, if any
	FATLabel      string   // FAT volume label, if any
	PartName      string   // GPT partition name, if any
	IDs           []string // its names under /dev/disk/by-id
}

// Path is the device node.
func (d Device) Path() string { return "/dev/" + d.Name }

// List returns the disks and partitions, by name, except loop,
// device-mapper, RAM and optical devices and those exclude names (and
// their partitions).
func List(exclude map[string]bool) []Device {
	return list("/sys", exclude)
}

// Named tells whether a block device (its kernel name, as in
// /sys/class/block) is one List returns and Link names: not a loop,
// device-mapper, RAM or optical device, nor an eMMC's boot or RPMB area.
func Named(name string) bool {
	for _, p := range []string{"loop", "dm-", "ram", "zram", "sr"} {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	for _, suffix := range []string{"boot0", "boot1", "rpmb"} {
		if strings.HasSuffix(name, suffix) {
			return false
		}
	}
	return name != ""
}

func list(sysfs string, exclude map[string]bool) []Device {
	entries, _ := os.ReadDir(filepath.Join(sysfs, "class", "block"))
	var out []Device
	for _, e := range entries {
		name := e.Name()
		if !Named(name) {
			continue
		}
		sys := filepath.Join(sysfs, "class", "block", name)
		d := Device{Name: name}
		parent := ""
		if _, err := os.Stat(filepath.Join(sys, "partition")); err == nil {
			d.Partition = true
			// A partition's directory is in its disk's (Join would
			// clean "..", not follow the link).
			real, _ := filepath.EvalSymlinks(sys)
			parent = filepath.Base(filepath.Dir(real))
			if exclude[parent] {
				continue
			}
		}
		if exclude[name] {
			continue
		}
		subs, _ := filepath.Glob(filepath.Join(sys, name+"*"))
		d.HasPartitions = len(subs) > 0
		partNumber := ""
		if b, err := os.ReadFile(filepath.Join(sys, "uevent")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "PARTNAME="); ok {
					d.PartName = v
				}
				if v, ok := strings.CutPrefix(line, "PARTN="); ok {
					partNumber = v
				}
			}
		}
		start := readStart(d.Path(), 2048)
		d.Label, _ = ParseExt4Label(start)
		if d.Label == "" {
			d.FATLabel = ParseFATLabel(start)
		}
		disk := name
		if d.Partition {
			disk = parent
		}
		for _, id := range diskIDs(sysfs, disk) {
			if d.Partition {
				id += "-part" + partNumber
			}
			d.IDs = append(d.IDs, id)
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// diskIDs are a whole disk's names under /dev/disk/by-id, as udev's
// persistent-storage rules make them.
func diskIDs(sysfs, disk string) []string {
	sys := filepath.Join(sysfs, "class", "block", disk)
	attr := func(rel string) string {
		b, _ := os.ReadFile(filepath.Join(sys, rel))
		return strings.TrimSpace(string(b))
	}
	var out []string
	switch {
	case strings.HasPrefix(disk, "vd"):
		if s := attr("serial"); s != "" {
			out = append(out, "virtio-"+idString(s))
		}
	case strings.HasPrefix(disk, "nvme"):
		model, serial := attr("device/model"), attr("device/serial")
		if model != "" && serial != "" {
			id := "nvme-" + idString(model) + "_" + idString(serial)
			if nsid := attr("nsid"); nsid == "1" || nsid == "" {
				out = append(out, id)
			}
			if nsid := attr("nsid"); nsid != "" {
				out = append(out, id+"_"+nsid)
			}
		}
	case strings.HasPrefix(disk, "sd"):
		dev, _ := filepath.EvalSymlinks(filepath.Join(sys, "device"))
		switch {
		case strings.Contains(dev, "/ata"):
			if model, serial, ok := ataIdentity("/dev/" + disk); ok {
				out = append(out, "ata-"+idString(model)+"_"+idString(serial))
			}
		case strings.Contains(dev, "/usb"):
			serial := usbSerial(dev)
			vendor, model := attr("device/vendor"), attr("device/model")
			if serial != "" {
				out = append(out, "usb-"+idString(vendor)+"_"+idString(model)+"_"+idString(serial)+"-0:"+lun(dev))
			}
		}
	}
	return out
}

// idString is a sysfs or ATA string as udev puts it in a name: trimmed,
// runs of spaces as one underscore, nothing but printable ASCII.
func idString(s string) string {
	var b strings.Builder
	for _, f := range strings.Fields(s) {
		if b.Len() > 0 {
			b.WriteByte('_')
		}
		for _, r := range f {
			if r > ' ' && r < 0x7f && r != '/' {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// usbSerial is the serial number of the USB device above a SCSI device.
func usbSerial(scsiDev string) string {
	for d := scsiDev; d != "/" && d != "."; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "serial")); err == nil {
			if _, err := os.Stat(filepath.Join(d, "idVendor")); err == nil {
				return strings.TrimSpace(string(b))
			}
		}
	}
	return ""
}

// lun is the logical unit of a SCSI device (host:channel:target:lun).
func lun(scsiDev string) string {
	parts := strings.Split(filepath.Base(scsiDev), ":")
	return parts[len(parts)-1]
}

// ataIdentity reads an ATA disk's model and serial number
// (HDIO_GET_IDENTITY; libata returns the strings in reading order).
func ataIdentity(dev string) (model, serial string, ok bool) {
	f, err := os.Open(dev)
	if err != nil {
		return "", "", false
	}
	defer f.Close()
	var id [512]byte
	const hdioGetIdentity = 0x030d
	rc, err := f.SyscallConn()
	if err != nil {
		return "", "", false
	}
	var errno unix.Errno
	rc.Control(func(fd uintptr) {
		_, _, errno = unix.Syscall(unix.SYS_IOCTL, fd, hdioGetIdentity, uintptr(unsafe.Pointer(&id)))
	})
	if errno != 0 {
		return "", "", false
	}
	return string(id[54:94]), string(id[20:40]), true
}

// Path turns a device name of the config into a path: LABEL=name and
// PARTLABEL=name into their links under /dev/disk; a path as it is.
func Path(spec string) string {
	if v, ok := strings.CutPrefix(spec, "LABEL="); ok {
		return "/dev/disk/by-label/" + v
	}
	if v, ok := strings.CutPrefix(spec, "PARTLABEL="); ok {
		return "/dev/disk/by-partlabel/" + v
	}
	return spec
}

// Link makes /dev/disk/by-id, by-label and by-partlabel for the devices
// present: PID 1 runs it once drivers are loaded, again while it waits for
// a device, and on each disk's uevent. A name that is already right is
// left alone, a changed one is replaced by rename and a stale one removed,
// so a reader never finds a name missing while Link runs.
func Link() error {
	return link("/dev", List(nil))
}

func link(dev string, devices []Device) error {
	want := map[string]map[string]string{"by-id": {}, "by-label": {}, "by-partlabel": {}}
	put := func(kind, name, target string) {
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
			return
		}
		want[kind][name] = "../../" + target
	}
	for _, d := range devices {
		for _, id := range d.IDs {
			put("by-id", id, d.Name)
		}
		put("by-label", d.Label, d.Name)
		put("by-label", d.FATLabel, d.Name)
		put("by-partlabel", d.PartName, d.Name)
	}
	for kind, names := range want {
		dir := filepath.Join(dev, "disk", kind)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		for name, target := range names {
			p := filepath.Join(dir, name)
			if got, err := os.Readlink(p); err == nil && got == target {
				continue
			}
			tmp := filepath.Join(dir, ".new-"+name)
			os.Remove(tmp)
			if err := os.Symlink(target, tmp); err != nil {
				return err
			}
			if err := os.Rename(tmp, p); err != nil {
				os.Remove(tmp)
				return err
			}
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			// Another Link's name on its way in is left to it.
			if _, ok := names[e.Name()]; !ok && !strings.HasPrefix(e.Name(), ".new-") {
				os.RemoveAll(filepath.Join(dir, e.Name()))
			}
		}
	}
	return nil
}

// Wait waits, at most timeout, for the device spec names (a path or
// LABEL=/PARTLABEL=) to be there, making the /dev/disk links again as
// devices appear, and returns the device node it leads to.
func Wait(spec string, timeout time.Duration) (string, error) {
	p := Path(spec)
	deadline := time.Now().Add(timeout)
	for {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			return real, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("%s: no such device after %v (ls -l /dev/disk/by-id /dev/disk/by-label /dev/disk/by-partlabel lists the names berth found)", spec, timeout)
		}
		if strings.HasPrefix(p, "/dev/disk/") {
			Link()
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// readStart returns the first n bytes of dev, or nil: enough to read the
// label of an ext4 or FAT filesystem.
func readStart(dev string, n int) []byte {
	f, err := os.Open(dev)
	if err != nil {
		return nil
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := io.ReadFull(f, b); err != nil {
		return nil
	}
	return b
}

// ParseExt4Label reads the volume name of an ext2/3/4 superblock, which
// starts 1024 bytes into the device: magic 0xEF53 at offset 56, the
// 16-byte volume name at offset 120.
func ParseExt4Label(start []byte) (string, bool) {
	if len(start) < 1024+136 {
		return "", false
	}
	sb := start[1024:]
	if binary.LittleEndian.Uint16(sb[56:]) != 0xEF53 {
		return "", false
	}
	return string(bytes.TrimRight(sb[120:136], "\x00")), true
}

// ParseFATLabel reads the label of a FAT boot sector: at 0x47 for FAT32
// and 0x2B for FAT12/16; "NO NAME" is none.
func ParseFATLabel(bs []byte) string {
	if len(bs) < 512 || bs[510] != 0x55 || bs[511] != 0xAA {
		return ""
	}
	var label []byte
	switch {
	case bytes.HasPrefix(bs[0x52:], []byte("FAT32")):
		label = bs[0x47 : 0x47+11]
	case bytes.HasPrefix(bs[0x36:], []byte("FAT")):
		label = bs[0x2B : 0x2B+11]
	default:
		return ""
	}
	l := strings.TrimRight(string(label), " ")
	if l == "NO NAME" {
		return ""
	}
	return l
}
