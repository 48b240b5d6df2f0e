package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"berth/blockdev"
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
	// The pool's devices are never the state disk.
	exclude := map[string]bool{}
	for _, d := range []string{st.DataDevice, st.MetadataDevice} {
		if d == "" {
			continue
		}
		if real, err := filepath.EvalSymlinks(blockdev.Path(d)); err == nil {
			exclude[filepath.Base(real)] = true
		}
	}
	var dev string
	switch st.StateDisk {
	case "none":
	case "auto":
		dev = s.findStateDisk(exclude)
	default:
		var err error
		if dev, err = blockdev.Wait(st.StateDisk, 30*time.Second); err != nil {
			s.logf("state disk: %v", err)
		}
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

// findStateDisk returns the disk or partition labelled berth-state, on
// any bus, or else the first blank disk, logging each disk it passes over.
func (s *system) findStateDisk(exclude map[string]bool) string {
	disks := blockdev.List(exclude)
	for _, d := range disks {
		if d.Label == StateLabel || d.PartName == StateLabel {
			return d.Path()
		}
	}
	for _, d := range disks {
		if d.Partition || d.HasPartitions {
			continue
		}
		kind, err := diskContent(d.Path())
		if err == nil && kind == diskBlank {
			return d.Path()
		}
		s.logf("state disk: skipping %s: it is neither blank nor labelled %s (berth never formats a disk with data on it)", d.Path(), StateLabel)
	}
	return ""
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
	if label, ok := blockdev.ParseExt4Label(b); ok && label == StateLabel {
		return diskState, nil
	}
	return diskForeign, nil
}
