package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"berth/hostpath"

	"github.com/u-root/u-root/pkg/kmodule"
	"golang.org/x/sys/unix"
)

// loadModules loads the modules the image lists in berth.modules, in that
// order (virtio-rng first), each with its dependencies from modules.dep.
// A module that fails to load is reported; the others are still loaded.
func loadModules(*system) error {
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
	// The first module (virtio-rng) is loaded alone, before the others;
	// the rest load in parallel, which matters when the CPU is emulated and
	// every module's signature check is slow.
	names := strings.Fields(string(list))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		load := func() {
			if err := prober.Probe(name, ""); err != nil {
				errs[i] = fmt.Errorf("%s: %w", name, err)
			}
		}
		if i == 0 {
			load()
			continue
		}
		wg.Go(load)
	}
	wg.Wait()
	return errors.Join(errs...)
}
