package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/u-root/u-root/pkg/kmodule"
	"golang.org/x/sys/unix"

	"berth/blockdev"
	"berth/hostpath"
)

// loadModules loads the core modules the image lists in berth.modules
// (virtio-rng first, alone), then the drivers the machine's devices ask
// for (modalias.go), pass after pass until no device asks for more; then
// it waits for the disks that appear only after their driver loaded. A
// module that fails to load is reported; the others are still loaded.
func loadModules(s *system) error {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return err
	}
	dir := filepath.Join(hostpath.Modules, unix.ByteSliceToString(u.Release[:]))
	list, err := os.ReadFile(filepath.Join(dir, "berth.modules"))
	if err != nil {
		return fmt.Errorf("read the module list: %w (was the image built for this kernel?)", err)
	}
	prober, err := kmodule.NewProber(kmodule.ProbeOpts{})
	if err != nil {
		return fmt.Errorf("read %s/modules.dep: %w", dir, err)
	}
	aliases, err := readAliases(filepath.Join(dir, "modules.alias"))
	if err != nil {
		return fmt.Errorf("read the drivers' aliases: %w (was the image built for this kernel?)", err)
	}
	// The first core module (virtio-rng) is loaded alone, before the
	// others; the rest load in parallel, which matters when the CPU is
	// emulated and every module's signature check is slow.
	core := strings.Fields(string(list))
	var errs []error
	if len(core) > 0 {
		errs = append(errs, loadAll(prober, core[:1])...)
		core = core[1:]
	}
	var wg sync.WaitGroup
	var coreErrs []error
	wg.Go(func() { coreErrs = loadAll(prober, core) })
	// What is loaded already (before PID 1 re-executed itself) is not
	// loaded again.
	h := &hotplug{loaded: map[string]bool{}}
	if entries, err := os.ReadDir("/sys/module"); err == nil {
		for _, e := range entries {
			h.loaded[e.Name()] = true
		}
	}
	// Devices plugged in later are announced: listen before the passes
	// look, and load from the announcements once they are done, after a
	// last look, so that no device falls between the two.
	if err := watchHotplug(s, prober, aliases, h); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, loadDrivers(s, prober, aliases, h.loaded)...)
	errs = append(errs, settleDisks(s, prober, aliases, h.loaded, 15*time.Second)...)
	h.mu.Lock()
	h.active = true
	errs = append(errs, loadDrivers(s, prober, aliases, h.loaded)...)
	h.mu.Unlock()
	wg.Wait()
	return errors.Join(append(errs, coreErrs...)...)
}

// loadAll loads names in parallel, each with its dependencies.
func loadAll(prober *kmodule.Prober, names []string) []error {
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			if err := prober.Probe(name, ""); err != nil {
				errs[i] = fmt.Errorf("%s: %w", name, err)
			}
		})
	}
	wg.Wait()
	return errs
}

// loadDrivers loads the drivers the devices present ask for, and again
// for the devices those drivers bring, until none asks for more; loaded
// records what was tried, so that a driver is loaded once.
func loadDrivers(s *system, prober *kmodule.Prober, aliases aliasTable, loaded map[string]bool) []error {
	var errs []error
	for range 16 {
		want := aliases.wanted("/sys", loaded)
		if len(want) == 0 {
			break
		}
		for _, m := range want {
			loaded[m] = true
		}
		s.logf("drivers: %s", strings.Join(want, " "))
		errs = append(errs, loadAll(prober, want)...)
	}
	return errs
}

// settleDisks waits, at most timeout, until every USB storage device and
// every NVMe controller has its disk: they appear only a while after their
// driver loads (usb-storage waits a second before it scans; an NVMe
// controller brings its namespaces up in the background). Meanwhile it
// loads the drivers new devices ask for (sd_mod for a USB stick's disk).
// The state disk and a pool's devices may be among them.
func settleDisks(s *system, prober *kmodule.Prober, aliases aliasTable, loaded map[string]bool, timeout time.Duration) []error {
	var errs []error
	deadline := time.Now().Add(timeout)
	for {
		errs = append(errs, loadDrivers(s, prober, aliases, loaded)...)
		pending := pendingDisks("/sys")
		if len(pending) == 0 {
			return errs
		}
		if time.Now().After(deadline) {
			s.logf("drivers: no disk yet behind %s after %v; going on without it", strings.Join(pending, ", "), timeout)
			return errs
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pendingDisks names the USB storage interfaces and NVMe controllers
// under sysfs that have no disk yet.
func pendingDisks(sysfs string) []string {
	var out []string
	for _, driver := range []string{"usb-storage", "uas"} {
		intfs, _ := filepath.Glob(filepath.Join(sysfs, "bus", "usb", "drivers", driver, "*:*"))
		for _, intf := range intfs {
			if disks, _ := filepath.Glob(filepath.Join(intf, "host*", "target*", "*", "block", "*")); len(disks) == 0 {
				out = append(out, "USB "+filepath.Base(intf))
			}
		}
	}
	ctrls, _ := filepath.Glob(filepath.Join(sysfs, "class", "nvme", "nvme*"))
	for _, c := range ctrls {
		if ns, _ := filepath.Glob(filepath.Join(c, "nvme*n*")); len(ns) == 0 {
			out = append(out, "NVMe "+filepath.Base(c))
		}
	}
	return out
}

// nameDisks makes /dev/disk/by-id, by-label and by-partlabel, so that the
// config, and a person at the console, name disks by what they are.
func nameDisks(*system) error { return blockdev.Link() }
