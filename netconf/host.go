package netconf

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"berth/config"
)

// Logf reports progress and problems, one line each.
type Logf func(format string, args ...any)

// Spawn runs f in the background. PID 1 passes one that recovers from
// panics: nothing may take it down.
type Spawn func(name string, f func())

// ConfigureHost brings up loopback and the host interface as [network]
// says: a static address, gateway and name servers, or DHCP. A DHCP that
// gets no answer does not stop the boot: it is reported, and retried in
// the background until it succeeds. /etc/resolv.conf is written either way.
func ConfigureHost(c config.Network, logf Logf, spawn Spawn) error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("netconf: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("netconf: bring up lo: %w", err)
	}
	link, err := hostInterface(c.Interface, logf, 5*time.Second)
	if err != nil {
		return err
	}
	c.Interface = link.Attrs().Name
	if c.Mode == "static" {
		addr := netip.MustParsePrefix(c.Address)
		var gw netip.Addr
		if c.Gateway != "" {
			gw = netip.MustParseAddr(c.Gateway)
		}
		if err := applyAddress(link, addr, gw); err != nil {
			return err
		}
		logf("%s: static address %s, gateway %s", c.Interface, addr, c.Gateway)
		return writeResolvConf(c.DNS)
	}
	lease, err := dhcp(c.Interface, 3*time.Second)
	if err == nil {
		return applyLease(link, c, lease, logf, spawn)
	}
	logf("%s: DHCP failed: %v; the host has no address yet. Retrying in the background; set [network] mode = \"static\" if there is no DHCP server", c.Interface, err)
	spawn("dhcp "+c.Interface, func() { retryDHCP(link, c, logf, spawn) })
	return writeResolvConf(c.DNS)
}

// hostInterface finds the interface [network] interface names and brings
// it up: "auto", the first Ethernet interface (by name) whose link has a
// carrier within wait, else the first Ethernet interface; a MAC address;
// or a name. Its choice and why are logged.
func hostInterface(spec string, logf Logf, wait time.Duration) (netlink.Link, error) {
	if spec != "auto" {
		link, err := linkBySpec(spec)
		if err != nil {
			return nil, err
		}
		if err := netlink.LinkSetUp(link); err != nil {
			return nil, fmt.Errorf("netconf: bring up %s: %w", link.Attrs().Name, err)
		}
		return link, nil
	}
	links, err := ethernetLinks()
	if err != nil {
		return nil, err
	}
	if len(links) == 0 {
		return nil, fmt.Errorf("netconf: no Ethernet interface (ip link lists the interfaces; does the machine's network card need a driver or firmware berth lacks?)")
	}
	for _, l := range links {
		if err := netlink.LinkSetUp(l); err != nil {
			logf("network: bring up %s: %v", l.Attrs().Name, err)
		}
	}
	deadline := time.Now().Add(wait)
	for {
		var names []string
		for _, l := range links {
			names = append(names, l.Attrs().Name)
			if hasCarrier(l) {
				if len(links) > 1 {
					logf("network: %s has a carrier (of %s): using it", l.Attrs().Name, strings.Join(linkNames(links), ", "))
				}
				return l, nil
			}
		}
		if time.Now().After(deadline) {
			logf("network: no carrier on %s after %v; using %s", strings.Join(names, ", "), wait, names[0])
			return links[0], nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// linkBySpec finds an interface by MAC address or name.
func linkBySpec(spec string) (netlink.Link, error) {
	if mac, err := net.ParseMAC(spec); err == nil {
		links, err := netlink.LinkList()
		if err != nil {
			return nil, fmt.Errorf("netconf: list interfaces: %w", err)
		}
		for _, l := range links {
			if strings.EqualFold(l.Attrs().HardwareAddr.String(), mac.String()) {
				return l, nil
			}
		}
		return nil, fmt.Errorf("netconf: no interface has the MAC address %s (ip link lists the interfaces)", spec)
	}
	link, err := netlink.LinkByName(spec)
	if err != nil {
		return nil, fmt.Errorf("netconf: interface %s: %w (is its driver loaded? ip link lists the interfaces)", spec, err)
	}
	return link, nil
}

// ethernetLinks are the machine's Ethernet interfaces (not loopback, not
// bridges or veths), by name.
func ethernetLinks() ([]netlink.Link, error) {
	all, err := netlink.LinkList()
	if err != nil {
		return nil, fmt.Errorf("netconf: list interfaces: %w", err)
	}
	var out []netlink.Link
	for _, l := range all {
		if l.Type() == "device" && l.Attrs().EncapType == "ether" && len(l.Attrs().HardwareAddr) == 6 {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Attrs().Name < out[j].Attrs().Name })
	return out, nil
}

func linkNames(links []netlink.Link) []string {
	var out []string
	for _, l := range links {
		out = append(out, l.Attrs().Name)
	}
	return out
}

// hasCarrier reports whether link l is up with a carrier (IFF_LOWER_UP).
func hasCarrier(l netlink.Link) bool {
	now, err := netlink.LinkByIndex(l.Attrs().Index)
	return err == nil && now.Attrs().RawFlags&unix.IFF_LOWER_UP != 0
}

// retryDHCP tries again with a backoff that doubles up to a minute.
func retryDHCP(link netlink.Link, c config.Network, logf Logf, spawn Spawn) {
	for wait := time.Second; ; wait = min(2*wait, time.Minute) {
		time.Sleep(wait)
		lease, err := dhcp(c.Interface, 5*time.Second)
		if err != nil {
			continue
		}
		if err := applyLease(link, c, lease, logf, spawn); err != nil {
			logf("%s: %v", c.Interface, err)
		}
		return
	}
}

func dhcp(iface string, timeout time.Duration) (*nclient4.Lease, error) {
	client, err := nclient4.New(iface, nclient4.WithTimeout(timeout), nclient4.WithRetry(2))
	if err != nil {
		return nil, err
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*timeout)
	defer cancel()
	return client.Request(ctx)
}

// applyLease configures what the DHCP server offered and keeps the lease
// renewed in the background.
func applyLease(link netlink.Link, c config.Network, lease *nclient4.Lease, logf Logf, spawn Spawn) error {
	ack := lease.ACK
	ip, _ := netip.AddrFromSlice(ack.YourIPAddr.To4())
	ones, _ := ack.SubnetMask().Size()
	addr := netip.PrefixFrom(ip, ones)
	var gw netip.Addr
	if routers := ack.Router(); len(routers) > 0 {
		gw, _ = netip.AddrFromSlice(routers[0].To4())
	}
	if err := applyAddress(link, addr, gw); err != nil {
		return err
	}
	dns := c.DNS
	if len(dns) == 0 {
		for _, s := range ack.DNS() {
			dns = append(dns, s.String())
		}
	}
	gwText, dnsText := "none offered", "none offered"
	if gw.IsValid() {
		gwText = gw.String()
	}
	if len(dns) > 0 {
		dnsText = strings.Join(dns, " ")
	}
	logf("%s: DHCP address %s, gateway %s, DNS %s", c.Interface, addr, gwText, dnsText)
	if t := ack.IPAddressLeaseTime(0); t > 0 {
		spawn("dhcp renew "+c.Interface, func() {
			time.Sleep(t / 2)
			if next, err := dhcp(c.Interface, 5*time.Second); err == nil {
				applyLease(link, c, next, logf, spawn)
			} else {
				retryDHCP(link, c, logf, spawn)
			}
		})
	}
	return writeResolvConf(dns)
}

func applyAddress(link netlink.Link, addr netip.Prefix, gw netip.Addr) error {
	name := link.Attrs().Name
	if err := netlink.AddrReplace(link, &netlink.Addr{IPNet: ipNet(addr)}); err != nil {
		return fmt.Errorf("netconf: address %s on %s: %w", addr, name, err)
	}
	if gw.IsValid() {
		route := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: net.IP(gw.AsSlice())}
		if err := netlink.RouteReplace(route); err != nil {
			return fmt.Errorf("netconf: default route via %s on %s: %w", gw, name, err)
		}
	}
	return nil
}

func writeResolvConf(dns []string) error {
	var b strings.Builder
	for _, s := range dns {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	return os.WriteFile("/etc/resolv.conf", []byte(b.String()), 0o644)
}
