package engine

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"berth/errdefs"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/opencontainers/selinux/go-selinux"
	"github.com/opencontainers/selinux/go-selinux/label"
)

// initLabels gives a container its SELinux labels (sVirt): the process
// label container_t and the mount label container_file_t, with an MCS pair
// no other container has, as Docker does; --security-opt label=... sets
// them otherwise. A privileged container, or label=disable, runs
// unlabelled, in the host's domain. With SELinux off, both are empty.
func (e *Engine) initLabels(hc *container.HostConfig) (string, string, error) {
	if !selinux.GetEnabled() {
		return "", "", nil
	}
	sec, err := parseSecurityOpts(hc.SecurityOpt)
	if err != nil {
		return "", "", err
	}
	opts := sec.label
	if hc.Privileged {
		opts = []string{"disable"}
	}
	process, mount, err := label.InitLabels(opts)
	if err != nil {
		return "", "", errdefs.Kind(errdefs.ErrInvalid, fmt.Errorf("SELinux labels %v: %w", opts, err))
	}
	return process, mount, nil
}

// relabel gives the host files a container sees their labels, before each
// start: its name files and its own volumes get its mount label; a bind
// Mount named :Z gets it too (this container alone may use it), one named
// :z the shared label every container may use; other bind mounts keep
// theirs, and a container cannot reach a file whose label is not its own.
func (e *Engine) relabel(c *Container) error {
	if c.MountLabel == "" {
		return nil
	}
	for _, f := range []string{"hosts", "hostname", "resolv.conf"} {
		if err := label.Relabel(filepath.Join(e.dir(c.Id), f), c.MountLabel, false); err != nil {
			return fmt.Errorf("engine: SELinux label of %s: %w", f, err)
		}
	}
	for _, m := range c.Mounts {
		if m.Type == mount.TypeTmpfs {
			continue
		}
		opts := strings.Split(m.Mode, ",")
		shared, private := slices.Contains(opts, "z"), slices.Contains(opts, "Z") || m.Type == "volume"
		if !shared && !private {
			continue
		}
		if err := label.Relabel(m.Source, c.MountLabel, shared); err != nil {
			return fmt.Errorf("engine: SELinux label of volume %s: %w", m.Source, err)
		}
	}
	return nil
}
