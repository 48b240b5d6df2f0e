package thinpool

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// SectorSize is the unit of device-mapper tables.
const SectorSize = 512

// Dev is a block device's major:minor. berth refers to devices by number:
// there is no udev to make /dev/mapper names.
type Dev struct {
	Major, Minor uint32
}

func (d Dev) String() string { return fmt.Sprintf("%d:%d", d.Major, d.Minor) }

// devFromKernel decodes the dev_t the dm ioctls return.
func devFromKernel(dev uint64) Dev {
	return Dev{Major: unix.Major(dev), Minor: unix.Minor(dev)}
}

// Target is one line of a device-mapper table.
type Target struct {
	Start, Length uint64 // in sectors
	Type          string // "thin-pool", "thin", ...
	Params        string
}

// Pool geometry: 64 KiB blocks, as Docker's devicemapper driver used.
const (
	BlockSectors  = 128       // 64 KiB
	lowWaterMark  = 32768     // blocks; the kernel raises an event below it
	MaxDeviceID   = 1<<24 - 1 // thin device ids are 24-bit
	metadataBlock = 4096      // the unit of the pool's metadata counts
	poolFeatures  = "skip_block_zeroing error_if_no_space"
)

// PoolTarget is the table line of a thin pool over meta and data devices.
// error_if_no_space makes a full pool fail writes with ENOSPC instead of
// queueing them, which would hang the writer.
func PoolTarget(dataSectors uint64, meta, data Dev) Target {
	features := strings.Fields(poolFeatures)
	return Target{Length: dataSectors, Type: "thin-pool",
		Params: fmt.Sprintf("%s %s %d %d %d %s", meta, data, BlockSectors, lowWaterMark, len(features), strings.Join(features, " "))}
}

// ThinTarget is the table line of thin device id of pool, sectors long.
func ThinTarget(sectors uint64, pool Dev, id uint32) Target {
	return Target{Length: sectors, Type: "thin", Params: fmt.Sprintf("%s %d", pool, id)}
}

// Messages to the pool target.
func msgCreateThin(id uint32) string         { return fmt.Sprintf("create_thin %d", id) }
func msgCreateSnap(id, origin uint32) string { return fmt.Sprintf("create_snap %d %d", id, origin) }
func msgDelete(id uint32) string             { return fmt.Sprintf("delete %d", id) }
func msgSetTransactionID(old, new uint64) string {
	return fmt.Sprintf("set_transaction_id %d %d", old, new)
}

// encodeTargets lays out targets as DM_TABLE_LOAD wants them: each a
// dm_target_spec followed by its NUL-terminated parameters, padded to 8
// bytes; next is the offset of the following spec from this one.
func encodeTargets(targets []Target) ([]byte, error) {
	var out []byte
	for _, t := range targets {
		if len(t.Type) >= unix.DM_MAX_TYPE_NAME {
			return nil, fmt.Errorf("target type %q is too long", t.Type)
		}
		params := append([]byte(t.Params), 0)
		for (unix.SizeofDmTargetSpec+len(params))%8 != 0 {
			params = append(params, 0)
		}
		spec := make([]byte, unix.SizeofDmTargetSpec)
		binary.LittleEndian.PutUint64(spec[0:], t.Start)
		binary.LittleEndian.PutUint64(spec[8:], t.Length)
		binary.LittleEndian.PutUint32(spec[16:], 0) // status
		binary.LittleEndian.PutUint32(spec[20:], uint32(unix.SizeofDmTargetSpec+len(params)))
		copy(spec[24:], t.Type)
		out = append(out, spec...)
		out = append(out, params...)
	}
	return out, nil
}

// decodeTargets reads the targets of a DM_TABLE_STATUS reply. There, next
// is the offset of the following spec from the start of the data.
func decodeTargets(data []byte, count uint32) ([]Target, error) {
	var out []Target
	off := 0
	for i := uint32(0); i < count; i++ {
		if off+unix.SizeofDmTargetSpec > len(data) {
			return nil, fmt.Errorf("status reply truncated at target %d", i)
		}
		spec := data[off:]
		t := Target{
			Start:  binary.LittleEndian.Uint64(spec[0:]),
			Length: binary.LittleEndian.Uint64(spec[8:]),
			Type:   cString(spec[24 : 24+unix.DM_MAX_TYPE_NAME]),
		}
		t.Params = cString(spec[unix.SizeofDmTargetSpec:])
		out = append(out, t)
		off = int(binary.LittleEndian.Uint32(spec[20:]))
	}
	return out, nil
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// PoolStatus is what the thin-pool target reports.
type PoolStatus struct {
	TransactionID  uint64
	MetadataUsed   uint64 // in 4 KiB metadata blocks
	MetadataTotal  uint64
	DataUsed       uint64 // in pool blocks (BlockSectors each)
	DataTotal      uint64
	Mode           string // rw, ro, out_of_data_space, or fail
	NeedsCheck     bool
	ErrorIfNoSpace bool
}

// DataFreePercent is the share of the pool's data space still free.
func (s PoolStatus) DataFreePercent() float64 {
	if s.DataTotal == 0 {
		return 0
	}
	return 100 * float64(s.DataTotal-s.DataUsed) / float64(s.DataTotal)
}

// ParsePoolStatus parses a thin-pool status line:
// <transaction id> <used meta>/<total meta> <used data>/<total data>
// <held root> ro|rw|out_of_data_space [no_]discard_passdown
// error|queue_if_no_space needs_check|- [metadata_low_watermark]
// A failed pool reports just "Fail".
func ParsePoolStatus(s string) (PoolStatus, error) {
	f := strings.Fields(s)
	if len(f) == 1 && f[0] == "Fail" {
		return PoolStatus{Mode: "fail", NeedsCheck: true}, nil
	}
	if len(f) < 8 {
		return PoolStatus{}, fmt.Errorf("thin-pool status %q has %d fields, want at least 8", s, len(f))
	}
	var st PoolStatus
	var err error
	if st.TransactionID, err = strconv.ParseUint(f[0], 10, 64); err != nil {
		return st, fmt.Errorf("thin-pool status %q: transaction id: %w", s, err)
	}
	if st.MetadataUsed, st.MetadataTotal, err = parseFraction(f[1]); err != nil {
		return st, fmt.Errorf("thin-pool status %q: metadata: %w", s, err)
	}
	if st.DataUsed, st.DataTotal, err = parseFraction(f[2]); err != nil {
		return st, fmt.Errorf("thin-pool status %q: data: %w", s, err)
	}
	st.Mode = f[4]
	st.ErrorIfNoSpace = f[6] == "error_if_no_space"
	st.NeedsCheck = f[7] == "needs_check"
	return st, nil
}

func parseFraction(s string) (used, total uint64, err error) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not used/total", s)
	}
	if used, err = strconv.ParseUint(a, 10, 64); err != nil {
		return 0, 0, err
	}
	total, err = strconv.ParseUint(b, 10, 64)
	return used, total, err
}
