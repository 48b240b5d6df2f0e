package image

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"berth/config"
)

// CoreModules are the kernel modules the appliance loads at every boot,
// in this order, whatever the machine has: what berth itself needs.
// virtio-rng comes first so that the kernel's random pool is fed before
// anything asks for randomness. Dependencies (dm-thin-pool needs
// dm-persistent-data, which needs libcrc32c, ...) are found at build time
// and need not be listed.
var CoreModules = []string{
	"virtio_rng",
	"ext4", // built into the cloud kernel, a module of the generic one
	"dm_thin_pool", "loop",
	"bridge", "veth",
	"nf_tables", "nft_chain_nat", "nft_nat", "nft_masq", "nft_ct", "nft_fib_ipv4",
	"overlay",
	"vfat", "nls_cp437", "nls_utf8",
}

// Drivers are the device drivers each kernel flavour's appliance carries.
// PID 1 loads those the machine's devices ask for (their modalias matched
// against modules.alias), not a fixed list.
var Drivers = map[string][]string{
	// Virtual machines: virtio disks, network and SCSI.
	config.KernelCloud: {"virtio_pci", "virtio_blk", "virtio_net", "virtio_scsi", "sd_mod"},
	// Common PCs and servers, and the hypervisors' devices.
	config.KernelGeneric: {
		// virtio, for VMs too
		"virtio_pci", "virtio_blk", "virtio_net", "virtio_scsi",
		// disks: SATA (AHCI and old IDE-mode chipsets), NVMe, SCSI disks
		"ahci", "ata_piix", "nvme", "sd_mod",
		// USB: host controllers, storage, keyboards
		"xhci_pci", "ehci_pci", "ohci_pci", "uhci_hcd", "usb_storage", "uas", "usbhid", "hid_generic",
		// SD and MMC cards
		"sdhci_pci", "sdhci_acpi", "mmc_block",
		// network: Intel, Realtek, Broadcom, Mellanox, VMware, Hyper-V, AWS
		"e1000", "e1000e", "igb", "igc", "ixgbe", "i40e", "r8169", "8139too", "tg3", "bnx2x", "mlx5_core",
		"vmxnet3", "hv_netvsc", "hv_storvsc", "ena",
	},
}

// Module is one loadable kernel module of a kernel tree.
type Module struct {
	Name    string   // as the kernel knows it, with underscores
	Path    string   // relative to lib/modules/<release>, e.g. kernel/drivers/md/dm-thin-pool.ko
	Depends []string // names of the modules it needs
	// Aliases are the modalias patterns of the devices it drives
	// ("pci:v00008086d000010D3sv*sd*bc*sc*i*").
	Aliases []string
	// softPre are the modules its softdep says load first, as named
	// there (a module or an alias: libcrc32c's "crc32c").
	softPre []string
}

// ModuleTree is the modules of one kernel release, as unpacked from
// Debian's kernel package (which ships no modules.dep: depmod runs at
// install time, so berth reads each module's .modinfo itself).
type ModuleTree struct {
	Dir     string // .../lib/modules/<release>
	Modules map[string]Module
	Builtin map[string]bool
}

// moduleName normalises a module or file name: the kernel treats - and _
// in module names as the same character.
func moduleName(s string) string {
	s = filepath.Base(s)
	for _, ext := range []string{".ko", ".ko.xz", ".ko.gz", ".ko.zst"} {
		s = strings.TrimSuffix(s, ext)
	}
	return strings.ReplaceAll(s, "-", "_")
}

// ReadModuleTree reads every module's dependencies under dir.
func ReadModuleTree(dir string) (*ModuleTree, error) {
	t := &ModuleTree{Dir: dir, Modules: map[string]Module{}, Builtin: map[string]bool{}}
	err := filepath.WalkDir(filepath.Join(dir, "kernel"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".ko") {
			return err
		}
		info, err := readModinfo(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		name := moduleName(path)
		m := Module{Name: name, Path: rel, Aliases: info["alias"]}
		for _, v := range info["depends"] {
			for _, d := range strings.Split(v, ",") {
				if d != "" {
					m.Depends = append(m.Depends, moduleName(d))
				}
			}
		}
		m.softPre = softPre(info["softdep"])
		t.Modules[name] = m
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("image: read kernel modules in %s: %w", dir, err)
	}
	if len(t.Modules) == 0 {
		return nil, fmt.Errorf("image: no kernel modules (*.ko) under %s; run make deps", dir)
	}
	// A soft dependency loads first: it is a dependency here, so that
	// modules.dep has PID 1 load it before (libcrc32c fails without the
	// crc32c algorithm, which is a module of the generic kernel).
	for name, m := range t.Modules {
		for _, p := range m.softPre {
			if d := t.provider(p); d != "" && d != name {
				m.Depends = append(m.Depends, d)
			}
		}
		t.Modules[name] = m
	}
	if b, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil {
		for _, line := range strings.Fields(string(b)) {
			t.Builtin[moduleName(line)] = true
		}
	}
	return t, nil
}

// softPre reads the modules a softdep value loads first: "pre: a b post: c".
func softPre(values []string) []string {
	var out []string
	for _, v := range values {
		pre := false
		for _, f := range strings.Fields(v) {
			switch f {
			case "pre:":
				pre = true
			case "post:":
				pre = false
			default:
				if pre {
					out = append(out, f)
				}
			}
		}
	}
	return out
}

// provider is the module a softdep name means: the module of that name,
// else the generic implementation with that alias (crc32c_generic for
// "crc32c", which every CPU runs; a CPU-specific one such as crc32c_intel
// fails to load on a CPU without its instructions). "" when the kernel
// has it built in, or has no such module.
func (t *ModuleTree) provider(name string) string {
	if _, ok := t.Modules[moduleName(name)]; ok {
		return moduleName(name)
	}
	var found []string
	for _, m := range t.Modules {
		if strings.HasSuffix(m.Name, "_generic") && slices.Contains(m.Aliases, name) {
			found = append(found, m.Name)
		}
	}
	sort.Strings(found)
	if len(found) == 0 {
		return ""
	}
	return found[0]
}

// readModinfo reads a module's .modinfo section: each key with its values
// (alias and depends, among others).
func readModinfo(path string) (map[string][]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open module: %w", err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("%s has no .modinfo section", path)
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("read .modinfo of %s: %w", path, err)
	}
	info := map[string][]string{}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if k, v, ok := bytes.Cut(kv, []byte("=")); ok {
			info[string(k)] = append(info[string(k)], string(v))
		}
	}
	return info, nil
}

// Closure returns the modules needed to load every name in want, each
// after the modules it depends on. Built-in modules are left out; a name
// that is neither a module nor built in is an error.
func (t *ModuleTree) Closure(want []string) ([]Module, error) {
	var out []Module
	seen := map[string]bool{}
	var visit func(name string, chain []string) error
	visit = func(name string, chain []string) error {
		name = moduleName(name)
		if seen[name] || t.Builtin[name] {
			return nil
		}
		m, ok := t.Modules[name]
		if !ok {
			return fmt.Errorf("image: kernel module %s (needed by %s) is neither a module nor built into this kernel",
				name, strings.Join(chain, " <- "))
		}
		seen[name] = true
		for _, d := range m.Depends {
			if err := visit(d, append(chain, name)); err != nil {
				return err
			}
		}
		out = append(out, m)
		return nil
	}
	for _, w := range want {
		if err := visit(w, []string{"berth"}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ModulesDep renders modules.dep for the given modules in depmod's format,
// so that modprobe on the console and u-root's kmodule find dependencies.
func (t *ModuleTree) ModulesDep(mods []Module) []byte {
	byName := map[string]Module{}
	for _, m := range mods {
		byName[m.Name] = m
	}
	var lines []string
	for _, m := range mods {
		var deps []string
		transitiveDeps(m, byName, map[string]bool{}, &deps)
		lines = append(lines, m.Path+":"+prefixSpace(deps))
	}
	sort.Strings(lines)
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	for _, l := range lines {
		w.WriteString(l + "\n")
	}
	w.Flush()
	return b.Bytes()
}

// transitiveDeps appends m's dependencies, nearest first, as depmod does.
func transitiveDeps(m Module, byName map[string]Module, seen map[string]bool, out *[]string) {
	for _, d := range m.Depends {
		dm, ok := byName[d]
		if !ok || seen[d] {
			continue
		}
		seen[d] = true
		*out = append(*out, dm.Path)
		transitiveDeps(dm, byName, seen, out)
	}
}

func prefixSpace(items []string) string {
	if len(items) == 0 {
		return ""
	}
	return " " + strings.Join(items, " ")
}

// ModulesAlias renders modules.alias for the given modules in depmod's
// format ("alias PATTERN MODULE"), which PID 1 matches the machine's
// devices against.
func ModulesAlias(mods []Module) []byte {
	var b bytes.Buffer
	for _, m := range mods {
		for _, a := range m.Aliases {
			fmt.Fprintf(&b, "alias %s %s\n", a, m.Name)
		}
	}
	return b.Bytes()
}
