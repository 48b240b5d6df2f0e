package image

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"berth/config"

	diskfs "github.com/diskfs/go-diskfs"
	"github.com/diskfs/go-diskfs/disk"
	"github.com/diskfs/go-diskfs/filesystem"
	"github.com/diskfs/go-diskfs/partition/gpt"
)

// The bootable disk (build/berth.img) is a GPT disk with two partitions:
//
//  1. berth-boot, an EFI system partition (FAT32) that also carries the
//     legacy-BIOS-bootable attribute. It holds the kernel and initramfs,
//     systemd-boot as the removable-media loader EFI/BOOT/BOOTX64.EFI for
//     UEFI, and SYSLINUX for BIOS (gptmbr.bin in the protective MBR boots
//     the partition that has the attribute; its boot sector loads
//     ldlinux.sys). Both loaders read the same command line.
//  2. berth-state, ext4 labelled berth-state: /var/lib/berth, the only
//     place that persists. An upgrade replaces the files of partition 1
//     and never touches it.

// Bootloader files, from Debian's systemd-boot-efi, syslinux and
// syslinux-common packages.
var (
	SystemdBootEFI  = "/usr/lib/systemd/boot/efi/systemd-bootx64.efi"
	SyslinuxMBR     = "/usr/lib/syslinux/mbr/gptmbr.bin"
	SyslinuxLdlinux = "/usr/lib/syslinux/modules/bios/ldlinux.c32"
)

// DiskOptions say what goes on the disk.
type DiskOptions struct {
	Path      string // the image to write
	Kernel    string // vmlinuz
	Initramfs string
	Cmdline   string // the kernel command line both loaders pass
	BootSize  int64  // bytes of the boot partition; 0 for 256 MiB
	StateSize int64  // bytes of the state partition; 0 for 1 GiB
}

// DefaultCmdline is the disk's kernel command line: the screen and the
// first serial port are both consoles (PID 1 writes to every console; the
// kernel's own messages go to the last), and what the appliance's kernel
// always needs (config.KernelCmdline).
const DefaultCmdline = "console=tty0 console=ttyS0,115200 " + config.KernelCmdline + " quiet"

const (
	sector       = 512
	partStart    = 2048 // sectors: the first partition at 1 MiB
	bootPartName = "berth-boot"
	// StatePartName is the GPT name and the ext4 label of the state
	// partition.
	StatePartName = "berth-state"
)

// BuildDisk writes the bootable disk image.
func BuildDisk(o DiskOptions) error {
	if o.BootSize == 0 {
		o.BootSize = 256 << 20
	}
	if o.StateSize == 0 {
		o.StateSize = 1 << 30
	}
	if o.Cmdline == "" {
		o.Cmdline = DefaultCmdline
	}
	for _, f := range []string{o.Kernel, o.Initramfs, SystemdBootEFI, SyslinuxMBR, SyslinuxLdlinux} {
		if _, err := os.Stat(f); err != nil {
			return fmt.Errorf("image: disk: %w (make deps installs systemd-boot-efi, syslinux and syslinux-common)", err)
		}
	}
	tmp := o.Path + ".tmp"
	os.Remove(tmp)
	bootSectors := uint64(o.BootSize / sector)
	stateSectors := uint64(o.StateSize / sector)
	total := int64(partStart+bootSectors+stateSectors+2048) * sector
	d, err := diskfs.Create(tmp, total, diskfs.SectorSizeDefault)
	if err != nil {
		return fmt.Errorf("image: disk: %w", err)
	}
	table := &gpt.Table{LogicalSectorSize: sector, PhysicalSectorSize: sector, ProtectiveMBR: true,
		Partitions: []*gpt.Partition{
			// Attribute bit 2: legacy BIOS bootable, which gptmbr.bin looks for.
			{Index: 1, Start: partStart, End: partStart + bootSectors - 1, Type: gpt.EFISystemPartition, Name: bootPartName, Attributes: 1 << 2},
			{Index: 2, Start: partStart + bootSectors, End: partStart + bootSectors + stateSectors - 1, Type: gpt.LinuxFilesystem, Name: StatePartName},
		}}
	if err := d.Partition(table); err != nil {
		return fmt.Errorf("image: disk: partition: %w", err)
	}
	fs, err := d.CreateFilesystem(disk.FilesystemSpec{Partition: 1, FSType: filesystem.TypeFat32, VolumeLabel: "BERTH-BOOT", Reproducible: true})
	if err != nil {
		return fmt.Errorf("image: disk: boot filesystem: %w", err)
	}
	for _, dir := range []string{"/EFI", "/EFI/BOOT", "/loader", "/loader/entries", "/syslinux"} {
		if err := fs.Mkdir(dir); err != nil {
			return fmt.Errorf("image: disk: mkdir %s: %w", dir, err)
		}
	}
	for name, src := range map[string]string{
		"/EFI/BOOT/BOOTX64.EFI": SystemdBootEFI,
		"/syslinux/ldlinux.c32": SyslinuxLdlinux,
		"/vmlinuz":              o.Kernel,
		"/initrd.img":           o.Initramfs,
	} {
		if err := copyFATFile(fs, name, src); err != nil {
			return err
		}
	}
	for name, content := range map[string]string{
		"/loader/loader.conf":        "default berth.conf\ntimeout 0\nconsole-mode keep\n",
		"/loader/entries/berth.conf": "title berth\nlinux /vmlinuz\ninitrd /initrd.img\noptions " + o.Cmdline + "\n",
		"/syslinux/syslinux.cfg": "SERIAL 0 115200\nDEFAULT berth\nPROMPT 0\nTIMEOUT 0\nLABEL berth\n  LINUX /vmlinuz\n  INITRD /initrd.img\n  APPEND " +
			o.Cmdline + "\n",
	} {
		if err := writeFATFile(fs, name, strings.NewReader(content)); err != nil {
			return err
		}
	}
	if err := d.Close(); err != nil {
		return fmt.Errorf("image: disk: %w", err)
	}
	// SYSLINUX's installer writes ldlinux.sys into the FAT and points the
	// partition's boot sector at it; gptmbr.bin goes in the boot code of
	// the protective MBR.
	if out, err := exec.Command("syslinux", "--install", "--offset", strconv.Itoa(partStart*sector), "--directory", "/syslinux", tmp).CombinedOutput(); err != nil {
		return fmt.Errorf("image: disk: syslinux: %v: %s", err, out)
	}
	mbr, err := os.ReadFile(SyslinuxMBR)
	if err != nil {
		return err
	}
	if len(mbr) > 440 {
		mbr = mbr[:440]
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(mbr, 0)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("image: disk: boot code: %w", err)
	}
	// The state partition: ext4 made in place, a fixed UUID so that the
	// same inputs give the same disk.
	stateOffset := (partStart + bootSectors) * sector
	cmd := exec.Command("mkfs.ext4", "-q", "-F", "-L", StatePartName, "-U", "5b1e8a56-0d5b-4c3e-9d2a-6b8e7c1f0a42",
		"-E", fmt.Sprintf("offset=%d,hash_seed=8f0c7a1e-4b2d-4e8a-9c55-0e2b6f1d3a77", stateOffset), tmp, strconv.FormatUint(stateSectors/2, 10)+"k")
	cmd.Env = append(os.Environ(), "E2FSPROGS_FAKE_TIME=1700000000")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("image: disk: state partition: %v: %s", err, out)
	}
	return os.Rename(tmp, o.Path)
}

func writeFATFile(fs filesystem.FileSystem, name string, r io.Reader) error {
	f, err := fs.OpenFile(name, os.O_CREATE|os.O_RDWR|os.O_TRUNC)
	if err != nil {
		return fmt.Errorf("image: disk: create %s: %w", name, err)
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return fmt.Errorf("image: disk: write %s: %w", name, err)
	}
	return f.Close()
}

// copyFATFile copies the host file src to name on the FAT filesystem.
func copyFATFile(fs filesystem.FileSystem, name, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("image: disk: %w", err)
	}
	defer f.Close()
	return writeFATFile(fs, name, f)
}

// UpgradeDisk replaces the kernel and initramfs on a berth disk's boot
// partition with new ones, as an upgrade does: the state partition is not
// touched, so containers, images and data stay.
func UpgradeDisk(diskPath, kernel, initramfs string) error {
	d, err := diskfs.Open(diskPath)
	if err != nil {
		return fmt.Errorf("image: upgrade %s: %w", diskPath, err)
	}
	defer d.Close()
	fs, err := d.GetFilesystem(1)
	if err != nil {
		return fmt.Errorf("image: upgrade %s: the boot partition: %w", diskPath, err)
	}
	for name, src := range map[string]string{"/vmlinuz": kernel, "/initrd.img": initramfs} {
		// Removed first: the new file may be smaller than the old.
		fs.Remove(name)
		if err := copyFATFile(fs, name, src); err != nil {
			return err
		}
	}
	return nil
}
