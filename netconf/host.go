package netconf

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	"github.com/vishvananda/netlink"

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
	link, err := netlink.LinkByName(c.Interface)
	if err != nil {
		return fmt.Errorf("netconf: interface %s: %w (is its driver loaded? ip link lists the interfaces)", c.Interface, err)
	}
	if err := netlink.LinkSetUp(link); err != nil {
		return fmt.Errorf("netconf: bring up %s: %w", c.Interface, err)
	}
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
