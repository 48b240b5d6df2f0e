package image

import (
	"strings"
	"testing"
)

func testTree() *ModuleTree {
	mods := []Module{
		{Name: "dm_thin_pool", Path: "kernel/drivers/md/dm-thin-pool.ko", Depends: []string{"dm_persistent_data", "dm_mod"}},
		{Name: "dm_persistent_data", Path: "kernel/drivers/md/persistent-data/dm-persistent-data.ko", Depends: []string{"dm_bufio", "libcrc32c"}},
		{Name: "dm_bufio", Path: "kernel/drivers/md/dm-bufio.ko", Depends: []string{"dm_mod"}},
		{Name: "dm_mod", Path: "kernel/drivers/md/dm-mod.ko"},
		{Name: "libcrc32c", Path: "kernel/lib/libcrc32c.ko"},
		{Name: "loop", Path: "kernel/drivers/block/loop.ko"},
	}
	t := &ModuleTree{Modules: map[string]Module{}, Builtin: map[string]bool{"ext4": true}}
	for _, m := range mods {
		t.Modules[m.Name] = m
	}
	return t
}

func TestClosureOrdersDependenciesFirst(t *testing.T) {
	mods, err := testTree().Closure([]string{"dm-thin-pool", "ext4", "loop"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range mods {
		names = append(names, m.Name)
	}
	got := strings.Join(names, " ")
	if want := "dm_mod dm_bufio libcrc32c dm_persistent_data dm_thin_pool loop"; got != want {
		t.Errorf("closure %q, want %q", got, want)
	}
}

func TestClosureNamesWhatIsMissing(t *testing.T) {
	tree := testTree()
	tree.Modules["veth"] = Module{Name: "veth", Path: "kernel/drivers/net/veth.ko", Depends: []string{"nonexistent"}}
	_, err := tree.Closure([]string{"veth"})
	if err == nil || !strings.Contains(err.Error(), "nonexistent (needed by berth <- veth)") {
		t.Errorf("error %v does not name the missing module and who needs it", err)
	}
}

func TestModulesDep(t *testing.T) {
	tree := testTree()
	mods, _ := tree.Closure([]string{"dm_thin_pool"})
	dep := string(tree.ModulesDep(mods))
	want := "kernel/drivers/md/dm-thin-pool.ko: kernel/drivers/md/persistent-data/dm-persistent-data.ko kernel/drivers/md/dm-bufio.ko kernel/drivers/md/dm-mod.ko kernel/lib/libcrc32c.ko\n"
	if !strings.Contains(dep, want) {
		t.Errorf("modules.dep:\n%s\nwant line:\n%s", dep, want)
	}
	if !strings.Contains(dep, "kernel/lib/libcrc32c.ko:\n") {
		t.Errorf("modules.dep lacks the line of a module without dependencies:\n%s", dep)
	}
}

func TestModuleName(t *testing.T) {
	for in, want := range map[string]string{
		"kernel/drivers/md/dm-thin-pool.ko": "dm_thin_pool",
		"nls_iso8859-1.ko":                  "nls_iso8859_1",
		"virtio-rng":                        "virtio_rng",
		"kernel/fs/ext4/ext4.ko.xz":         "ext4",
	} {
		if got := moduleName(in); got != want {
			t.Errorf("moduleName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSoftDependencies: a module's softdep pre: loads first, as a
// dependency, through its generic implementation only (crc32c_intel
// fails on a CPU without SSE4.2); a name nothing generic provides (built
// into the kernel) adds nothing.
func TestSoftDependencies(t *testing.T) {
	if got := softPre([]string{"pre: crc32c post: other"}); len(got) != 1 || got[0] != "crc32c" {
		t.Errorf("softPre = %q", got)
	}
	tree := &ModuleTree{Modules: map[string]Module{
		"crc32c_intel":   {Name: "crc32c_intel", Aliases: []string{"crc32c", "crypto-crc32c"}},
		"crc32c_generic": {Name: "crc32c_generic", Aliases: []string{"crc32c", "crypto-crc32c"}},
	}}
	if got := tree.provider("crc32c"); got != "crc32c_generic" {
		t.Errorf("crc32c is provided by %q", got)
	}
	delete(tree.Modules, "crc32c_generic") // built in, as in the cloud kernel
	if got := tree.provider("crc32c"); got != "" {
		t.Errorf("with crc32c_generic built in, crc32c is provided by %q", got)
	}
}
