// Command boot starts the berth appliance under QEMU with the serial
// console on this terminal, forwarding the config's published ports from
// 127.0.0.1. make run uses it.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"berth/config"
	"berth/qemu"
)

func main() {
	var opts qemu.Options
	cfg := flag.String("config", "examples/default.toml", "config whose published ports to forward")
	flag.StringVar(&opts.Kernel, "kernel", "build/vmlinuz", "kernel")
	flag.StringVar(&opts.Initrd, "initrd", "build/initramfs.img", "initramfs")
	flag.StringVar(&opts.Append, "append", "quiet", "extra kernel command line")
	flag.IntVar(&opts.MemoryMB, "m", 1024, "memory in MiB")
	flag.StringVar(&opts.Disk, "disk", "", "boot this disk image through the firmware instead of -kernel (make run DISK=1)")
	flag.BoolVar(&opts.UEFI, "uefi", false, "with -disk: boot with OVMF (UEFI) instead of SeaBIOS")
	flag.Parse()
	if opts.Disk != "" {
		opts.Kernel, opts.Initrd, opts.Append = "", "", ""
	}

	c, err := config.Load(*cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	opts.HostFwd = forwards(c)
	args, err := qemu.Args(opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	args = append(args, "-serial", "mon:stdio")
	fmt.Printf("berth: booting under QEMU; the serial console is this terminal (Ctrl-A X quits QEMU)\n")
	for _, f := range opts.HostFwd {
		fmt.Printf("berth: 127.0.0.1:%d/%s on this machine reaches port %d of the guest\n", f.HostPort, f.Proto, f.GuestPort)
	}
	path, err := exec.LookPath(qemu.Binary)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%v; run make deps\n", err)
		os.Exit(1)
	}
	err = syscall.Exec(path, append([]string{qemu.Binary}, args...), os.Environ())
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// forwards lists a hostfwd rule for every fixed host port the config
// publishes, to the same port of the guest (which DNATs it to the
// container).
func forwards(c *config.Config) []qemu.Forward {
	var out []qemu.Forward
	seen := map[string]bool{}
	for _, ct := range c.Containers {
		for _, spec := range ct.Ports {
			m, err := config.ParsePort(spec)
			if err != nil || m.HostPort == 0 {
				continue
			}
			key := fmt.Sprintf("%d/%s", m.HostPort, m.Proto)
			if seen[key] {
				continue
			}
			seen[key] = true
			out = append(out, qemu.Forward{Proto: m.Proto, HostPort: int(m.HostPort), GuestPort: int(m.HostPort)})
		}
	}
	return out
}
