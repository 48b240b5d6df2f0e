package main

import (
	"fmt"
	"io"
	"time"

	"berth/blockdev"
	"berth/thinpool"
)

// openPool opens the thin pool, creating it on the first boot, and
// repairs what a crash left half done.
func openPool(s *system) error {
	cfg := s.config.PoolConfig(linePrefixer{w: s.console, prefix: "berth: "})
	// Devices named by label or id may come up a while after their driver
	// loaded (an NVMe namespace, a USB disk).
	for _, d := range []string{s.config.Storage.DataDevice, s.config.Storage.MetadataDevice} {
		if d == "" {
			continue
		}
		dev, err := blockdev.Wait(d, 30*time.Second)
		if err != nil {
			return fmt.Errorf("storage: %w", err)
		}
		if dev != d {
			s.logf("storage: %s is %s", d, dev)
		}
	}
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
