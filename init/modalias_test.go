package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestDriversByModalias matches devices in a sysfs tree against
// modules.alias as PID 1 does at boot.
func TestDriversByModalias(t *testing.T) {
	dir := t.TempDir()
	alias := filepath.Join(dir, "modules.alias")
	os.WriteFile(alias, []byte(`alias pci:v00008086d000010D3sv*sd*bc*sc*i* e1000e
alias pci:v*d*sv*sd*bc01sc06i01* ahci
alias pci:v00001AF4d00001000sv*sd*bc*sc*i* virtio_pci
alias virtio:d00000001v* virtio_net
alias scsi:t-0x00* sd_mod
alias usb:v*p*d*dc*dsc*dp*ic08isc06ip50in* usb_storage
alias pci:v*d*sv*sd*bc0Csc03i30* xhci_pci
`), 0o644)
	table, err := readAliases(alias)
	if err != nil {
		t.Fatal(err)
	}
	sysfs := filepath.Join(dir, "sys")
	device := func(bus, name, modalias string) {
		d := filepath.Join(sysfs, "bus", bus, "devices", name)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "modalias"), []byte(modalias+"\n"), 0o444)
	}
	device("pci", "0000:00:02.0", "pci:v00008086d000010D3sv00008086sd00000000bc02sc00i00")
	device("pci", "0000:00:1f.2", "pci:v00008086d00002922sv00001AF4sd00001100bc01sc06i01")
	device("pci", "0000:00:03.0", "pci:v00001234d00001111sv00001AF4sd00001100bc03sc00i00") // a display: no driver here
	device("platform", "serial8250", "platform:serial8250")
	got := table.wanted(sysfs, map[string]bool{})
	if want := []string{"ahci", "e1000e"}; !reflect.DeepEqual(got, want) {
		t.Errorf("first pass wants %q, want %q", got, want)
	}
	// ahci brings a SCSI disk, a USB controller its stick: the next pass
	// loads their drivers, not those already loaded.
	device("scsi", "0:0:0:0", "scsi:t-0x00")
	device("pci", "0000:00:04.0", "pci:v00001B36d0000000Dsv00001AF4sd00001100bc0Csc03i30")
	device("usb", "1-1:1.0", "usb:v46F4p0001d0000dc00dsc00dp00ic08isc06ip50in00")
	got = table.wanted(sysfs, map[string]bool{"ahci": true, "e1000e": true})
	if want := []string{"sd_mod", "usb_storage", "xhci_pci"}; !reflect.DeepEqual(got, want) {
		t.Errorf("second pass wants %q, want %q", got, want)
	}
}

func TestParseUevent(t *testing.T) {
	ev, ok := parseUevent([]byte("add@/devices/pci0000:00/0000:00:04.0/usb1/1-1/1-1:1.0\x00ACTION=add\x00SUBSYSTEM=usb\x00MODALIAS=usb:v0627p0001d0000dc00dsc00dp00ic03isc01ip01in00\x00SEQNUM=1234\x00"))
	if !ok || ev.action != "add" || ev.env["SUBSYSTEM"] != "usb" || ev.env["MODALIAS"] != "usb:v0627p0001d0000dc00dsc00dp00ic03isc01ip01in00" {
		t.Errorf("parsed %+v, %v", ev, ok)
	}
	if _, ok := parseUevent([]byte("libudev\x00\xfe\xed")); ok {
		t.Error("a udev message (no ACTION@DEVPATH) was taken for the kernel's")
	}
}
