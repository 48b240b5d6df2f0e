//go:build appliance

package tests

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"berth/image"
	"berth/qemu"
)

// The generic kernel on PC hardware, not virtio: berth.img as a user
// writes it to a disk or a USB stick, booted by the firmware.

// genericDisk builds berth.img with the generic kernel and configPath.
func genericDisk(t *testing.T, configPath string) string {
	t.Helper()
	res := buildAppliance(t, configPath, false, nil, nil)
	disk := filepath.Join(t.TempDir(), "berth.img")
	if err := image.BuildDisk(image.DiskOptions{Path: disk, Kernel: res.Kernel, Initramfs: res.Initramfs, StateSize: 2 << 30}); err != nil {
		t.Fatal(err)
	}
	return disk
}

// consoleHas checks lines of the console, each a regular expression.
func consoleHas(t *testing.T, vm *qemu.VM, what string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !regexp.MustCompile(l).MatchString(vm.Log()) {
			t.Errorf("%s: the console lacks %q", what, l)
		}
	}
}

// TestSATADiskWithIntelNIC boots berth.img from a SATA disk on an AHCI
// controller with an Intel e1000e network card, through SeaBIOS, then
// through UEFI: the drivers load by the devices present, the network
// comes up by DHCP, the state lives on the disk's own partition 2 and
// outlives the reboot with a container, and the default page reaches the
// build machine.
func TestSATADiskWithIntelNIC(t *testing.T) {
	parallel(t)
	disk := genericDisk(t, "testdata/generic.toml")
	port := freePort(t)
	opts := qemu.Options{Disk: disk, DiskBus: qemu.BusAHCI, NIC: "e1000e", HostFwd: []qemu.Forward{{HostPort: port, GuestPort: 8080}}}

	vm := bootDisk(t, opts)
	consoleHas(t, vm, "BIOS boot", `SYSLINUX`, `berth: drivers: .*\bahci\b.*\be1000e\b`, `berth: drivers: sd_mod`,
		`berth: eth0: DHCP address 10\.0\.2\.15/24`, `state disk /dev/sda2 mounted on /var/lib/berth`, `creating a new pool`)
	if got := run(t, vm, "readlink /dev/disk/by-partlabel/berth-state; ls /dev/disk/by-id | grep -c '^ata-QEMU_HARDDISK_'"); got != "../../sda2\n3" {
		t.Errorf("/dev/disk names: %q", got)
	}
	fetchPage(t, port, "berth is running", 2*cmdTimeout)
	// A person at the machine: the boot lines on the screen and the serial
	// port, a shell on each (tty0 is served on tty1).
	if got := run(t, vm, "cat /sys/class/tty/console/active; ls -l /proc/[0-9]*/fd/0 2>/dev/null | grep -c ' -> /dev/tty1$'"); !regexp.MustCompile(`^(tty0 ttyS0|ttyS0 tty0)\n[1-9]`).MatchString(got) {
		t.Errorf("consoles and shells on tty1: %q", got)
	}
	run(t, vm, "mkdir -p /var/lib/berth/data && echo kept > /var/lib/berth/data/file")
	run(t, vm, "berth run -d --name keep --restart always busybox sleep 100000 >/dev/null")
	shutdownWith(t, vm, "reboot", "berth: reboot: stopping all processes")

	opts.UEFI = true
	vm = bootDisk(t, opts)
	if strings.Contains(vm.Log(), "SYSLINUX") || strings.Contains(vm.Log(), "creating a new pool") {
		t.Errorf("UEFI boot: SeaBIOS's loader ran, or a new pool was made")
	}
	consoleHas(t, vm, "UEFI boot", `state disk /dev/sda2 mounted on /var/lib/berth`, `berth: eth0: DHCP address 10\.0\.2\.15/24`)
	if got := run(t, vm, "cat /var/lib/berth/data/file"); got != "kept" {
		t.Errorf("after the reboot the state holds %q", got)
	}
	eventually(t, vm, "berth inspect -f '{{.State.Running}}' keep", time.Minute, func(s string) bool { return s == "true" })
	fetchPage(t, port, "berth is running", 2*cmdTimeout)
	shutdownWith(t, vm, "poweroff", "berth: power off: stopping all processes")
}

// TestUSBStickWithNVMePool boots berth.img from a USB stick (xHCI,
// usb-storage) through UEFI, on a machine with two network cards, only
// the second of which has a link, and two blank NVMe disks that the
// config names by id for the thin pool: the state is on the stick's
// partition 2, the network on the card with the carrier, the pool on
// the NVMe disks. A keyboard and another stick plugged in after boot get
// their drivers and names.
func TestUSBStickWithNVMePool(t *testing.T) {
	parallel(t)
	disk := genericDisk(t, "testdata/generic-nvme.toml")
	vm := bootDisk(t, qemu.Options{Disk: disk, DiskBus: qemu.BusUSB, UEFI: true, NIC: "e1000e", DeadNIC: true, Monitor: true,
		Drives: []qemu.Drive{
			{Path: sparseDisk(t, "data.img", 2<<30), Bus: qemu.BusNVMe, Serial: "berth-data"},
			{Path: sparseDisk(t, "meta.img", 64<<20), Bus: qemu.BusNVMe, Serial: "berth-meta"},
		}})
	consoleHas(t, vm, "USB boot", `berth: drivers: .*\bxhci_pci\b`, `berth: drivers: .*\busb_storage\b`, `berth: drivers: .*\bnvme\b`,
		`state disk /dev/sda2 mounted on /var/lib/berth`,
		`network: eth1 has a carrier \(of eth0, eth1\): using it`, `berth: eth1: DHCP address 10\.0\.2\.15/24`,
		`storage: /dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_berth-data is /dev/nvme\dn1`,
		`creating a new pool on /dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_berth-data \(data\) and /dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_berth-meta \(metadata\)`)
	if got := run(t, vm, "cat /sys/class/net/eth0/carrier /sys/class/net/eth1/carrier"); got != "0\n1" {
		t.Errorf("carriers of eth0 and eth1: %q", got)
	}
	if got := run(t, vm, "berth run --rm busybox echo on the NVMe pool"); got != "on the NVMe pool" {
		t.Errorf("a container on the NVMe pool printed %q", got)
	}
	if got := run(t, vm, "berth info | grep -E '^ *(Data|Metadata) file:'"); !strings.Contains(got, "nvme-QEMU_NVMe_Ctrl_berth-data") {
		t.Errorf("berth info's pool files:\n%s", got)
	}
	// Plugged in after boot: a USB keyboard gets its drivers, a USB stick
	// its /dev/disk names.
	stick := filepath.Join(t.TempDir(), "stick.img")
	if out, err := exec.Command("mke2fs", "-q", "-t", "ext4", "-L", "hotstick", stick, "16M").CombinedOutput(); err != nil {
		t.Fatalf("mke2fs: %v: %s", err, out)
	}
	if err := vm.Monitor("device_add usb-kbd,bus=xhci.0,id=kbd", "drive_add 0 if=none,id=stick,format=raw,file="+stick,
		"device_add usb-storage,bus=xhci.0,drive=stick,id=stickdev"); err != nil {
		t.Fatal(err)
	}
	eventually(t, vm, "ls /sys/bus/hid/drivers/hid-generic | grep -c :; readlink /dev/disk/by-label/hotstick", 2*time.Minute,
		func(s string) bool { return regexp.MustCompile(`^[1-9]\n\.\./\.\./sd[b-z]$`).MatchString(s) })
	consoleHas(t, vm, "hotplug", `berth: drivers: usbhid \(plugged in\)`, `berth: drivers: hid_generic \(plugged in\)`)
	shutdownWith(t, vm, "poweroff", "berth: power off: stopping all processes")
}
