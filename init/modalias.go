package main

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Drivers by what the machine has, as udev and mdev load them: every
// device the kernel knows has a modalias (in sysfs, "pci:v00008086d000010D3
// sv...", "usb:v0781p5567d...", "virtio:d00000001v00001AF4"), and each
// module's aliases (modules.alias, written by the image build) are glob
// patterns over them. PID 1 loads the modules whose patterns match a
// device, then looks again: a driver that loads brings devices of its own
// (a USB host controller, its devices; a SCSI host, its disks).

// aliasTable is modules.alias, its patterns grouped by the bus before the
// first colon so that a device is matched against its bus's patterns only.
type aliasTable map[string][]aliasEntry

type aliasEntry struct{ pattern, module string }

// readAliases reads modules.alias ("alias PATTERN MODULE" lines).
func readAliases(file string) (aliasTable, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t := aliasTable{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 || fields[0] != "alias" {
			continue
		}
		bus, _, _ := strings.Cut(fields[1], ":")
		t[bus] = append(t[bus], aliasEntry{pattern: fields[1], module: fields[2]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return t, nil
}

// modules returns the modules whose patterns match modalias.
func (t aliasTable) modules(modalias string) []string {
	bus, _, _ := strings.Cut(modalias, ":")
	var out []string
	for _, e := range t[bus] {
		if ok, _ := path.Match(e.pattern, modalias); ok {
			out = append(out, e.module)
		}
	}
	return out
}

// deviceAliases returns the modalias of every device on every bus under
// sysfs (/sys).
func deviceAliases(sysfs string) []string {
	files, _ := filepath.Glob(filepath.Join(sysfs, "bus", "*", "devices", "*", "modalias"))
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		a := strings.TrimSpace(string(b))
		if a != "" && !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

// wanted returns the modules the devices under sysfs ask for that are not
// in done, sorted.
func (t aliasTable) wanted(sysfs string, done map[string]bool) []string {
	want := map[string]bool{}
	for _, a := range deviceAliases(sysfs) {
		for _, m := range t.modules(a) {
			if !done[m] {
				want[m] = true
			}
		}
	}
	out := make([]string, 0, len(want))
	for m := range want {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}
