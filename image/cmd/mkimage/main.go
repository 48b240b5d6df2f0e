// Command mkimage builds the berth appliance (kernel and initramfs) on the
// build machine. The Makefile runs it as part of make image.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"berth/config"
	"berth/image"
)

func main() {
	var opts image.Options
	flag.StringVar(&opts.KernelRoot, "kernel", "", "unpacked linux-image package (default: the one make deps unpacked in the output directory for the config's [image] kernel)")
	flag.StringVar(&opts.Berth, "berth", "build/berth", "static berth binary")
	flag.StringVar(&opts.Busybox, "busybox", "/bin/busybox", "static busybox (Debian busybox-static)")
	flag.StringVar(&opts.Mke2fs, "mke2fs", "/sbin/mke2fs", "mke2fs program (Debian e2fsprogs)")
	flag.StringVar(&opts.Init, "init", "/usr/bin/tini-static", "static init for docker run --init (Debian tini)")
	flag.StringVar(&opts.Config, "config", "examples/default.toml", "berth.toml to embed")
	flag.StringVar(&opts.OutDir, "out", "build", "output directory")
	selinuxSrc := flag.String("selinux-src", "build/selinux-policy", "Debian's SELinux policy packages, unpacked (make deps); the compiled policy goes to OUT/selinux")
	disk := flag.String("disk", "berth.img", "bootable disk image to write in the output directory (UEFI and BIOS); empty for none")
	upgrade := flag.String("upgrade", "", "instead of building a disk, put the new kernel and initramfs on this berth disk (its state stays)")
	flag.Parse()
	opts.Log = os.Stdout
	c, err := config.Load(opts.Config)
	if err != nil {
		fmt.Fprintf(os.Stderr, "the config does not validate; fix it first:\n%v\n", err)
		os.Exit(1)
	}
	opts.Kernel = c.Image.Kernel
	if opts.KernelRoot == "" {
		opts.KernelRoot = image.KernelDir(opts.OutDir, opts.Kernel)
	}
	if opts.Images, err = image.BundleImages(c, opts.Config, opts.Busybox, opts.OutDir, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	opts.SELinux = filepath.Join(opts.OutDir, "selinux")
	if err := image.CompileSELinuxPolicy(*selinuxSrc, opts.SELinux, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	res, err := image.Build(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	switch {
	case *upgrade != "":
		if err := image.UpgradeDisk(*upgrade, res.Kernel, res.Initramfs); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("upgraded   %s: new kernel and initramfs, state partition untouched\n", *upgrade)
	case *disk != "":
		path := filepath.Join(opts.OutDir, *disk)
		if err := image.BuildDisk(image.DiskOptions{Path: path, Kernel: res.Kernel, Initramfs: res.Initramfs}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fi, _ := os.Stat(path)
		var st syscall.Stat_t
		syscall.Stat(path, &st)
		fmt.Printf("disk       %s  %6.1f MiB  (%.1f MiB allocated; GPT: berth-boot for UEFI and BIOS, berth-state)\n",
			path, float64(fi.Size())/(1<<20), float64(st.Blocks*512)/(1<<20))
	}
}
