// Command mkimage builds the berth appliance (kernel and initramfs) on the
// build machine. The Makefile runs it as part of make image.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"berth/image"
)

func main() {
	var opts image.Options
	flag.StringVar(&opts.KernelRoot, "kernel", "build/kernel", "unpacked linux-image package (make deps)")
	flag.StringVar(&opts.Berth, "berth", "build/berth", "static berth binary")
	flag.StringVar(&opts.Busybox, "busybox", "/bin/busybox", "static busybox (Debian busybox-static)")
	flag.StringVar(&opts.Mke2fs, "mke2fs", "/sbin/mke2fs", "mke2fs program (Debian e2fsprogs)")
	flag.StringVar(&opts.Config, "config", "examples/default.toml", "berth.toml to embed")
	flag.StringVar(&opts.OutDir, "out", "build", "output directory")
	flag.Parse()
	opts.Log = os.Stdout
	busyboxImage := filepath.Join(opts.OutDir, "images", "busybox.tar")
	if err := image.BuildBusyboxImage(opts.Busybox, busyboxImage); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	opts.Images = append(opts.Images, busyboxImage)
	if _, err := image.Build(opts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
