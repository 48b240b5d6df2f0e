package image

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// BootModules are the kernel modules the appliance loads at boot, in this
// order. virtio-rng comes first so that the kernel's random pool is fed
// before anything asks for randomness. Dependencies (dm-thin-pool needs
// dm-persistent-data, which needs libcrc32c, ...) are found at build time
// and need not be listed.
var BootModules = []string{
	"virtio_rng",
	"virtio_pci", "virtio_blk", "virtio_net", "virtio_scsi",
	"sd_mod",
	"dm_thin_pool", "loop",
	"bridge", "veth",
	"nf_tables", "nft_chain_nat", "nft_nat", "nft_masq", "nft_ct", "nft_fib_ipv4",
	"overlay",
	"vfat", "nls_cp437", "nls_utf8",
}

// Module is one loadable kernel module of a kernel tree.
type Module struct {
	Name    string   // as the kernel knows it, with underscores
	Path    string   // relative to lib/modules/<release>, e.g. kernel/drivers/md/dm-thin-pool.ko
	Depends []string // names of the modules it needs
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
		deps, err := moduleDepends(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		name := moduleName(path)
		t.Modules[name] = Module{Name: name, Path: rel, Depends: deps}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("image: read kernel modules in %s: %w", dir, err)
	}
	if len(t.Modules) == 0 {
		return nil, fmt.Errorf("image: no kernel modules (*.ko) under %s; run make deps", dir)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil {
		for _, line := range strings.Fields(string(b)) {
			t.Builtin[moduleName(line)] = true
		}
	}
	return t, nil
}

// moduleDepends reads the "depends=" entry of a module's .modinfo section.
func moduleDepends(path string) ([]string, error) {
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
	var deps []string
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok && len(v) > 0 {
			for _, d := range strings.Split(string(v), ",") {
				deps = append(deps, moduleName(d))
			}
		}
	}
	return deps, nil
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
