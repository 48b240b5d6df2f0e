// Package qemu boots berth under QEMU and drives its serial console.
//
// Networking is always QEMU's user mode with restrict=on: the guest reaches
// nothing but what hostfwd and guestfwd open, on 127.0.0.1. KVM is used
// only when it works; otherwise QEMU emulates the CPU (TCG).
package qemu

import (
	"berth/config"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// DeadNICID is the QEMU id of Options.DeadNIC's card.
const DeadNICID = "deadnic"

// Binary is the QEMU program berth uses.
const Binary = "qemu-system-x86_64"

// Options describe one virtual machine.
type Options struct {
	// Kernel and Initrd boot the appliance directly. Leave both empty to
	// boot Disk through its firmware.
	Kernel, Initrd string
	// Append is added to the kernel command line after console=ttyS0 and
	// what the appliance always needs (config.KernelCmdline).
	Append string
	// Disk is a disk image to boot from (firmware boot), on DiskBus.
	Disk    string
	DiskBus string
	// UEFI boots Disk with OVMF instead of SeaBIOS.
	UEFI bool
	// Drives are extra disks, attached in order (virtio ones as /dev/vda,
	// /dev/vdb, ... after Disk).
	Drives []Drive
	// NIC is the network card's model: virtio-net-pci (the default), or
	// PC hardware such as e1000e.
	NIC string
	// DeadNIC puts another network card of the same model before it,
	// whose link is down: no carrier, as an unplugged port.
	DeadNIC bool
	// Monitor opens QEMU's human monitor for VM.Monitor (device_add, ...).
	Monitor bool
	// MemoryMB and CPUs size the machine; 0 means 1024 MiB and 2 CPUs.
	MemoryMB, CPUs int
	// HostFwd publishes guest ports on 127.0.0.1 of the build machine.
	HostFwd []Forward
	// GuestFwd lets the guest reach a server on the build machine's
	// loopback at a fixed address inside QEMU's user network.
	GuestFwd []GuestForward
	// UnpluggedNIC gives the guest a network card with nothing behind it:
	// no DHCP server answers.
	UnpluggedNIC bool
	// NoReboot makes QEMU exit when the guest reboots (and, with panic=-1
	// on the command line, when the kernel panics), as tests want.
	NoReboot bool
	// Accel is "kvm" or "tcg"; empty means DetectAccel.
	Accel string
}

// Drive is an extra virtual disk.
type Drive struct {
	Path   string
	Format string // "raw" (default) or "qcow2"
	Serial string // shows as /sys/block/vdX/serial in the guest
	// Bus is how it is attached: "virtio" (the default), "ahci" (a SATA
	// disk on an AHCI controller), "nvme" (an NVMe controller of its own)
	// or "usb" (a USB stick on an xHCI controller).
	Bus string
}

// Buses of Drive.
const (
	BusVirtio = "virtio"
	BusAHCI   = "ahci"
	BusNVMe   = "nvme"
	BusUSB    = "usb"
)

// Forward is one hostfwd rule: 127.0.0.1:HostPort on the build machine to
// GuestPort on the guest.
type Forward struct {
	Proto     string // "tcp" (default) or "udp"
	HostPort  int
	GuestPort int
}

// GuestForward is one guestfwd rule: connections from the guest to
// GuestAddr (an address in 10.0.2.0/24, e.g. 10.0.2.100:8080) go to
// 127.0.0.1:HostPort on the build machine.
type GuestForward struct {
	GuestAddr string
	HostPort  int
}

// OVMF and OVMFVars are where Debian's ovmf package puts the UEFI
// firmware and its variable store template.
const (
	OVMF     = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	OVMFVars = "/usr/share/OVMF/OVMF_VARS_4M.fd"
)

// Args returns QEMU's arguments for opts, serial console excluded (the
// caller chooses how to attach it).
func Args(opts Options) ([]string, error) {
	mem, cpus := opts.MemoryMB, opts.CPUs
	if mem == 0 {
		mem = 1024
	}
	if cpus == 0 {
		cpus = 2
	}
	accel := opts.Accel
	if accel == "" {
		accel = DetectAccel(opts.Kernel)
	}
	args := []string{
		"-nodefaults", "-no-user-config",
		"-machine", "pc", "-accel", accel,
		"-m", fmt.Sprint(mem), "-smp", fmt.Sprint(cpus),
		"-display", "none", "-monitor", "none",
		"-device", "virtio-rng-pci",
	}
	if accel == "kvm" {
		args = append(args, "-cpu", "host")
	}
	switch {
	case opts.Kernel != "":
		args = append(args, "-kernel", opts.Kernel, "-append", strings.TrimSpace("console=ttyS0 "+config.KernelCmdline+" "+opts.Append))
		if opts.Initrd != "" {
			args = append(args, "-initrd", opts.Initrd)
		}
	case opts.Disk == "":
		return nil, fmt.Errorf("qemu: nothing to boot: give a kernel or a disk image")
	}
	drives := opts.Drives
	if opts.Disk != "" {
		drives = append([]Drive{{Path: opts.Disk, Bus: opts.DiskBus}}, drives...)
		if opts.UEFI {
			// The variable store is the package's template, its writes kept
			// in a temporary overlay.
			args = append(args, "-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+OVMF,
				"-drive", "if=pflash,format=raw,unit=1,snapshot=on,file="+OVMFVars)
		}
	}
	controllers := map[string]bool{}
	ahciPort := 0
	for i, d := range drives {
		format := d.Format
		if format == "" {
			format = "raw"
		}
		id := fmt.Sprintf("drive%d", i)
		var dev string
		switch d.Bus {
		case "", BusVirtio:
			dev = "virtio-blk-pci,drive=" + id
		case BusAHCI:
			if !controllers[BusAHCI] {
				args = append(args, "-device", "ahci,id=ahci")
				controllers[BusAHCI] = true
			}
			dev = fmt.Sprintf("ide-hd,drive=%s,bus=ahci.%d", id, ahciPort)
			ahciPort++
		case BusNVMe:
			if d.Serial == "" {
				d.Serial = fmt.Sprintf("berth-nvme%d", i)
			}
			dev = "nvme,drive=" + id
		case BusUSB:
			if !controllers[BusUSB] {
				args = append(args, "-device", "qemu-xhci,id=xhci")
				controllers[BusUSB] = true
			}
			dev = "usb-storage,drive=" + id + ",bus=xhci.0"
		default:
			return nil, fmt.Errorf("qemu: drive %s: no bus %q (virtio, ahci, nvme or usb)", d.Path, d.Bus)
		}
		if d.Serial != "" {
			dev += ",serial=" + d.Serial
		}
		if opts.Disk != "" && i == 0 {
			dev += ",bootindex=0"
		}
		args = append(args, "-drive", fmt.Sprintf("file=%s,format=%s,if=none,id=%s", d.Path, format, id), "-device", dev)
	}
	model := opts.NIC
	if model == "" {
		model = "virtio-net-pci"
	}
	nic := "user,model=" + model + ",restrict=on"
	for _, f := range opts.HostFwd {
		proto := f.Proto
		if proto == "" {
			proto = "tcp"
		}
		nic += fmt.Sprintf(",hostfwd=%s:127.0.0.1:%d-:%d", proto, f.HostPort, f.GuestPort)
	}
	for _, g := range opts.GuestFwd {
		nic += fmt.Sprintf(",guestfwd=tcp:%s-tcp:127.0.0.1:%d", g.GuestAddr, g.HostPort)
	}
	switch {
	case opts.UnpluggedNIC:
		args = append(args, "-netdev", "hubport,id=unplugged,hubid=0", "-device", model+",netdev=unplugged")
	case opts.DeadNIC:
		// The dead card first on the PCI bus, so the guest names it eth0;
		// its link is set down through the monitor before the guest runs
		// (Start).
		args = append(args, "-netdev", "hubport,id=dead,hubid=1", "-device", model+",netdev=dead,id="+DeadNICID+",addr=0x10",
			"-netdev", strings.Replace(nic, "user,model="+model+",", "user,id=live,", 1), "-device", model+",netdev=live,addr=0x11")
	default:
		args = append(args, "-nic", nic)
	}
	if opts.NoReboot {
		args = append(args, "-no-reboot")
	}
	return args, nil
}

// DetectAccel returns "kvm" when /dev/kvm is there and a guest actually
// runs with it (on some machines /dev/kvm exists but guests hang), and
// "tcg" otherwise. It boots kernel, when given, for at most three seconds
// to find out.
func DetectAccel(kernel string) string {
	if os.Getenv("BERTH_ACCEL") != "" {
		return os.Getenv("BERTH_ACCEL")
	}
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil || kernel == "" {
		return "tcg"
	}
	f.Close()
	cmd := exec.Command(Binary, "-nodefaults", "-no-user-config", "-accel", "kvm", "-cpu", "host", "-m", "256",
		"-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot",
		"-kernel", kernel, "-append", "console=ttyS0 panic=-1 init=/none")
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		return "tcg"
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		cmd.Process.Kill()
		<-done
	}
	if strings.Contains(out.String(), "Linux version") {
		return "kvm"
	}
	return "tcg"
}
