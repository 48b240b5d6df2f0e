package thinpool

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Metadata is berth's record of a pool: which thin device ids exist, their
// names and sizes, and the transaction id the pool should have. It lives in
// metadata.json next to the pool's files on the state disk.
//
// Every change to the pool is done as a transaction: the intent is saved
// first; then the kernel is told (create_thin, create_snap, delete); then
// the pool's transaction id is moved on by one; then the intent is
// committed and cleared. A crash anywhere leaves enough to finish or undo
// the change at the next open (see plan).
type Metadata struct {
	Version       int                    `json:"version"`
	TransactionID uint64                 `json:"transaction_id"`
	NextID        uint32                 `json:"next_id"`
	Devices       map[string]*ThinDevice `json:"devices"`
	Intent        *Intent                `json:"intent,omitempty"`
}

// ThinDevice is one thin device in berth's record.
type ThinDevice struct {
	ID     uint32 `json:"id"`
	Size   uint64 `json:"size"`             // bytes
	Origin string `json:"origin,omitempty"` // the device it is a snapshot of
	// Ready is false while a new device is being prepared (the base device
	// is formatted after it is committed); a device that is not ready at
	// open is deleted.
	Ready bool `json:"ready"`
}

// Intent is a change that was started and not yet committed.
type Intent struct {
	Op            string `json:"op"` // create, snapshot or delete
	Name          string `json:"name"`
	ID            uint32 `json:"id"`
	Size          uint64 `json:"size,omitempty"`
	Origin        string `json:"origin,omitempty"`
	TransactionID uint64 `json:"transaction_id"` // the pool's id once done
}

const metadataVersion = 1

func newMetadata() *Metadata {
	return &Metadata{Version: metadataVersion, NextID: 1, Devices: map[string]*ThinDevice{}}
}

// loadMetadata reads path. A missing file is (nil, nil).
func loadMetadata(path string) (*Metadata, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m := &Metadata{}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("%s is corrupt: %w", path, err)
	}
	if m.Version != metadataVersion {
		return nil, fmt.Errorf("%s has version %d; this berth reads version %d", path, m.Version, metadataVersion)
	}
	if m.Devices == nil {
		m.Devices = map[string]*ThinDevice{}
	}
	return m, nil
}

// save writes m to path durably (WriteFileDurable).
func (m *Metadata) save(path string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileDurable(path, b)
}

// WriteFileDurable writes b to path through a temporary file, fsync,
// rename and an fsync of the directory, so that a crash leaves either the
// old or the new content, never a torn one. Every record berth keeps on
// the state disk is written this way.
func WriteFileDurable(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// byID returns the name of the device with id, if any.
func (m *Metadata) byID(id uint32) (string, bool) {
	for name, d := range m.Devices {
		if d.ID == id {
			return name, true
		}
	}
	return "", false
}

// allocateID returns a free 24-bit device id.
func (m *Metadata) allocateID() (uint32, error) {
	for range MaxDeviceID {
		id := m.NextID
		m.NextID++
		if m.NextID > MaxDeviceID {
			m.NextID = 1
		}
		if _, used := m.byID(id); !used {
			return id, nil
		}
	}
	return 0, errors.New("all 16 million thin device ids are in use")
}

// recovery is what to do at open about an unfinished intent.
type recovery struct {
	deleteID uint32 // a device to delete from the pool, or 0
	commit   bool   // apply the intent to the record
	moveTxn  bool   // the pool's transaction id must still be moved on
	discard  bool   // drop the intent
}

// plan decides how to bring the record and the pool back in step, from
// the pool's transaction id. It is pure, so every crash point is tested on
// the host.
//
//   - no intent: the pool's id must equal ours;
//   - the pool is at the intent's id: the kernel did all of it; commit;
//   - the pool is still at ours: the kernel may or may not have created
//     the device; delete it (ignoring "no such device") and drop the
//     intent. A delete that may not have happened is done again, its
//     transaction id moved on, and committed;
//   - anything else: the record belongs to another pool, or the pool was
//     changed behind berth's back. Nothing is touched.
func (m *Metadata) plan(poolTxn uint64) (recovery, error) {
	in := m.Intent
	if in == nil {
		if poolTxn != m.TransactionID {
			return recovery{}, fmt.Errorf("the pool's transaction id is %d but berth's record says %d: the record does not belong to this pool, or the pool was changed outside berth", poolTxn, m.TransactionID)
		}
		return recovery{}, nil
	}
	if in.TransactionID != m.TransactionID+1 {
		return recovery{}, fmt.Errorf("the unfinished %s of %q has transaction id %d, not %d: the record is corrupt", in.Op, in.Name, in.TransactionID, m.TransactionID+1)
	}
	switch poolTxn {
	case in.TransactionID:
		return recovery{commit: true, discard: true}, nil
	case m.TransactionID:
		if in.Op == "delete" {
			return recovery{deleteID: in.ID, moveTxn: true, commit: true, discard: true}, nil
		}
		return recovery{deleteID: in.ID, discard: true}, nil
	}
	return recovery{}, fmt.Errorf("the pool's transaction id is %d but berth's record says %d (or %d once its unfinished %s of %q is done): the record does not belong to this pool",
		poolTxn, m.TransactionID, in.TransactionID, in.Op, in.Name)
}

// apply records the effect of a finished intent.
func (m *Metadata) apply(in *Intent) {
	switch in.Op {
	case "create", "snapshot":
		m.Devices[in.Name] = &ThinDevice{ID: in.ID, Size: in.Size, Origin: in.Origin, Ready: in.Op == "snapshot"}
	case "delete":
		delete(m.Devices, in.Name)
	}
	m.TransactionID = in.TransactionID
	m.Intent = nil
}
