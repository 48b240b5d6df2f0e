package netconf

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// TableName is berth's nftables table. berth changes nothing outside it.
const TableName = "berth"

// The chains of berth's table.
const (
	chainPrerouting  = "prerouting"  // nat, to local addresses: jump ports
	chainOutput      = "output"      // nat, from the host itself: jump ports
	chainPostrouting = "postrouting" // nat: masquerade
	chainPorts       = "ports"       // one DNAT rule per published port
	chainGuard       = "guard"       // filter, before conntrack: loopback spoofed from the bridge
)

// PortRule is one published port: traffic to HostIP:HostPort (any local
// address when HostIP is not valid) goes to ContainerIP:ContainerPort.
type PortRule struct {
	Owner         string
	HostIP        netip.Addr
	HostPort      uint16
	Proto         string // tcp or udp
	ContainerIP   netip.Addr
	ContainerPort uint16
}

func (r PortRule) String() string {
	host := "0.0.0.0"
	if r.HostIP.IsValid() {
		host = r.HostIP.String()
	}
	return fmt.Sprintf("%s:%d->%s:%d/%s", host, r.HostPort, r.ContainerIP, r.ContainerPort, r.Proto)
}

// userData is how a rule says whose it is and what it publishes, so that
// the kernel's own table is the record of published ports.
func (r PortRule) userData() []byte {
	return []byte("berth " + r.Owner + " " + r.String())
}

// parseUserData reads back what userData wrote.
func parseUserData(b []byte) (PortRule, bool) {
	f := strings.Fields(string(b))
	if len(f) != 3 || f[0] != "berth" {
		return PortRule{}, false
	}
	r := PortRule{Owner: f[1]}
	spec, proto, ok := strings.Cut(f[2], "/")
	host, ctr, ok2 := strings.Cut(spec, "->")
	if !ok || !ok2 {
		return PortRule{}, false
	}
	r.Proto = proto
	hip, hport, err1 := splitHostPort(host)
	cip, cport, err2 := splitHostPort(ctr)
	if err1 != nil || err2 != nil {
		return PortRule{}, false
	}
	if !hip.IsUnspecified() {
		r.HostIP = hip
	}
	r.HostPort, r.ContainerIP, r.ContainerPort = hport, cip, cport
	return r, true
}

func splitHostPort(s string) (netip.Addr, uint16, error) {
	ap, err := netip.ParseAddrPort(s)
	return ap.Addr(), ap.Port(), err
}

func protoNumber(proto string) byte {
	if proto == "udp" {
		return unix.IPPROTO_UDP
	}
	return unix.IPPROTO_TCP
}

// ifname pads an interface name as the kernel compares it.
func ifname(n string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, n)
	return b
}

// Expression building blocks. Register 1 holds what is compared.
func loadIPSource() expr.Any {
	return &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4}
}

func loadIPDest() expr.Any {
	return &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4}
}

// inPrefix compares register 1 (an IPv4 address) with prefix p.
func inPrefix(p netip.Prefix) []expr.Any {
	mask := net.CIDRMask(p.Bits(), 32)
	net4 := p.Masked().Addr().As4()
	return []expr.Any{
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: []byte{0, 0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: net4[:]},
	}
}

func cmpEq(data []byte) expr.Any  { return &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: data} }
func cmpNeq(data []byte) expr.Any { return &expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: data} }

// portRuleExprs is the DNAT rule of r, in the ports chain:
// [ip daddr HostIP] meta l4proto P th dport HostPort dnat to Container.
func portRuleExprs(r PortRule) []expr.Any {
	var e []expr.Any
	if r.HostIP.IsValid() {
		ip := r.HostIP.As4()
		e = append(e, loadIPDest(), cmpEq(ip[:]))
	}
	cip := r.ContainerIP.As4()
	e = append(e,
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		cmpEq([]byte{protoNumber(r.Proto)}),
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		cmpEq(binaryutil.BigEndian.PutUint16(r.HostPort)),
		&expr.Immediate{Register: 1, Data: cip[:]},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(r.ContainerPort)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	)
	return e
}

// jumpIfLocal is: fib daddr type local jump ports. Only traffic to one of
// the host's own addresses is published; traffic passing through is not.
func jumpIfLocal() []expr.Any {
	return []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		cmpEq(binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)),
		&expr.Verdict{Kind: expr.VerdictJump, Chain: chainPorts},
	}
}

// masqueradeRules are the postrouting rules for a bridge and its subnet:
//   - traffic from containers that leaves by another interface;
//   - traffic from the host's loopback to a container (a published port
//     reached on 127.0.0.1; with route_localnet on the bridge);
//   - hairpin: a container reaching a published port of the host that
//     leads back onto the bridge.
func masqueradeRules(bridge string, subnet netip.Prefix) [][]expr.Any {
	lo := netip.MustParsePrefix("127.0.0.0/8")
	return [][]expr.Any{
		append(append([]expr.Any{loadIPSource()}, inPrefix(subnet)...),
			&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1}, cmpNeq(ifname(bridge)), &expr.Masq{}),
		append(append([]expr.Any{&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1}, cmpEq(ifname(bridge)), loadIPSource()},
			inPrefix(lo)...), &expr.Masq{}),
		append(append([]expr.Any{&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1}, cmpEq(ifname(bridge)), loadIPSource()},
			inPrefix(subnet)...),
			&expr.Ct{Register: 1, Key: expr.CtKeySTATUS},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
				Mask: binaryutil.NativeEndian.PutUint32(ipsDstNAT), Xor: []byte{0, 0, 0, 0}},
			cmpNeq([]byte{0, 0, 0, 0}),
			&expr.Masq{}),
	}
}

// ipsDstNAT is conntrack's IPS_DST_NAT status bit: the connection was
// DNATed.
const ipsDstNAT = 0x20

// NAT is berth's nftables table for one bridge.
type NAT struct {
	bridge   string
	subnet   netip.Prefix
	lockPath string
}

func (n *NAT) table() *nftables.Table {
	return &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4}
}

func (n *NAT) chains(t *nftables.Table) map[string]*nftables.Chain {
	return map[string]*nftables.Chain{
		chainPrerouting: {Name: chainPrerouting, Table: t, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest},
		chainOutput: {Name: chainOutput, Table: t, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest},
		chainPostrouting: {Name: chainPostrouting, Table: t, Type: nftables.ChainTypeNAT,
			Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource},
		chainPorts: {Name: chainPorts, Table: t},
		chainGuard: {Name: chainGuard, Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRaw},
	}
}

// guardRules drop packets from the bridge addressed to 127.0.0.0/8. The
// bridge has route_localnet on, so that the host's own 127.0.0.1 reaches
// published ports; without this rule a container could send to the host's
// loopback services through it.
func guardRules(bridge string) [][]expr.Any {
	lo := netip.MustParsePrefix("127.0.0.0/8")
	return [][]expr.Any{
		append(append([]expr.Any{&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1}, cmpEq(ifname(bridge)), loadIPDest()},
			inPrefix(lo)...), &expr.Verdict{Kind: expr.VerdictDrop}),
	}
}

// setup makes berth's table and its chains, and (re)writes the base
// rules. Published ports already in the ports chain are kept, so that
// containers keep theirs when the engine restarts.
func (n *NAT) setup() error {
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("netconf: nftables: %w", err)
	}
	t := c.AddTable(n.table())
	ch := n.chains(t)
	for _, name := range []string{chainPorts, chainPrerouting, chainOutput, chainPostrouting, chainGuard} {
		c.AddChain(ch[name])
	}
	for _, name := range []string{chainPrerouting, chainOutput, chainPostrouting, chainGuard} {
		c.FlushChain(ch[name])
	}
	for _, e := range guardRules(n.bridge) {
		c.AddRule(&nftables.Rule{Table: t, Chain: ch[chainGuard], Exprs: e})
	}
	c.AddRule(&nftables.Rule{Table: t, Chain: ch[chainPrerouting], Exprs: jumpIfLocal()})
	c.AddRule(&nftables.Rule{Table: t, Chain: ch[chainOutput], Exprs: jumpIfLocal()})
	for _, e := range masqueradeRules(n.bridge, n.subnet) {
		c.AddRule(&nftables.Rule{Table: t, Chain: ch[chainPostrouting], Exprs: e})
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("netconf: set up nftables table %s: %w (are nf_tables, nft_nat, nft_masq, nft_fib_ipv4 loaded?)", TableName, err)
	}
	return nil
}

// lock serialises changes to the ports chain between processes.
func (n *NAT) lock() (func(), error) {
	f, err := os.OpenFile(n.lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("netconf: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("netconf: lock %s: %w", n.lockPath, err)
	}
	return func() { f.Close() }, nil
}

// published lists the port rules in the kernel, with their handles.
func (n *NAT) published(c *nftables.Conn) ([]PortRule, []*nftables.Rule, error) {
	t := n.table()
	rules, err := c.GetRules(t, n.chains(t)[chainPorts])
	if err != nil {
		return nil, nil, fmt.Errorf("netconf: list published ports: %w", err)
	}
	var out []PortRule
	var handles []*nftables.Rule
	for _, r := range rules {
		if pr, ok := parseUserData(r.UserData); ok {
			out = append(out, pr)
			handles = append(handles, r)
		}
	}
	return out, handles, nil
}

// Published returns every published port.
func (n *NAT) Published() ([]PortRule, error) {
	c, err := nftables.New()
	if err != nil {
		return nil, err
	}
	rules, _, err := n.published(c)
	return rules, err
}

// conflict returns the published rule that a new rule would clash with:
// same protocol and host port, on the same address or where either binds
// every address.
func conflict(existing []PortRule, r PortRule) (PortRule, bool) {
	for _, e := range existing {
		if e.Proto == r.Proto && e.HostPort == r.HostPort &&
			(!e.HostIP.IsValid() || !r.HostIP.IsValid() || e.HostIP == r.HostIP) {
			return e, true
		}
	}
	return PortRule{}, false
}

// publish adds rules in one transaction: all of them or none. Rules with
// HostPort 0 get a free port from the ephemeral range (docker run -P);
// the rules as published are returned.
func (n *NAT) publish(rules []PortRule) ([]PortRule, error) {
	unlock, err := n.lock()
	if err != nil {
		return nil, err
	}
	defer unlock()
	c, err := nftables.New()
	if err != nil {
		return nil, fmt.Errorf("netconf: nftables: %w", err)
	}
	existing, _, err := n.published(c)
	if err != nil {
		return nil, err
	}
	t := n.table()
	ports := n.chains(t)[chainPorts]
	var out []PortRule
	for _, r := range rules {
		if r.HostPort == 0 {
			p, err := randomPort(append(existing, out...), r)
			if err != nil {
				return nil, err
			}
			r.HostPort = p
		}
		if prev, clash := conflict(append(existing, out...), r); clash {
			return nil, fmt.Errorf("netconf: host port %d/%s is already published by %s (%s); choose another host port", r.HostPort, r.Proto, prev.Owner, prev)
		}
		if err := portFreeOnHost(r); err != nil {
			return nil, err
		}
		c.AddRule(&nftables.Rule{Table: t, Chain: ports, Exprs: portRuleExprs(r), UserData: r.userData()})
		out = append(out, r)
	}
	if err := c.Flush(); err != nil {
		return nil, fmt.Errorf("netconf: publish ports: %w", err)
	}
	return out, nil
}

// portFreeOnHost checks that no program on the host listens on the port:
// the DNAT rule would hide it.
func portFreeOnHost(r PortRule) error {
	addr := ":" + strconv.Itoa(int(r.HostPort))
	if r.HostIP.IsValid() {
		addr = r.HostIP.String() + addr
	}
	if r.Proto == "udp" {
		pc, err := net.ListenPacket("udp4", addr)
		if err != nil {
			return fmt.Errorf("netconf: host port %d/udp is in use on the host: %w", r.HostPort, err)
		}
		return pc.Close()
	}
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		return fmt.Errorf("netconf: host port %d/tcp is in use on the host: %w", r.HostPort, err)
	}
	return l.Close()
}

// randomPort picks a free port from the kernel's ephemeral port range.
func randomPort(existing []PortRule, r PortRule) (uint16, error) {
	lo, hi := 32768, 60999
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		fmt.Sscan(string(b), &lo, &hi)
	}
	span := hi - lo + 1
	start := rand.IntN(span)
	for i := 0; i < span; i++ {
		p := uint16(lo + (start+i)%span)
		cand := r
		cand.HostPort = p
		if _, clash := conflict(existing, cand); clash {
			continue
		}
		if portFreeOnHost(cand) == nil {
			return p, nil
		}
	}
	return 0, fmt.Errorf("netconf: no free %s port in %d-%d", r.Proto, lo, hi)
}

// unpublish removes every rule of owner.
func (n *NAT) unpublish(owner string) error {
	unlock, err := n.lock()
	if err != nil {
		return err
	}
	defer unlock()
	c, err := nftables.New()
	if err != nil {
		return fmt.Errorf("netconf: nftables: %w", err)
	}
	rules, handles, err := n.published(c)
	if err != nil {
		return err
	}
	removed := false
	for i, r := range rules {
		if r.Owner == owner {
			if err := c.DelRule(handles[i]); err != nil {
				return fmt.Errorf("netconf: unpublish %s: %w", r, err)
			}
			removed = true
		}
	}
	if !removed {
		return nil
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("netconf: unpublish ports of %s: %w", owner, err)
	}
	return nil
}
