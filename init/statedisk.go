package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"berth/hostpath"

	"golang.org/x/sys/unix"
)

// StateLabel is the filesystem (or GPT partition) label of the state disk.
const StateLabel = "berth-state"

// blankBytes is how much of a disk must be zero for berth to call it blank
// and format it.
const blankBytes = 1 << 20

// mountStateDisk mounts the persistent disk at /var/lib/berth, choosing it
// as [storage] state_disk says. With "auto": the disk or partition
// labelled berth-state; else the first virtio disk that is verifiably
// blank (its first MiB all zero), which is formatted and labelled. A disk
// that is neither is never written to, and the console says why it was
// skipped. With no usable disk, /var/lib/berth is a tmpfs and nothing
// persists.
func mountStateDisk(s *system) error {
	st := s.config.Storage
	exclude := map[string]bool{}
	for _, d := range []string{st.DataDevice, st.MetadataDevice} {
		if d != "" {
			exclude[filepath.Base(d)] = true
		}
	}
	var dev string
	switch st.StateDisk {
	case "none":
	case "auto":
		dev = s.findStateDisk(exclude)
	default:
		dev = st.StateDisk
	}
	kind := diskForeign
	if dev != "" {
		var err error
		if kind, err = diskContent(dev); err != nil {
			s.logf("state disk %s: %v", dev, err)
			dev = ""
		} else if kind == diskForeign {
			s.logf("state disk %s holds data that is not berth's state filesystem; berth never formats a disk with data on it", dev)
			dev = ""
		}
	}
	if dev == "" {
		s.logf("WARNING: no state disk; /var/lib/berth is in memory and nothing will persist across a reboot. Attach a blank disk or one labelled %s.", StateLabel)
		return mountTmpfsState()
	}
	if kind == diskBlank {
		s.logf("formatting %s as the state disk (ext4, label %s)", dev, StateLabel)
		if out, err := exec.Command(hostpath.Mkfs, "-q", "-F", "-L", StateLabel, "-E", "lazy_itable_init=1,lazy_journal_init=1", dev).CombinedOutput(); err != nil {
			return fmt.Errorf("format %s: %v: %s", dev, err, out)
		}
	}
	if err := os.MkdirAll(hostpath.State, 0o755); err != nil {
		return err
	}
	if err := unix.Mount(dev, hostpath.State, "ext4", unix.MS_NOATIME, ""); err != nil {
		s.logf("mount %s on %s: %v; keeping state in memory instead", dev, hostpath.State, err)
		return mountTmpfsState()
	}
	s.logf("state disk %s mounted on %s", dev, hostpath.State)
	return seedState()
}

func mountTmpfsState() error {
	if err := os.MkdirAll(hostpath.State, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", hostpath.State, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		return err
	}
	return seedState()
}

// seedState gives a fresh state directory the welcome page the default
// config's web server serves. Once the directory exists it is the user's:
// it is never written again.
func seedState() error {
	www := hostpath.WWW
	if _, err := os.Stat(www); err == nil {
		return nil
	}
	page, err := os.ReadFile(filepath.Join(hostpath.Welcome, "index.html"))
	if err != nil {
		return nil // an appliance built without one
	}
	if err := os.MkdirAll(www, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(www, "index.html"), page, 0o644)
}

// findStateDisk returns the labelled state disk, or else the first blank
// virtio disk, logging each disk it passes over.
func (s *system) findStateDisk(exclude map[string]bool) string {
	disks := blockDevices(exclude)
	for _, d := range disks {
		if d.label == StateLabel || d.partName == StateLabel {
			return "/dev/" + d.name
		}
	}
	for _, d := range disks {
		if !strings.HasPrefix(d.name, "vd") || d.partition || d.hasPartitions {
			continue
		}
		kind, err := diskContent("/dev/" + d.name)
		if err == nil && kind == diskBlank {
			return "/dev/" + d.name
		}
		s.logf("state disk: skipping /dev/%s: it is neither blank nor labelled %s (berth never formats a disk with data on it)", d.name, StateLabel)
	}
	return ""
}

type blockDevice struct {
	name          string // vda, vda1, nvme0n1p2, ...
	partition     bool
	hasPartitions bool
	label         string // ext4 label, if any
	fatLabel      string // FAT label, if any
	partName      string // GPT partition name, if any
}

// blockDevices lists disks and partitions, except loop, device-mapper,
// RAM and optical devices and those in exclude (and their partitions).
func blockDevices(exclude map[string]bool) []blockDevice {
	entries, _ := os.ReadDir("/sys/class/block")
	var out []blockDevice
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "loop") || strings.HasPrefix(name, "dm-") || strings.HasPrefix(name, "ram") || strings.HasPrefix(name, "sr") {
			continue
		}
		sys := filepath.Join("/sys/class/block", name)
		d := blockDevice{name: name}
		if _, err := os.Stat(filepath.Join(sys, "partition")); err == nil {
			d.partition = true
			parent, _ := filepath.EvalSymlinks(filepath.Join(sys, ".."))
			if exclude[filepath.Base(parent)] {
				continue
			}
		}
		if exclude[name] {
			continue
		}
		subs, _ := filepath.Glob(filepath.Join(sys, name+"*"))
		d.hasPartitions = len(subs) > 0
		if b, err := os.ReadFile(filepath.Join(sys, "uevent")); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "PARTNAME="); ok {
					d.partName = v
				}
			}
		}
		start := readStart("/dev/"+name, 2048)
		d.label, _ = parseExt4Label(start)
		if d.label == "" {
			d.fatLabel = parseFATLabel(start)
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

type diskKind int

const (
	diskBlank   diskKind = iota // first MiB all zero
	diskState                   // an ext4 filesystem labelled berth-state
	diskForeign                 // anything else
)

// diskContent reads the start of dev to tell a blank disk from berth's
// state filesystem and from anything else.
func diskContent(dev string) (diskKind, error) {
	f, err := os.Open(dev)
	if err != nil {
		return diskForeign, err
	}
	defer f.Close()
	b := make([]byte, blankBytes)
	if _, err := io.ReadFull(f, b); err != nil && err != io.ErrUnexpectedEOF {
		return diskForeign, fmt.Errorf("read %s: %w", dev, err)
	}
	if bytes.Count(b, []byte{0}) == len(b) {
		return diskBlank, nil
	}
	if label, ok := parseExt4Label(b); ok && label == StateLabel {
		return diskState, nil
	}
	return diskForeign, nil
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

// parseExt4Label reads the volume name of an ext2/3/4 superblock, which
// starts 1024 bytes into the device: magic 0xEF53 at offset 56, the
// 16-byte volume name at offset 120.
func parseExt4Label(start []byte) (string, bool) {
	if len(start) < 1024+136 {
		return "", false
	}
	sb := start[1024:]
	if binary.LittleEndian.Uint16(sb[56:]) != 0xEF53 {
		return "", false
	}
	return string(bytes.TrimRight(sb[120:136], "\x00")), true
}
