package netconf

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

func TestPortRuleUserDataRoundTrip(t *testing.T) {
	for _, r := range []PortRule{
		{Owner: "c1", HostPort: 8080, Proto: "tcp", ContainerIP: netip.MustParseAddr("172.17.0.2"), ContainerPort: 8000},
		{Owner: "c2", HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: 5353, Proto: "udp", ContainerIP: netip.MustParseAddr("172.17.0.9"), ContainerPort: 53},
	} {
		back, ok := parseUserData(r.userData())
		if !ok || back != r {
			t.Errorf("%+v came back as %+v (%v)", r, back, ok)
		}
	}
	if _, ok := parseUserData([]byte("someone else's rule")); ok {
		t.Error("a foreign rule parsed as berth's")
	}
}

func TestPortRuleExprs(t *testing.T) {
	r := PortRule{Owner: "c1", HostIP: netip.MustParseAddr("10.0.2.15"), HostPort: 8080, Proto: "udp",
		ContainerIP: netip.MustParseAddr("172.17.0.2"), ContainerPort: 8000}
	e := portRuleExprs(r)
	var sawDaddr, sawProto, sawPort, sawTarget, sawNAT bool
	for i, x := range e {
		switch v := x.(type) {
		case *expr.Payload:
			next := e[i+1].(*expr.Cmp)
			if v.Base == expr.PayloadBaseNetworkHeader && v.Offset == 16 && bytes.Equal(next.Data, []byte{10, 0, 2, 15}) {
				sawDaddr = true
			}
			if v.Base == expr.PayloadBaseTransportHeader && v.Offset == 2 && bytes.Equal(next.Data, []byte{0x1f, 0x90}) {
				sawPort = true
			}
		case *expr.Meta:
			if v.Key == expr.MetaKeyL4PROTO && bytes.Equal(e[i+1].(*expr.Cmp).Data, []byte{unix.IPPROTO_UDP}) {
				sawProto = true
			}
		case *expr.Immediate:
			if v.Register == 1 && bytes.Equal(v.Data, []byte{172, 17, 0, 2}) {
				sawTarget = true
			}
		case *expr.NAT:
			sawNAT = v.Type == expr.NATTypeDestNAT && v.RegAddrMin == 1 && v.RegProtoMin == 2
		}
	}
	if !sawDaddr || !sawProto || !sawPort || !sawTarget || !sawNAT {
		t.Errorf("rule %v: daddr %v proto %v port %v target %v nat %v", r, sawDaddr, sawProto, sawPort, sawTarget, sawNAT)
	}
	any := r
	any.HostIP = netip.Addr{}
	for _, x := range portRuleExprs(any) {
		if p, ok := x.(*expr.Payload); ok && p.Offset == 16 {
			t.Error("a rule for every address matches a destination address")
		}
	}
}

func TestConflict(t *testing.T) {
	ip := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	existing := []PortRule{
		{Owner: "a", HostPort: 80, Proto: "tcp"},
		{Owner: "b", HostIP: ip("127.0.0.1"), HostPort: 53, Proto: "udp"},
	}
	for _, tc := range []struct {
		r     PortRule
		clash bool
	}{
		{PortRule{HostPort: 80, Proto: "tcp"}, true},
		{PortRule{HostIP: ip("10.0.2.15"), HostPort: 80, Proto: "tcp"}, true},
		{PortRule{HostPort: 80, Proto: "udp"}, false},
		{PortRule{HostPort: 53, Proto: "udp"}, true},
		{PortRule{HostIP: ip("127.0.0.1"), HostPort: 53, Proto: "udp"}, true},
		{PortRule{HostIP: ip("10.0.2.15"), HostPort: 53, Proto: "udp"}, false},
	} {
		if _, got := conflict(existing, tc.r); got != tc.clash {
			t.Errorf("%v: clash %v, want %v", tc.r, got, tc.clash)
		}
	}
}

func TestMasqueradeRules(t *testing.T) {
	rules := masqueradeRules("berth0", netip.MustParsePrefix("172.17.0.0/16"))
	if len(rules) != 3 {
		t.Fatalf("%d masquerade rules, want 3 (outbound, localhost, hairpin)", len(rules))
	}
	for i, r := range rules {
		if _, ok := r[len(r)-1].(*expr.Masq); !ok {
			t.Errorf("rule %d does not end in masquerade", i)
		}
	}
}
