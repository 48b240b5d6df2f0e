package main

import (
	"io"
	"path/filepath"

	"berth/config"
	"berth/thinpool"
)

// poolConfig is the thin pool's configuration from berth.toml.
func poolConfig(c *config.Config, log io.Writer) thinpool.Config {
	st := c.Storage
	floor, _ := config.ParsePercent(st.MinFreeSpace)
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

// openPool opens the thin pool, creating it on the first boot, and
// repairs what a crash left half done.
func openPool(s *system) error {
	cfg := poolConfig(s.config, linePrefixer{w: s.console, prefix: "berth: "})
	if cfg.Loopback() {
		s.logf("WARNING: the thin pool uses loopback files in %s. Every write then goes through a second filesystem, and a full state disk fails the pool. For production, name block devices in [storage] data_device and metadata_device.", cfg.Dir)
	}
	st, err := thinpool.Open(cfg)
	if err != nil {
		return err
	}
	s.storage = st
	return nil
}

// linePrefixer puts prefix before each write, which carries one line.
type linePrefixer struct {
	w      io.Writer
	prefix string
}

func (p linePrefixer) Write(b []byte) (int, error) {
	if _, err := p.w.Write(append([]byte(p.prefix), b...)); err != nil {
		return 0, err
	}
	return len(b), nil
}
