package qemu

import (
	"strings"
	"testing"
)

func TestArgsKeepNetworkRestricted(t *testing.T) {
	args, err := Args(Options{Kernel: "k", Initrd: "i", Accel: "tcg",
		HostFwd:  []Forward{{HostPort: 8080, GuestPort: 8080}, {Proto: "udp", HostPort: 5353, GuestPort: 53}},
		GuestFwd: []GuestForward{{GuestAddr: "10.0.2.100:80", HostPort: 9000}},
		Drives:   []Drive{{Path: "d.img", Serial: "data"}}})
	if err != nil {
		t.Fatal(err)
	}
	line := strings.Join(args, " ")
	for _, want := range []string{
		"user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:8080-:8080,hostfwd=udp:127.0.0.1:5353-:53,guestfwd=tcp:10.0.2.100:80-tcp:127.0.0.1:9000",
		"-kernel k", "-initrd i", "-append console=ttyS0", "-accel tcg", "-drive file=d.img,format=raw,if=none,id=drive0 -device virtio-blk-pci,drive=drive0,serial=data",
		"-device virtio-rng-pci",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("args %q lack %q", line, want)
		}
	}
	if _, err := Args(Options{Accel: "tcg"}); err == nil {
		t.Error("Args accepted a VM with nothing to boot")
	}
}

func TestCleanOutput(t *testing.T) {
	if got := cleanOutput("line one\r\nline two\r\n"); got != "line one\nline two" {
		t.Errorf("cleanOutput = %q", got)
	}
	if got := cleanOutput("one\r\nberth: SELinux: avc:  denied { read }\r\ntwo\r\n"); got != "one\ntwo" {
		t.Errorf("cleanOutput kept PID 1's SELinux report: %q", got)
	}
	if got := cleanOutput("\x1b[6n"); got != "" {
		t.Errorf("cleanOutput of no output = %q", got)
	}
}
