//go:build appliance

package tests

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"berth/qemu"
)

// freePort returns a TCP port free on the build machine's loopback.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestNetconfInGuest runs the network guest tests: namespaces attached to
// the bridge, published ports (from the guest's 127.0.0.1, its address and
// another namespace), udp, random ports, links by name, detach; and
// outbound from a namespace to a server on the build machine, reached
// through QEMU's guestfwd. Then, in the same guest, the build machine
// fetches a page through QEMU's hostfwd, the guest's published port and
// DNAT, from a server in a network namespace.
func TestNetconfInGuest(t *testing.T) {
	parallel(t)
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "hello from the build machine")
	})}
	go srv.Serve(l)
	defer srv.Close()

	bin := guestTestBinary(t, "berth/netconf")
	initrd := buildImageWith(t, "testdata/guest.toml", false, map[string]string{"/tests/netconf.test": bin})
	port := freePort(t)
	vm := boot(t, initrd, `berth: ready`, qemu.Options{GuestFwd: []qemu.GuestForward{
		{GuestAddr: "10.0.2.100:8081", HostPort: l.Addr().(*net.TCPAddr).Port}},
		HostFwd: []qemu.Forward{{HostPort: port, GuestPort: 8080}}})
	_, code, err := vm.Run("BERTH_TEST_OUTBOUND=10.0.2.100:8081 /tests/netconf.test -test.v -test.timeout 3m > /tmp/guest.log 2>&1", 4*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	out := run(t, vm, "cat /tmp/guest.log")
	if code != 0 || !strings.Contains(out, "\nPASS") || !strings.Contains(out, "--- PASS: TestAttachPublishDetach/outbound") {
		t.Fatalf("guest tests (status %d):\n%s", code, out)
	}
	t.Logf("guest output:\n%s", out)

	run(t, vm, "BERTH_TEST_SERVE=1 /tests/netconf.test -test.run TestServeForBuildMachine -test.v > /tmp/serve.log 2>&1 &")
	eventually(t, vm, "test -f /tmp/serving && echo up || cat /tmp/serve.log", 2*time.Minute,
		func(out string) bool { return strings.TrimSpace(out) == "up" })
	if body := fetch(t, port); body != "hello through hostfwd and DNAT" {
		t.Errorf("the build machine got %q", body)
	}
	run(t, vm, "touch /tmp/stop")
	eventually(t, vm, "grep -c '^PASS' /tmp/serve.log || true", time.Minute,
		func(out string) bool { return strings.TrimSpace(out) == "1" })
	if err := vm.Poweroff(15 * time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestHostNetwork boots the two other ways a host gets its address (DHCP,
// the default, is TestAppliance's): static, and DHCP with no server,
// which must not stop the boot. The second guest also has two disks that
// hold data, which berth must leave untouched (a boot costs seconds of
// emulation).
func TestHostNetwork(t *testing.T) {
	parallel(t)
	t.Run("static", func(t *testing.T) {
		vm := boot(t, buildImage(t, "testdata/static.toml", false), `berth: ready`, qemu.Options{})
		if !strings.Contains(vm.Log(), "berth: eth0: static address 10.0.2.15/24, gateway 10.0.2.2") {
			t.Errorf("no static address line on the console")
		}
		out := run(t, vm, "ip -4 addr show eth0; ip route; cat /etc/resolv.conf")
		for _, want := range []string{"inet 10.0.2.15/24", "default via 10.0.2.2 dev eth0", "nameserver 10.0.2.3"} {
			if !strings.Contains(out, want) {
				t.Errorf("static host lacks %q:\n%s", want, out)
			}
		}
		shutdownWith(t, vm, "poweroff -f", "")
	})
	t.Run("no DHCP server", func(t *testing.T) {
		drives, untouched := foreignDisks(t)
		vm := boot(t, shared.initrd, `berth: ready`, qemu.Options{UnpluggedNIC: true, Drives: drives})
		if !strings.Contains(vm.Log(), "berth: eth0: DHCP failed") || !strings.Contains(vm.Log(), "Retrying in the background") {
			t.Errorf("no DHCP failure line on the console")
		}
		run(t, vm, "echo the shell works")
		if err := vm.Poweroff(15 * time.Second); err != nil {
			t.Fatal(err)
		}
		untouched(vm)
	})
}
