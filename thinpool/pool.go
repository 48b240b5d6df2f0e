package thinpool

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Pool is an active thin pool: a device-mapper thin-pool target over a
// metadata and a data device.
type Pool struct {
	ctl  *Control
	name string
	dev  Dev
	// busyWait is how long DeactivateThin waits for a device's last
	// holder; zero is defaultBusyWait.
	busyWait time.Duration
}

// Activate creates the pool device name over meta and data, or returns the
// pool already active under that name. When the metadata device is new,
// its first 4 KiB must be zero (see ZeroMetadataHeader): the kernel then
// formats it; otherwise it opens the pool the metadata describes.
func Activate(ctl *Control, name string, meta, data Dev, dataSectors uint64) (*Pool, error) {
	if dev, ok, err := ctl.Info(name); err != nil {
		return nil, fmt.Errorf("thinpool: %w", err)
	} else if ok {
		return &Pool{ctl: ctl, name: name, dev: dev}, nil
	}
	dataSectors -= dataSectors % BlockSectors
	if dataSectors == 0 {
		return nil, fmt.Errorf("thinpool: data device %s is smaller than one %d KiB block", data, BlockSectors*SectorSize/1024)
	}
	dev, err := ctl.Create(name)
	if err != nil {
		return nil, fmt.Errorf("thinpool: %w", err)
	}
	if err := ctl.Load(name, []Target{PoolTarget(dataSectors, meta, data)}); err != nil {
		ctl.Remove(name)
		return nil, fmt.Errorf("thinpool: %w", err)
	}
	if err := ctl.Resume(name); err != nil {
		ctl.Remove(name)
		return nil, fmt.Errorf("thinpool: %w (is the metadata device corrupt or from another pool? thin_check tells)", err)
	}
	return &Pool{ctl: ctl, name: name, dev: dev}, nil
}

// ZeroMetadataHeader zeroes the first 4 KiB of a new metadata device so that
// the kernel formats it. Never call it on a device that holds a pool.
func ZeroMetadataHeader(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("thinpool: %w", err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, metadataBlock), 0); err != nil {
		return fmt.Errorf("thinpool: zero metadata header of %s: %w", path, err)
	}
	return f.Sync()
}

// Reload gives the active pool a new table over meta and data, now
// dataSectors long: how it grows once its data device has.
func (p *Pool) Reload(dataSectors uint64, meta, data Dev) error {
	if err := p.ctl.Load(p.name, []Target{PoolTarget(dataSectors, meta, data)}); err != nil {
		return fmt.Errorf("thinpool: %w", err)
	}
	if err := p.ctl.Suspend(p.name); err != nil {
		return fmt.Errorf("thinpool: %w", err)
	}
	if err := p.ctl.Resume(p.name); err != nil {
		return fmt.Errorf("thinpool: %w", err)
	}
	return nil
}

// Name is the pool's device-mapper name; Dev its device number.
func (p *Pool) Name() string { return p.name }
func (p *Pool) Dev() Dev     { return p.dev }

// Status reports the pool's usage, transaction id and mode.
func (p *Pool) Status() (PoolStatus, error) {
	ts, err := p.ctl.Status(p.name)
	if err != nil {
		return PoolStatus{}, fmt.Errorf("thinpool: %w", err)
	}
	if len(ts) != 1 || ts[0].Type != "thin-pool" {
		return PoolStatus{}, fmt.Errorf("thinpool: %s is not a thin pool (targets %v)", p.name, ts)
	}
	return ParsePoolStatus(ts[0].Params)
}

// CreateThin creates an empty thin device id in the pool's metadata.
func (p *Pool) CreateThin(id uint32) error {
	if id > MaxDeviceID {
		return fmt.Errorf("thinpool: device id %d exceeds 24 bits", id)
	}
	if err := p.ctl.Message(p.name, msgCreateThin(id)); err != nil {
		return fmt.Errorf("thinpool: create thin %d: %w", id, err)
	}
	return nil
}

// CreateSnapshot creates device id as a snapshot of origin. When the
// origin is active (originName is not ""), it is suspended for the moment
// of the snapshot so that no write is half in it.
func (p *Pool) CreateSnapshot(id, origin uint32, originName string) (err error) {
	if id > MaxDeviceID {
		return fmt.Errorf("thinpool: device id %d exceeds 24 bits", id)
	}
	if originName != "" {
		if err := p.ctl.Suspend(originName); err != nil {
			return fmt.Errorf("thinpool: create snapshot %d of %d: %w", id, origin, err)
		}
		defer func() {
			if rerr := p.ctl.Resume(originName); rerr != nil && err == nil {
				err = fmt.Errorf("thinpool: create snapshot %d of %d: %w", id, origin, rerr)
			}
		}()
	}
	if err := p.ctl.Message(p.name, msgCreateSnap(id, origin)); err != nil {
		return fmt.Errorf("thinpool: create snapshot %d of %d: %w", id, origin, err)
	}
	return nil
}

// Delete removes thin device id from the pool, freeing its blocks. The
// device must not be active.
func (p *Pool) Delete(id uint32) error {
	if err := p.ctl.Message(p.name, msgDelete(id)); err != nil {
		return fmt.Errorf("thinpool: delete thin %d: %w", id, err)
	}
	return nil
}

// SetTransactionID moves the pool's transaction id from old to new; the
// kernel refuses when old is not the current one.
func (p *Pool) SetTransactionID(old, new uint64) error {
	if err := p.ctl.Message(p.name, msgSetTransactionID(old, new)); err != nil {
		return fmt.Errorf("thinpool: set transaction id %d -> %d: %w", old, new, err)
	}
	return nil
}

// ActivateThin makes thin device id visible as the device-mapper device
// name, sectors long, and returns its number (/dev/dm-N under devtmpfs).
func (p *Pool) ActivateThin(name string, id uint32, sectors uint64) (Dev, error) {
	if dev, ok, err := p.ctl.Info(name); err != nil {
		return Dev{}, fmt.Errorf("thinpool: %w", err)
	} else if ok {
		return dev, nil
	}
	dev, err := p.ctl.Create(name)
	if err != nil {
		return Dev{}, fmt.Errorf("thinpool: activate thin %d: %w", id, err)
	}
	if err := p.ctl.Load(name, []Target{ThinTarget(sectors, p.dev, id)}); err != nil {
		p.ctl.Remove(name)
		return Dev{}, fmt.Errorf("thinpool: activate thin %d: %w", id, err)
	}
	if err := p.ctl.Resume(name); err != nil {
		p.ctl.Remove(name)
		return Dev{}, fmt.Errorf("thinpool: activate thin %d: %w", id, err)
	}
	return dev, nil
}

// DeactivateThin removes the device-mapper device name; the thin device
// and its data stay in the pool. A device still open is waited for, at
// most busyWait (10 s): a container's last process can hold its mount
// namespace, and so the device, a moment after the container is gone.
// Docker's devicemapper driver retries the same way. A device still busy
// after that is an error that names its holders.
func (p *Pool) DeactivateThin(name string) error {
	dev, ok, err := p.ctl.Info(name)
	if err != nil || !ok {
		return err
	}
	wait := p.busyWait
	if wait == 0 {
		wait = defaultBusyWait
	}
	deadline := time.Now().Add(wait)
	for {
		err := p.ctl.Remove(name)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("thinpool: deactivate: %w", err)
		}
		if time.Now().After(deadline) {
			if who := holders("/proc", dev); who != "" {
				err = fmt.Errorf("%w: %s", err, who)
			}
			return fmt.Errorf("thinpool: deactivate: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// defaultBusyWait is how long DeactivateThin waits for a device's last
// holder.
const defaultBusyWait = 10 * time.Second

// Deactivate removes the pool device. Its thin devices must be
// deactivated first; the metadata and data stay on their devices.
func (p *Pool) Deactivate() error {
	if err := p.ctl.Remove(p.name); err != nil {
		return fmt.Errorf("thinpool: deactivate pool: %w", err)
	}
	return nil
}

// DevicePath returns the /dev path of a block device, from sysfs (there is
// no udev to make /dev/mapper names).
func DevicePath(d Dev) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/sys/dev/block/%s/uevent", d))
	if err != nil {
		return "", fmt.Errorf("thinpool: find device %s: %w", d, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if name, ok := strings.CutPrefix(line, "DEVNAME="); ok {
			return "/dev/" + name, nil
		}
	}
	return "", fmt.Errorf("thinpool: device %s has no DEVNAME in sysfs", d)
}
