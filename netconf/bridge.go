package netconf

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"berth/config"
)

// Network is the container bridge with its address allocator and NAT.
type Network struct {
	Bridge  string
	Gateway netip.Prefix // the bridge's address; its subnet is the containers'
	ipam    *IPAM
	nat     *NAT
}

// Endpoint is a network namespace attached to the bridge.
type Endpoint struct {
	Owner    string
	IP       netip.Addr
	Gateway  netip.Addr
	HostVeth string
	MAC      string // of the container's eth0
}

// Open returns the bridge network as configured, without changing the
// host: what the CLI and tests use once Setup has run at boot.
func Open(cfg config.Bridge, stateDir string) (*Network, error) {
	gw, err := netip.ParsePrefix(cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("netconf: bridge address %q: %w", cfg.Address, err)
	}
	return &Network{
		Bridge:  cfg.Name,
		Gateway: gw,
		ipam:    NewIPAM(filepath.Join(stateDir, "ipam.json")),
		nat:     &NAT{bridge: cfg.Name, subnet: gw.Masked(), lockPath: filepath.Join(stateDir, "nat.lock")},
	}, nil
}

// Setup makes the bridge (name, address, up), turns on forwarding and
// route_localnet (so the host's 127.0.0.1 reaches published ports), and
// writes berth's nftables table. It refuses a container subnet that
// overlaps one of the host's own.
func Setup(cfg config.Bridge, stateDir string) (*Network, error) {
	n, err := Open(cfg, stateDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("netconf: %w", err)
	}
	if err := n.checkOverlap(); err != nil {
		return nil, err
	}
	br, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		if err := netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: n.Bridge}}); err != nil {
			return nil, fmt.Errorf("netconf: create bridge %s: %w (is the bridge module loaded?)", n.Bridge, err)
		}
		if br, err = netlink.LinkByName(n.Bridge); err != nil {
			return nil, fmt.Errorf("netconf: %w", err)
		}
	}
	if err := netlink.AddrReplace(br, &netlink.Addr{IPNet: ipNet(n.Gateway)}); err != nil {
		return nil, fmt.Errorf("netconf: address %s on %s: %w", n.Gateway, n.Bridge, err)
	}
	if err := netlink.LinkSetUp(br); err != nil {
		return nil, fmt.Errorf("netconf: bring up %s: %w", n.Bridge, err)
	}
	for path, value := range map[string]string{
		"/proc/sys/net/ipv4/ip_forward":                           "1",
		"/proc/sys/net/ipv4/conf/" + n.Bridge + "/route_localnet": "1",
		"/proc/sys/net/ipv4/conf/" + n.Bridge + "/send_redirects": "0",
	} {
		if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
			return nil, fmt.Errorf("netconf: %w", err)
		}
	}
	if err := n.nat.setup(); err != nil {
		return nil, err
	}
	return n, nil
}

// checkOverlap refuses a bridge subnet that overlaps an address of any
// other interface of the host.
func (n *Network) checkOverlap() error {
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("netconf: list host addresses: %w", err)
	}
	for _, a := range addrs {
		link, err := netlink.LinkByIndex(a.LinkIndex)
		if err != nil || link.Attrs().Name == n.Bridge || link.Attrs().Name == "lo" {
			continue
		}
		p, ok := netipPrefix(a.IPNet)
		if ok && p.Masked().Overlaps(n.Gateway.Masked()) {
			return fmt.Errorf("netconf: the container subnet %s overlaps %s on %s; set another [bridge] address, e.g. 172.18.0.1/16",
				n.Gateway.Masked(), p.Masked(), link.Attrs().Name)
		}
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func netipPrefix(n *net.IPNet) (netip.Prefix, bool) {
	a, ok := netip.AddrFromSlice(n.IP.To4())
	if !ok {
		return netip.Prefix{}, false
	}
	bits, _ := n.Mask.Size()
	return netip.PrefixFrom(a, bits), true
}

// vethName is the host side of owner's veth pair: short (interface names
// have 15 characters at most) and stable for the owner.
func vethName(owner, prefix string) string {
	sum := sha256.Sum256([]byte(owner))
	return prefix + hex.EncodeToString(sum[:4])
}

// Attach connects the network namespace at nsPath to the bridge: a veth
// pair whose peer becomes eth0 in the namespace, with owner's address, lo
// up and a default route through the bridge.
func (n *Network) Attach(owner, nsPath string) (Endpoint, error) {
	ip, err := n.ipam.Allocate(owner, n.Gateway)
	if err != nil {
		return Endpoint{}, err
	}
	ep := Endpoint{Owner: owner, IP: ip, Gateway: n.Gateway.Addr(), HostVeth: vethName(owner, "veth")}
	if err := n.attach(&ep, nsPath); err != nil {
		n.removeVeth(ep.HostVeth)
		n.ipam.Release(owner, n.Gateway)
		return Endpoint{}, fmt.Errorf("netconf: attach %s: %w", owner, err)
	}
	return ep, nil
}

func (n *Network) attach(ep *Endpoint, nsPath string) error {
	br, err := netlink.LinkByName(n.Bridge)
	if err != nil {
		return fmt.Errorf("bridge %s: %w", n.Bridge, err)
	}
	n.removeVeth(ep.HostVeth) // left over from a container that died with the host
	peerName := vethName(ep.Owner, "vpeer")
	veth := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: ep.HostVeth, MasterIndex: br.Attrs().Index, MTU: br.Attrs().MTU},
		PeerName:  peerName,
	}
	if err := netlink.LinkAdd(veth); err != nil {
		return fmt.Errorf("create veth pair: %w", err)
	}
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", nsPath, err)
	}
	defer ns.Close()
	peer, err := netlink.LinkByName(peerName)
	if err != nil {
		return err
	}
	if err := netlink.LinkSetNsFd(peer, int(ns)); err != nil {
		return fmt.Errorf("move %s into the namespace: %w", peerName, err)
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer h.Close()
	if peer, err = h.LinkByName(peerName); err != nil {
		return err
	}
	if err := h.LinkSetName(peer, "eth0"); err != nil {
		return fmt.Errorf("rename to eth0: %w", err)
	}
	addr := netip.PrefixFrom(ep.IP, n.Gateway.Bits())
	if err := h.AddrAdd(peer, &netlink.Addr{IPNet: ipNet(addr)}); err != nil {
		return fmt.Errorf("address %s: %w", addr, err)
	}
	if err := h.LinkSetUp(peer); err != nil {
		return err
	}
	ep.MAC = peer.Attrs().HardwareAddr.String()
	if lo, err := h.LinkByName("lo"); err == nil {
		if err := h.LinkSetUp(lo); err != nil {
			return err
		}
	}
	if err := h.RouteAdd(&netlink.Route{LinkIndex: peer.Attrs().Index, Gw: ep.Gateway.AsSlice()}); err != nil {
		return fmt.Errorf("default route via %s: %w", ep.Gateway, err)
	}
	host, err := netlink.LinkByName(ep.HostVeth)
	if err != nil {
		return err
	}
	return netlink.LinkSetUp(host)
}

func (n *Network) removeVeth(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return nil // gone already, as when its namespace died
	}
	return netlink.LinkDel(l)
}

// Detach undoes Attach and Publish for owner: its ports are unpublished,
// its veth pair removed and its address freed.
func (n *Network) Detach(owner string) error {
	return errors.Join(
		n.nat.unpublish(owner),
		n.removeVeth(vethName(owner, "veth")),
		n.ipam.Release(owner, n.Gateway),
	)
}

// Publish publishes ports of owner's endpoint. Mappings with no host port
// get a random one; the mappings as published are returned.
func (n *Network) Publish(ep Endpoint, ports []config.PortMapping) ([]config.PortMapping, error) {
	var rules []PortRule
	for _, p := range ports {
		r := PortRule{Owner: ep.Owner, HostPort: p.HostPort, Proto: p.Proto, ContainerIP: ep.IP, ContainerPort: p.ContainerPort}
		if p.HostIP != "" && p.HostIP != "0.0.0.0" {
			ip, err := netip.ParseAddr(p.HostIP)
			if err != nil {
				return nil, fmt.Errorf("netconf: host address %q: %w", p.HostIP, err)
			}
			r.HostIP = ip
		}
		rules = append(rules, r)
	}
	done, err := n.nat.publish(rules)
	if err != nil {
		return nil, err
	}
	out := make([]config.PortMapping, len(done))
	for i, r := range done {
		out[i] = config.PortMapping{HostIP: ports[i].HostIP, HostPort: r.HostPort, ContainerPort: r.ContainerPort, Proto: r.Proto}
	}
	return out, nil
}

// Published returns every published port of every owner.
func (n *Network) Published() ([]PortRule, error) { return n.nat.Published() }

// Allocations returns the address of every owner.
func (n *Network) Allocations() (map[string]string, error) { return n.ipam.Owners(n.Gateway) }
