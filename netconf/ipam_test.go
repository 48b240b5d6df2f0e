package netconf

import (
	"net/netip"
	"path/filepath"
	"testing"
)

func TestIPAMAllocatesOncePerOwnerAndPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ipam.json")
	gw := netip.MustParsePrefix("172.17.0.1/16")
	a := NewIPAM(path)
	x, err := a.Allocate("x", gw)
	if err != nil {
		t.Fatal(err)
	}
	y, _ := a.Allocate("y", gw)
	if x.String() != "172.17.0.2" || y.String() != "172.17.0.3" {
		t.Errorf("allocated %s and %s", x, y)
	}
	// The same owner gets the same address, from a new allocator on the
	// same file (as after a reboot).
	if again, _ := NewIPAM(path).Allocate("x", gw); again != x {
		t.Errorf("x got %s, then %s", x, again)
	}
	// A freed address is not handed out again before the others.
	a.Release("x", gw)
	z, _ := a.Allocate("z", gw)
	if z == x {
		t.Errorf("freed address %s reused at once", x)
	}
}

func TestIPAMSkipsGatewayAndFillsSmallSubnet(t *testing.T) {
	gw := netip.MustParsePrefix("10.9.0.2/29") // hosts .1-.6, gateway .2
	a := NewIPAM(filepath.Join(t.TempDir(), "ipam.json"))
	seen := map[netip.Addr]bool{}
	for _, owner := range []string{"a", "b", "c", "d", "e"} {
		ip, err := a.Allocate(owner, gw)
		if err != nil {
			t.Fatalf("%s: %v", owner, err)
		}
		if ip == gw.Addr() || seen[ip] || !gw.Masked().Contains(ip) || ip.String() == "10.9.0.0" || ip.String() == "10.9.0.7" {
			t.Errorf("%s got %s", owner, ip)
		}
		seen[ip] = true
	}
	if _, err := a.Allocate("f", gw); err == nil {
		t.Error("a full subnet still gave an address")
	}
	a.Release("c", gw)
	if _, err := a.Allocate("f", gw); err != nil {
		t.Errorf("after a release: %v", err)
	}
}

func TestIPAMStartsAnewForAnotherSubnet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ipam.json")
	a := NewIPAM(path)
	a.Allocate("x", netip.MustParsePrefix("172.17.0.1/16"))
	ip, _ := a.Allocate("x", netip.MustParsePrefix("172.18.0.1/16"))
	if ip.String() != "172.18.0.2" {
		t.Errorf("after the subnet changed, x got %s", ip)
	}
}
