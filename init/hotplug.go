package main

import (
	"bytes"
	"fmt"
	"strings"
	"sync"

	"github.com/u-root/u-root/pkg/kmodule"
	"golang.org/x/sys/unix"

	"berth/blockdev"
)

// Hotplug: a device plugged in after boot (a USB keyboard, a stick, a
// disk) gets its driver as it would at boot. The kernel announces each
// device on a netlink socket (NETLINK_KOBJECT_UEVENT), the way udev hears
// of it; PID 1 matches an added device's MODALIAS against modules.alias
// and loads what it asks for, and names the disks again when a block
// device comes or goes.

// uevent is one kernel announcement: its action (add, remove, bind, ...)
// and its KEY=value fields.
type uevent struct {
	action string
	env    map[string]string
}

// parseUevent reads "ACTION@DEVPATH\0KEY=value\0...".
func parseUevent(b []byte) (uevent, bool) {
	parts := bytes.Split(b, []byte{0})
	head, _, ok := strings.Cut(string(parts[0]), "@")
	if !ok {
		return uevent{}, false
	}
	ev := uevent{action: head, env: map[string]string{}}
	for _, p := range parts[1:] {
		if k, v, ok := strings.Cut(string(p), "="); ok {
			ev.env[k] = v
		}
	}
	return ev, true
}

// hotplug is the state the boot's driver passes share with the watch.
type hotplug struct {
	mu     sync.Mutex
	loaded map[string]bool // modules tried, by the passes or the watch
	active bool            // the boot's passes are done: the watch loads
}

// watchHotplug loads drivers for devices added once h is active, and
// keeps /dev/disk current. While the boot's passes run, they load what
// devices ask for and the watch only listens.
func watchHotplug(s *system, prober *kmodule.Prober, aliases aliasTable, h *hotplug) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.NETLINK_KOBJECT_UEVENT)
	if err != nil {
		return fmt.Errorf("hotplug: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1}); err != nil {
		unix.Close(fd)
		return fmt.Errorf("hotplug: %w", err)
	}
	s.goProtected("hotplug", func() {
		defer unix.Close(fd)
		buf := make([]byte, 64*1024)
		for {
			n, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				if err == unix.EINTR || err == unix.ENOBUFS {
					continue
				}
				s.logf("hotplug: %v", err)
				return
			}
			ev, ok := parseUevent(buf[:n])
			if !ok {
				continue
			}
			if a := ev.env["MODALIAS"]; a != "" && ev.action == "add" {
				h.mu.Lock()
				var want []string
				for _, m := range aliases.modules(a) {
					if h.active && !h.loaded[m] {
						h.loaded[m] = true
						want = append(want, m)
					}
				}
				if len(want) > 0 {
					s.logf("drivers: %s (plugged in)", strings.Join(want, " "))
					for _, err := range loadAll(prober, want) {
						if err != nil {
							s.logf("drivers: %v", err)
						}
					}
				}
				h.mu.Unlock()
			}
			h.mu.Lock()
			active := h.active
			h.mu.Unlock()
			if active && ev.env["SUBSYSTEM"] == "block" && blockdev.Named(ev.env["DEVNAME"]) && (ev.action == "add" || ev.action == "remove" || ev.action == "change") {
				if err := blockdev.Link(); err != nil {
					s.logf("name disks: %v", err)
				}
			}
		}
	})
	return nil
}
