package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"berth/blockdev"
	"berth/config"
	"berth/hostpath"
)

// One appliance image serves many machines: the config built into it can
// be overridden, without a rebuild, by (first match wins)
//
//  1. the kernel command line: berth.config=base64:<TOML in base64>, or
//     berth.config=LABEL=<label> or berth.config=/dev/<device> naming a
//     config drive;
//  2. a config drive: a disk or partition whose ext4 label or GPT partition
//     name is berth-config, or whose FAT label is BERTHCONFIG (FAT labels
//     hold 11 characters), with berth.toml at its root;
//  3. the config built into the image, /etc/berth/berth.toml.
//
// The config in force is copied to hostpath.ActiveConfig, which the engine
// and the CLI read, and where it came from to hostpath.ConfigSource, which
// berth info shows.

// ConfigDriveLabel names a config drive.
const (
	ConfigDriveLabel    = "berth-config"
	ConfigDriveFATLabel = "BERTHCONFIG"
)

// configSource is where a config comes from: its contents and a name for
// messages (and for file:line:col errors).
type configSource struct {
	name string
	data []byte
}

// readConfig finds the config in force, validates it and records it.
func readConfig(s *system) error {
	cmdline, _ := os.ReadFile("/proc/cmdline")
	src, err := findConfig(string(cmdline), blockdev.List(nil))
	if err != nil {
		return err
	}
	c, err := config.Parse(src.name, src.data)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(hostpath.ActiveConfig), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(hostpath.ActiveConfig, src.data, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(hostpath.ConfigSource, []byte(src.name+"\n"), 0o644); err != nil {
		return err
	}
	if src.name != hostpath.ApplianceConfig {
		s.logf("config from %s (it overrides the built-in %s)", src.name, hostpath.ApplianceConfig)
	}
	s.config = c
	return nil
}

// findConfig applies the order above.
func findConfig(cmdline string, disks []blockdev.Device) (configSource, error) {
	if v, ok := cmdlineValue(cmdline, "berth.config"); ok {
		switch {
		case strings.HasPrefix(v, "base64:"):
			data, err := decodeBase64(strings.TrimPrefix(v, "base64:"))
			if err != nil {
				return configSource{}, fmt.Errorf("berth.config on the kernel command line: %w", err)
			}
			return configSource{name: "berth.config (kernel command line)", data: data}, nil
		case strings.HasPrefix(v, "LABEL="):
			label := strings.TrimPrefix(v, "LABEL=")
			for _, d := range disks {
				if d.Label == label || d.PartName == label || d.FATLabel == label {
					return readConfigDrive(d.Path())
				}
			}
			return configSource{}, fmt.Errorf("berth.config=%s on the kernel command line: no disk or partition is labelled %s", v, label)
		case strings.HasPrefix(v, "/dev/"):
			return readConfigDrive(v)
		default:
			return configSource{}, fmt.Errorf("berth.config=%s on the kernel command line: give base64:<TOML in base64>, LABEL=<label> or /dev/<device>", v)
		}
	}
	for _, d := range disks {
		if d.Label == ConfigDriveLabel || d.PartName == ConfigDriveLabel || d.FATLabel == ConfigDriveFATLabel {
			return readConfigDrive(d.Path())
		}
	}
	data, err := os.ReadFile(hostpath.ApplianceConfig)
	if err != nil {
		return configSource{}, fmt.Errorf("config: %w", err)
	}
	return configSource{name: hostpath.ApplianceConfig, data: data}, nil
}

// cmdlineValue returns the value of key=value on the kernel command line.
func cmdlineValue(cmdline, key string) (string, bool) {
	for _, f := range strings.Fields(cmdline) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			return v, true
		}
	}
	return "", false
}

func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, fmt.Errorf("not valid base64")
}

// readConfigDrive mounts dev read-only and reads berth.toml from its root.
func readConfigDrive(dev string) (configSource, error) {
	if err := os.MkdirAll(hostpath.ConfigDrive, 0o755); err != nil {
		return configSource{}, err
	}
	var err error
	for _, fstype := range []string{"ext4", "vfat"} {
		if err = unix.Mount(dev, hostpath.ConfigDrive, fstype, unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err == nil {
			break
		}
	}
	if err != nil {
		return configSource{}, fmt.Errorf("config drive %s: mount: %w (it must hold ext4 or FAT)", dev, err)
	}
	defer unix.Unmount(hostpath.ConfigDrive, 0)
	data, err := os.ReadFile(filepath.Join(hostpath.ConfigDrive, "berth.toml"))
	if err != nil {
		return configSource{}, fmt.Errorf("config drive %s: %w (put berth.toml at the root of the drive)", dev, err)
	}
	return configSource{name: dev + ":/berth.toml", data: data}, nil
}
