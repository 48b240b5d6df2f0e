package config

import (
	"io"

	"berth/blockdev"
	"berth/hostpath"
	"berth/thinpool"
)

// PoolConfig is the thin pool's configuration from [storage]; log gets
// the progress of long steps.
func (c *Config) PoolConfig(log io.Writer) thinpool.Config {
	st := c.Storage
	floor, _ := ParsePercent(st.MinFreeSpace)
	return thinpool.Config{
		Dir:            hostpath.Pool,
		DataDevice:     blockdev.Path(st.DataDevice),
		MetadataDevice: blockdev.Path(st.MetadataDevice),
		DataSize:       int64(st.DataSize),
		MetadataSize:   int64(st.MetadataSize),
		BaseSize:       int64(st.BaseSize),
		MinFreePercent: floor,
		Mkfs:           hostpath.Mkfs,
		Log:            log,
	}
}
