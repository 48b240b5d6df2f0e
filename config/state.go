package config

import (
	"io"
	"path/filepath"

	"berth/thinpool"
)

// StateDir is where everything berth keeps lives: the state disk, mounted
// there at boot (or memory when there is none). NetworkDir holds the
// bridge's address allocations and the NAT lock.
const (
	StateDir   = "/var/lib/berth"
	NetworkDir = StateDir + "/network"
)

// PoolConfig is the thin pool's configuration from [storage]; log gets
// the progress of long steps.
func (c *Config) PoolConfig(log io.Writer) thinpool.Config {
	st := c.Storage
	floor, _ := ParsePercent(st.MinFreeSpace)
	return thinpool.Config{
		Dir:            filepath.Join(StateDir, "devicemapper"),
		DataDevice:     st.DataDevice,
		MetadataDevice: st.MetadataDevice,
		DataSize:       int64(st.DataSize),
		MetadataSize:   int64(st.MetadataSize),
		BaseSize:       int64(st.BaseSize),
		MinFreePercent: floor,
		Mkfs:           "/sbin/mkfs.ext4",
		Log:            log,
	}
}
