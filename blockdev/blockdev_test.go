package blockdev

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseFATLabel(t *testing.T) {
	fat32 := make([]byte, 512)
	copy(fat32[0x47:], "BERTHCONFIG")
	copy(fat32[0x52:], "FAT32   ")
	fat32[510], fat32[511] = 0x55, 0xAA
	fat16 := make([]byte, 512)
	copy(fat16[0x2B:], "CONF       ")
	copy(fat16[0x36:], "FAT16   ")
	fat16[510], fat16[511] = 0x55, 0xAA
	noName := append([]byte(nil), fat32...)
	copy(noName[0x47:], "NO NAME    ")
	for _, tc := range []struct {
		b    []byte
		want string
	}{{fat32, "BERTHCONFIG"}, {fat16, "CONF"}, {noName, ""}, {make([]byte, 512), ""}} {
		if got := ParseFATLabel(tc.b); got != tc.want {
			t.Errorf("label %q, want %q", got, tc.want)
		}
	}
}

// TestStableNames reads a sysfs tree as PID 1 does and makes the
// /dev/disk links udev would: by-id for virtio and NVMe disks and their
// partitions, by-partlabel.
func TestStableNames(t *testing.T) {
	dir := t.TempDir()
	sysfs := filepath.Join(dir, "sys")
	block := func(name, parent string, attrs map[string]string) {
		var d string
		if parent == "" {
			d = filepath.Join(sysfs, "devices", name)
		} else {
			d = filepath.Join(sysfs, "devices", parent, name)
		}
		os.MkdirAll(d, 0o755)
		for k, v := range attrs {
			os.MkdirAll(filepath.Dir(filepath.Join(d, k)), 0o755)
			os.WriteFile(filepath.Join(d, k), []byte(v+"\n"), 0o644)
		}
		os.MkdirAll(filepath.Join(sysfs, "class", "block"), 0o755)
		os.Symlink(d, filepath.Join(sysfs, "class", "block", name))
	}
	block("vdb", "", map[string]string{"serial": "data disk", "uevent": "DEVTYPE=disk"})
	block("nvme0n1", "", map[string]string{"device/model": "Samsung SSD 980  ", "device/serial": " S64DNX0R123456 ", "nsid": "1"})
	block("nvme0n1p2", "nvme0n1", map[string]string{"partition": "2", "uevent": "PARTN=2\nPARTNAME=pool-data"})
	block("loop0", "", nil)
	got := map[string][]string{}
	for _, d := range list(sysfs, nil) {
		got[d.Name] = d.IDs
	}
	want := map[string][]string{
		"vdb":       {"virtio-data_disk"},
		"nvme0n1":   {"nvme-Samsung_SSD_980_S64DNX0R123456", "nvme-Samsung_SSD_980_S64DNX0R123456_1"},
		"nvme0n1p2": {"nvme-Samsung_SSD_980_S64DNX0R123456-part2", "nvme-Samsung_SSD_980_S64DNX0R123456_1-part2"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ids %q, want %q", got, want)
	}
	var names []string
	for _, d := range list(sysfs, map[string]bool{"nvme0n1": true}) {
		names = append(names, d.Name)
	}
	if !reflect.DeepEqual(names, []string{"vdb"}) {
		t.Errorf("with nvme0n1 excluded, listed %q", names)
	}
	dev := filepath.Join(dir, "dev")
	if err := link(dev, list(sysfs, nil)); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"disk/by-id/virtio-data_disk":                          "../../vdb",
		"disk/by-id/nvme-Samsung_SSD_980_S64DNX0R123456-part2": "../../nvme0n1p2",
		"disk/by-partlabel/pool-data":                          "../../nvme0n1p2",
	} {
		if got, err := os.Readlink(filepath.Join(dev, link)); err != nil || got != target {
			t.Errorf("%s -> %q (%v), want %q", link, got, err, target)
		}
	}
	// Linking again with a disk gone and a partition renamed: the names
	// that stay are left in place, the gone ones removed.
	keep, _ := os.Lstat(filepath.Join(dev, "disk/by-id/virtio-data_disk"))
	devices := list(sysfs, map[string]bool{"nvme0n1": true})
	devices[0].PartName = "moved"
	if err := link(dev, devices); err != nil {
		t.Fatal(err)
	}
	if again, err := os.Lstat(filepath.Join(dev, "disk/by-id/virtio-data_disk")); err != nil || !os.SameFile(keep, again) {
		t.Errorf("a name that stayed was made again (%v)", err)
	}
	for kind, want := range map[string][]string{"by-id": {"virtio-data_disk"}, "by-partlabel": {"moved"}} {
		entries, _ := os.ReadDir(filepath.Join(dev, "disk", kind))
		var got []string
		for _, e := range entries {
			got = append(got, e.Name())
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s after the second link: %q, want %q", kind, got, want)
		}
	}
	for name, want := range map[string]bool{"sda": true, "nvme0n1p2": true, "vdb": true, "loop0": false, "dm-3": false, "sr0": false, "mmcblk0boot0": false, "": false} {
		if Named(name) != want {
			t.Errorf("Named(%q) = %v, want %v", name, !want, want)
		}
	}
	for spec, want := range map[string]string{"LABEL=x": "/dev/disk/by-label/x", "PARTLABEL=p": "/dev/disk/by-partlabel/p", "/dev/vdc": "/dev/vdc"} {
		if got := Path(spec); got != want {
			t.Errorf("Path(%q) = %q, want %q", spec, got, want)
		}
	}
}
