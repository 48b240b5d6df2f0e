package thinpool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"berth/errdefs"

	"golang.org/x/sys/unix"
)

// PoolName is the device-mapper name of berth's pool.
const PoolName = "berth-pool"

// BaseDevice is the thin device every other one is, directly or not, a
// snapshot of. It is formatted with ext4 once.
const BaseDevice = "base"

// Config says where the pool lives.
type Config struct {
	// Name is the pool's device-mapper name; thin devices are activated as
	// Name-<device>. Default PoolName.
	Name string
	// Dir holds metadata.json, the lock and, in loopback mode, the sparse
	// files data and metadata: /var/lib/berth/devicemapper.
	Dir string
	// DataDevice and MetadataDevice are block devices; both empty means
	// loopback files in Dir.
	DataDevice, MetadataDevice string
	// DataSize and MetadataSize size new loopback files, in bytes.
	DataSize, MetadataSize int64
	// BaseSize is the base device's size in bytes.
	BaseSize int64
	// MinFreePercent is the free data space below which no device is
	// created.
	MinFreePercent int
	// Mkfs is the mkfs.ext4 program.
	Mkfs string
	// Log receives progress of long steps (creating the pool, formatting
	// the base device, recovery).
	Log io.Writer
}

// ErrNoDevice is returned for a thin device the record does not have.
var ErrNoDevice = errdefs.Kind(errdefs.ErrNotFound, errors.New("no device"))

// Storage is berth's thin pool with its record: every operation takes the
// lock, re-reads the record, and leaves pool and record in step, so that
// PID 1, the engine and the CLI can share it.
type Storage struct {
	cfg  Config
	ctl  *Control
	pool *Pool
	lock *os.File
}

func (s *Storage) metadataPath() string { return filepath.Join(s.cfg.Dir, "metadata.json") }

// Loopback reports whether the pool lives in loopback files.
func (c Config) Loopback() bool { return c.DataDevice == "" }

func (c Config) dataPath() string {
	if c.Loopback() {
		return filepath.Join(c.Dir, "data")
	}
	return c.DataDevice
}

func (c Config) metadataPath() string {
	if c.Loopback() {
		return filepath.Join(c.Dir, "metadata")
	}
	return c.MetadataDevice
}

func (c Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, "thinpool: "+format+"\n", args...)
	}
}

// Open opens the pool, creating it the first time: it sets up the backing
// devices, activates the pool, repairs an unfinished change from a crash,
// removes stray devices and makes sure the base device exists. It never
// creates a pool over devices that hold anything: metadata that is not
// berth's, or berth's record that does not match the pool, is an error and
// the pool is left as it is.
func Open(cfg Config) (*Storage, error) {
	if cfg.Name == "" {
		cfg.Name = PoolName
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("thinpool: %w", err)
	}
	ctl, err := OpenControl()
	if err != nil {
		return nil, err
	}
	s := &Storage{cfg: cfg, ctl: ctl}
	if err := s.open(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Storage) open() error {
	lock, err := os.OpenFile(filepath.Join(s.cfg.Dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("thinpool: %w", err)
	}
	s.lock = lock
	return s.locked(func(m *Metadata) error {
		m, err := s.activatePool(m)
		if err != nil {
			return err
		}
		if err := s.recover(m); err != nil {
			return err
		}
		if err := s.removeStrays(m); err != nil {
			return err
		}
		return s.ensureBase(m)
	})
}

// Close drops berth's handles; the pool and its devices stay active.
func (s *Storage) Close() error {
	if s.lock != nil {
		s.lock.Close()
	}
	return s.ctl.Close()
}

// locked runs f with the pool's lock held and the record freshly read (nil
// when there is none yet).
func (s *Storage) locked(f func(*Metadata) error) error {
	if err := unix.Flock(int(s.lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("thinpool: lock %s: %w", s.lock.Name(), err)
	}
	defer unix.Flock(int(s.lock.Fd()), unix.LOCK_UN)
	m, err := loadMetadata(s.metadataPath())
	if err != nil {
		return fmt.Errorf("thinpool: %w; the pool is left untouched", err)
	}
	return f(m)
}

// activatePool activates the pool, or finds it active, and returns the
// record (a new one for a new pool).
func (s *Storage) activatePool(m *Metadata) (*Metadata, error) {
	if dev, ok, err := s.ctl.Info(s.cfg.Name); err != nil {
		return nil, fmt.Errorf("thinpool: %w", err)
	} else if ok {
		if m == nil {
			return nil, fmt.Errorf("thinpool: pool %s is active but %s is missing; not touching it", s.cfg.Name, s.metadataPath())
		}
		s.pool = &Pool{ctl: s.ctl, name: s.cfg.Name, dev: dev}
		return m, nil
	}
	if s.cfg.Loopback() {
		if err := s.createLoopFiles(m); err != nil {
			return nil, err
		}
	}
	kind, err := metadataKind(s.cfg.metadataPath())
	if err != nil {
		return nil, err
	}
	switch {
	case kind == metaPool && m == nil:
		return nil, fmt.Errorf("thinpool: %s holds a thin pool that berth has no record of (%s is missing); not touching it. To start over, wipe its first MiB", s.cfg.metadataPath(), s.metadataPath())
	case kind == metaForeign:
		return nil, fmt.Errorf("thinpool: %s holds data that is not a thin pool; berth never formats a device with data on it. If it may be erased: dd if=/dev/zero of=%s bs=1M count=1", s.cfg.metadataPath(), s.cfg.metadataPath())
	case kind == metaBlank && m != nil:
		return nil, fmt.Errorf("thinpool: %s records a pool but %s is blank; not creating a new pool over the record. Remove the record to start over", s.metadataPath(), s.cfg.metadataPath())
	case kind == metaBlank:
		if !s.cfg.Loopback() {
			if blank, err := isBlank(s.cfg.DataDevice, 1<<20); err != nil {
				return nil, err
			} else if !blank {
				return nil, fmt.Errorf("thinpool: data device %s is not blank; berth never creates a pool over data. If it may be erased: dd if=/dev/zero of=%s bs=1M count=1", s.cfg.DataDevice, s.cfg.DataDevice)
			}
		}
		m = newMetadata()
		if err := m.save(s.metadataPath()); err != nil {
			return nil, fmt.Errorf("thinpool: %w", err)
		}
		s.cfg.logf("creating a new pool on %s (data) and %s (metadata)", s.cfg.dataPath(), s.cfg.metadataPath())
	}
	meta, metaClose, err := s.backingDevice(s.cfg.metadataPath())
	if err != nil {
		return nil, err
	}
	defer metaClose()
	data, dataClose, err := s.backingDevice(s.cfg.dataPath())
	if err != nil {
		return nil, err
	}
	defer dataClose()
	sectors, err := deviceSectors(data)
	if err != nil {
		return nil, err
	}
	p, err := Activate(s.ctl, s.cfg.Name, meta, data, sectors)
	if err != nil {
		return nil, err
	}
	s.pool = p
	return m, nil
}

// createLoopFiles makes the sparse backing files of a new loopback pool.
// Files that exist are kept as they are.
func (s *Storage) createLoopFiles(m *Metadata) error {
	for path, size := range map[string]int64{s.cfg.dataPath(): s.cfg.DataSize, s.cfg.metadataPath(): s.cfg.MetadataSize} {
		if _, err := os.Stat(path); err == nil {
			continue
		}
		if m != nil {
			return fmt.Errorf("thinpool: %s is missing but %s records a pool; not creating an empty one in its place", path, s.metadataPath())
		}
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("thinpool: %w", err)
		}
		err = f.Truncate(size)
		f.Close()
		if err != nil {
			return fmt.Errorf("thinpool: size %s: %w", path, err)
		}
	}
	return nil
}

// backingDevice returns the device number of a block device, or attaches
// a loop device to a file. The returned func releases berth's handle.
func (s *Storage) backingDevice(path string) (Dev, func(), error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return Dev{}, nil, fmt.Errorf("thinpool: %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFBLK {
		return devFromKernel(st.Rdev), func() {}, nil
	}
	l, err := AttachLoop(path)
	if err != nil {
		return Dev{}, nil, err
	}
	return l.Dev, func() { l.Close() }, nil
}

func deviceSectors(d Dev) (uint64, error) {
	path, err := DevicePath(d)
	if err != nil {
		return 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("thinpool: %w", err)
	}
	defer f.Close()
	n, err := unix.IoctlGetUint64(int(f.Fd()), unix.BLKGETSIZE64)
	if err != nil {
		return 0, fmt.Errorf("thinpool: size of %s: %w", path, err)
	}
	return n / SectorSize, nil
}

type metaContent int

const (
	metaBlank   metaContent = iota // first 4 KiB all zero
	metaPool                       // a thin-pool superblock
	metaForeign                    // anything else
)

// thinMagic is the thin-pool metadata superblock's magic number, at byte
// 32 of the first block (after csum, flags, blocknr and uuid).
const thinMagic = 27022010

// metadataKind tells a blank metadata device from a pool and from
// anything else.
func metadataKind(path string) (metaContent, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("thinpool: %w", err)
	}
	defer f.Close()
	b := make([]byte, metadataBlock)
	if _, err := io.ReadFull(f, b); err != nil {
		return 0, fmt.Errorf("thinpool: read %s: %w", path, err)
	}
	switch {
	case bytes.Count(b, []byte{0}) == len(b):
		return metaBlank, nil
	case binary.LittleEndian.Uint64(b[32:]) == thinMagic:
		return metaPool, nil
	}
	return metaForeign, nil
}

// isBlank reports whether the first n bytes of path are all zero.
func isBlank(path string, n int) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("thinpool: %w", err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := io.ReadFull(f, b); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return false, fmt.Errorf("thinpool: read %s: %w", path, err)
	}
	return bytes.Count(b, []byte{0}) == len(b), nil
}

// recover finishes or undoes an unfinished change (see Metadata.plan).
func (s *Storage) recover(m *Metadata) error {
	st, err := s.pool.Status()
	if err != nil {
		return err
	}
	if st.NeedsCheck || st.Mode == "fail" {
		return fmt.Errorf("thinpool: the kernel says the pool's metadata needs checking (mode %s): run thin_check on %s", st.Mode, s.cfg.metadataPath())
	}
	r, err := m.plan(st.TransactionID)
	if err != nil {
		return fmt.Errorf("thinpool: %w; the pool is left untouched", err)
	}
	if m.Intent == nil {
		return nil
	}
	in := *m.Intent
	s.cfg.logf("repairing an unfinished %s of %q (device %d) left by a crash", in.Op, in.Name, in.ID)
	if r.deleteID != 0 {
		if err := s.pool.Delete(r.deleteID); err != nil {
			// The crash came before the kernel made it: nothing to free.
			s.cfg.logf("device %d was not in the pool (%v)", r.deleteID, err)
		}
	}
	if r.moveTxn {
		if err := s.pool.SetTransactionID(m.TransactionID, in.TransactionID); err != nil {
			return err
		}
	}
	if r.commit {
		m.apply(&in)
	}
	if r.discard {
		m.Intent = nil
	}
	return m.save(s.metadataPath())
}

// removeStrays deactivates berth's thin devices that the record does not
// know, and deletes devices that were never made ready.
func (s *Storage) removeStrays(m *Metadata) error {
	devs, err := s.ctl.List()
	if err != nil {
		return err
	}
	for _, d := range devs {
		name, ok := strings.CutPrefix(d.Name, s.cfg.Name+"-")
		if !ok {
			continue
		}
		if _, known := m.Devices[name]; !known {
			s.cfg.logf("removing stray device %s", d.Name)
			if err := s.ctl.Remove(d.Name); err != nil {
				return err
			}
		}
	}
	for name, d := range m.Devices {
		if !d.Ready {
			s.cfg.logf("deleting device %q, which was not finished before a crash", name)
			if err := s.deleteLocked(m, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// ensureBase creates and formats the base device the first time.
func (s *Storage) ensureBase(m *Metadata) error {
	if _, ok := m.Devices[BaseDevice]; ok {
		return nil
	}
	size := uint64(s.cfg.BaseSize)
	s.cfg.logf("creating the base device (%d MiB) and formatting it with ext4", size>>20)
	if err := s.transact(m, &Intent{Op: "create", Name: BaseDevice, Size: size}); err != nil {
		return err
	}
	path, err := s.activateLocked(m, BaseDevice)
	if err != nil {
		return err
	}
	start := time.Now()
	out, err := exec.Command(s.cfg.Mkfs, "-q", "-F", "-L", "berth-base", "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1", path).CombinedOutput()
	if err != nil {
		return fmt.Errorf("thinpool: format the base device: %v: %s", err, out)
	}
	s.cfg.logf("base device formatted in %d ms", time.Since(start).Milliseconds())
	if err := s.ctl.Remove(s.cfg.Name + "-" + BaseDevice); err != nil {
		return err
	}
	m.Devices[BaseDevice].Ready = true
	return m.save(s.metadataPath())
}

// transact carries out one change as described on Metadata.
func (s *Storage) transact(m *Metadata, in *Intent) error {
	if in.Op != "delete" {
		id, err := m.allocateID()
		if err != nil {
			return fmt.Errorf("thinpool: %w", err)
		}
		in.ID = id
	}
	in.TransactionID = m.TransactionID + 1
	m.Intent = in
	if err := m.save(s.metadataPath()); err != nil {
		return fmt.Errorf("thinpool: record intent: %w", err)
	}
	var err error
	switch in.Op {
	case "create":
		err = s.pool.CreateThin(in.ID)
	case "snapshot":
		origin := m.Devices[in.Origin]
		active := ""
		if _, ok, _ := s.ctl.Info(s.cfg.Name + "-" + in.Origin); ok {
			active = s.cfg.Name + "-" + in.Origin
		}
		err = s.pool.CreateSnapshot(in.ID, origin.ID, active)
	case "delete":
		err = s.pool.Delete(in.ID)
	}
	if err == nil {
		err = s.pool.SetTransactionID(m.TransactionID, in.TransactionID)
	}
	if err != nil {
		// Undo what the record says, so the next change starts clean; the
		// kernel refused, so the pool did not change (or recovery at the
		// next open deals with it).
		if r, perr := m.plan(m.TransactionID); perr == nil && r.deleteID != 0 && in.Op != "delete" {
			s.pool.Delete(r.deleteID)
		}
		m.Intent = nil
		if serr := m.save(s.metadataPath()); serr != nil {
			return fmt.Errorf("%w (and recording that failed too: %v)", err, serr)
		}
		return err
	}
	m.apply(in)
	return m.save(s.metadataPath())
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,99}$`)

// Create makes device name as a snapshot of origin (the base device when
// origin is ""). It refuses when the pool's free space is below the floor.
func (s *Storage) Create(name, origin string) error {
	if origin == "" {
		origin = BaseDevice
	}
	if !nameRE.MatchString(name) {
		return fmt.Errorf("thinpool: %q is not a valid device name", name)
	}
	return s.locked(func(m *Metadata) error {
		if _, ok := m.Devices[name]; ok {
			return fmt.Errorf("thinpool: device %q exists", name)
		}
		o, ok := m.Devices[origin]
		if !ok {
			return fmt.Errorf("thinpool: %w %q to snapshot", ErrNoDevice, origin)
		}
		if err := s.checkFreeSpace(); err != nil {
			return err
		}
		return s.transact(m, &Intent{Op: "snapshot", Name: name, Origin: origin, Size: o.Size})
	})
}

// checkFreeSpace refuses new devices when the pool is fuller than the
// floor allows, before writes start failing. The space left is the pool's
// own, or, for a pool in sparse loop files, the free space of the
// filesystem under them when that is less: the pool's size is a promise
// the disk may not keep.
func (s *Storage) checkFreeSpace() error {
	st, err := s.pool.Status()
	if err != nil {
		return err
	}
	block := uint64(BlockSectors * SectorSize)
	used := st.DataUsed * block
	avail, backed := s.available(st)
	free := 100 * float64(avail) / float64(max(used+avail, 1))
	if free < float64(s.cfg.MinFreePercent) {
		where := "the pool"
		if backed {
			where = "the disk under the pool's files (" + s.cfg.Dir + ")"
		}
		return fmt.Errorf("thinpool: %s is %.1f%% full (%d MiB used, %d MiB free), above the %d%% free space floor: remove unused containers and images, or give the pool more space",
			where, 100-free, used>>20, avail>>20, s.cfg.MinFreePercent)
	}
	metaFree := 100 * float64(st.MetadataTotal-st.MetadataUsed) / float64(max(st.MetadataTotal, 1))
	if metaFree < float64(s.cfg.MinFreePercent) {
		return fmt.Errorf("thinpool: the pool's metadata is %.1f%% full, above the %d%% free space floor", 100-metaFree, s.cfg.MinFreePercent)
	}
	return nil
}

// available is the data space the pool can still use, in bytes: its own
// free space or, in loop files, the free space of the filesystem under
// them when that is less (backed is then true).
func (s *Storage) available(st PoolStatus) (avail uint64, backed bool) {
	block := uint64(BlockSectors * SectorSize)
	avail = (st.DataTotal - st.DataUsed) * block
	if fs, ok := s.backingFree(); ok && fs < avail {
		return fs, true
	}
	return avail, false
}

// backingFree is the free space of the filesystem under the loop files;
// false for a pool on block devices.
func (s *Storage) backingFree() (uint64, bool) {
	if !s.cfg.Loopback() {
		return 0, false
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(s.cfg.Dir, &fs); err != nil {
		return 0, false
	}
	return fs.Bavail * uint64(fs.Bsize), true
}

// Remove deletes device name and frees its blocks. It must not be in use.
func (s *Storage) Remove(name string) error {
	return s.locked(func(m *Metadata) error {
		if _, ok := m.Devices[name]; !ok {
			return fmt.Errorf("thinpool: %w %q", ErrNoDevice, name)
		}
		if name == BaseDevice {
			return errors.New("thinpool: the base device is not removed")
		}
		return s.deleteLocked(m, name)
	})
}

func (s *Storage) deleteLocked(m *Metadata, name string) error {
	if err := s.pool.DeactivateThin(s.cfg.Name + "-" + name); err != nil {
		return fmt.Errorf("thinpool: %q is in use: %w", name, err)
	}
	return s.transact(m, &Intent{Op: "delete", Name: name, ID: m.Devices[name].ID})
}

// Activate makes device name available as a block device and returns its
// path (/dev/dm-N).
func (s *Storage) Activate(name string) (string, error) {
	var path string
	err := s.locked(func(m *Metadata) error {
		var err error
		path, err = s.activateLocked(m, name)
		return err
	})
	return path, err
}

func (s *Storage) activateLocked(m *Metadata, name string) (string, error) {
	d, ok := m.Devices[name]
	if !ok {
		return "", fmt.Errorf("thinpool: %w %q", ErrNoDevice, name)
	}
	dev, err := s.pool.ActivateThin(s.cfg.Name+"-"+name, d.ID, d.Size/SectorSize)
	if err != nil {
		return "", err
	}
	return DevicePath(dev)
}

// Deactivate removes the block device of name; its data stays.
func (s *Storage) Deactivate(name string) error {
	return s.locked(func(m *Metadata) error {
		return s.pool.DeactivateThin(s.cfg.Name + "-" + name)
	})
}

// DeviceInfo describes one thin device.
type DeviceInfo struct {
	Name   string
	ID     uint32
	Size   uint64
	Origin string
	Active bool
}

// Devices lists berth's thin devices.
func (s *Storage) Devices() ([]DeviceInfo, error) {
	var out []DeviceInfo
	err := s.locked(func(m *Metadata) error {
		for name, d := range m.Devices {
			_, active, _ := s.ctl.Info(s.cfg.Name + "-" + name)
			out = append(out, DeviceInfo{Name: name, ID: d.ID, Size: d.Size, Origin: d.Origin, Active: active})
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, err
}

// Info is what berth info shows about the pool.
type Info struct {
	PoolName                    string
	PoolBlocksize               uint64 // bytes
	BaseDeviceSize              uint64
	DataFile, MetadataFile      string // loopback files, or
	DataDevice, MetadataDevice  string // block devices
	DataUsed, DataTotal         uint64 // bytes
	MetadataUsed, MetadataTotal uint64
	// DataAvailable is what the pool can still use: its free space, or the
	// free space of the filesystem under its loop files when that is less;
	// BackingFree is that filesystem's free space (loop files only).
	DataAvailable, BackingFree       uint64
	MinFreePercent                   int
	TransactionID, RecordTransaction uint64
	Mode                             string
	Devices                          int
}

// Info reports the pool's usage and layout.
func (s *Storage) Info() (Info, error) {
	var info Info
	err := s.locked(func(m *Metadata) error {
		st, err := s.pool.Status()
		if err != nil {
			return err
		}
		block := uint64(BlockSectors * SectorSize)
		info = Info{PoolName: s.cfg.Name, PoolBlocksize: block, MinFreePercent: s.cfg.MinFreePercent,
			DataUsed: st.DataUsed * block, DataTotal: st.DataTotal * block,
			MetadataUsed: st.MetadataUsed * metadataBlock, MetadataTotal: st.MetadataTotal * metadataBlock,
			TransactionID: st.TransactionID, RecordTransaction: m.TransactionID, Mode: st.Mode, Devices: len(m.Devices)}
		info.DataAvailable, _ = s.available(st)
		info.BackingFree, _ = s.backingFree()
		if b, ok := m.Devices[BaseDevice]; ok {
			info.BaseDeviceSize = b.Size
		}
		if s.cfg.Loopback() {
			info.DataFile, info.MetadataFile = s.cfg.dataPath(), s.cfg.metadataPath()
		} else {
			info.DataDevice, info.MetadataDevice = s.cfg.DataDevice, s.cfg.MetadataDevice
		}
		return nil
	})
	return info, err
}

// Shutdown deactivates every thin device and the pool, as at power-off.
func (s *Storage) Shutdown() error {
	return s.locked(func(m *Metadata) error {
		var errs []error
		for name := range m.Devices {
			if err := s.pool.DeactivateThin(s.cfg.Name + "-" + name); err != nil {
				errs = append(errs, err)
			}
		}
		if err := s.pool.Deactivate(); err != nil {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

// Grow gives the pool more data space. In loopback mode the data file is
// extended to size bytes first; with a block device, size is ignored and
// the pool takes whatever the device has grown to. The pool stays active.
func (s *Storage) Grow(size int64) error {
	return s.locked(func(m *Metadata) error {
		tables, err := s.ctl.Table(s.cfg.Name)
		if err != nil {
			return err
		}
		if len(tables) != 1 || tables[0].Type != "thin-pool" {
			return fmt.Errorf("thinpool: %s is not a thin pool", s.cfg.Name)
		}
		var meta, data Dev
		if _, err := fmt.Sscanf(tables[0].Params, "%d:%d %d:%d", &meta.Major, &meta.Minor, &data.Major, &data.Minor); err != nil {
			return fmt.Errorf("thinpool: read the pool's table %q: %w", tables[0].Params, err)
		}
		if s.cfg.Loopback() {
			if err := growLoopFile(s.cfg.dataPath(), data, size); err != nil {
				return err
			}
		}
		sectors, err := deviceSectors(data)
		if err != nil {
			return err
		}
		sectors -= sectors % BlockSectors
		if sectors <= tables[0].Length {
			return fmt.Errorf("thinpool: the data device is %d MiB, no larger than the pool's %d MiB: nothing to grow", sectors*SectorSize>>20, tables[0].Length*SectorSize>>20)
		}
		s.cfg.logf("growing the pool's data from %d MiB to %d MiB", tables[0].Length*SectorSize>>20, sectors*SectorSize>>20)
		return s.pool.Reload(sectors, meta, data)
	})
}

// growLoopFile extends a loop device's backing file and tells the loop
// device to take the new size.
func growLoopFile(file string, loop Dev, size int64) error {
	fi, err := os.Stat(file)
	if err != nil {
		return fmt.Errorf("thinpool: %w", err)
	}
	if size <= fi.Size() {
		return fmt.Errorf("thinpool: %s is already %d MiB; give a larger size", file, fi.Size()>>20)
	}
	if err := os.Truncate(file, size); err != nil {
		return fmt.Errorf("thinpool: extend %s: %w", file, err)
	}
	path, err := DevicePath(loop)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("thinpool: %w", err)
	}
	defer f.Close()
	if _, err := unix.IoctlRetInt(int(f.Fd()), unix.LOOP_SET_CAPACITY); err != nil {
		return fmt.Errorf("thinpool: resize %s: %w", path, err)
	}
	return nil
}

// Device describes the thin device name.
func (s *Storage) Device(name string) (DeviceInfo, error) {
	var out DeviceInfo
	err := s.locked(func(m *Metadata) error {
		d, ok := m.Devices[name]
		if !ok {
			return fmt.Errorf("thinpool: %w: %s", ErrNoDevice, name)
		}
		_, active, _ := s.ctl.Info(s.cfg.Name + "-" + name)
		out = DeviceInfo{Name: name, ID: d.ID, Size: d.Size, Origin: d.Origin, Active: active}
		return nil
	})
	return out, err
}

// DeviceName is the device-mapper name of thin device name, when active.
func (s *Storage) DeviceName(name string) string { return s.cfg.Name + "-" + name }
