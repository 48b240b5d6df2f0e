package netconf

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
)

// Link is a container another can reach by name (docker run --link).
type Link struct {
	Name, Alias string
	IP          netip.Addr
}

// fallbackDNS is what containers get when the host knows no name server
// they can reach, as Docker did.
var fallbackDNS = []string{"8.8.8.8", "8.8.4.4"}

// WriteNameFiles writes hosts, hostname and resolv.conf for a container
// into dir, to be bind-mounted over its /etc files: its own name and
// address, the containers it links to by name and alias, and the host's
// name servers (loopback ones cannot be reached from a container).
func WriteNameFiles(dir, hostname string, ip netip.Addr, links []Link, dns []string) error {
	var hosts strings.Builder
	hosts.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	if ip.IsValid() {
		fmt.Fprintf(&hosts, "%s\t%s\n", ip, hostname)
	}
	for _, l := range links {
		names := l.Alias
		if l.Name != l.Alias {
			names += " " + l.Name
		}
		fmt.Fprintf(&hosts, "%s\t%s\n", l.IP, names)
	}
	var servers []string
	for _, s := range dns {
		if a, err := netip.ParseAddr(s); err == nil && !a.IsLoopback() {
			servers = append(servers, s)
		}
	}
	if len(servers) == 0 {
		servers = fallbackDNS
	}
	var resolv strings.Builder
	for _, s := range servers {
		fmt.Fprintf(&resolv, "nameserver %s\n", s)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("netconf: %w", err)
	}
	for name, content := range map[string]string{"hosts": hosts.String(), "hostname": hostname + "\n", "resolv.conf": resolv.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("netconf: %w", err)
		}
	}
	return nil
}

// WriteHostNameFiles writes hosts, hostname and resolv.conf for a
// container on the host's network (--network host): the host's own hosts
// and resolv.conf, as Docker gives it.
func WriteHostNameFiles(dir, hostname string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("netconf: %w", err)
	}
	files := map[string]string{"hostname": hostname + "\n"}
	for _, name := range []string{"hosts", "resolv.conf"} {
		b, err := os.ReadFile(filepath.Join("/etc", name))
		if err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("netconf: %w", err)
		}
		files[name] = string(b)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("netconf: %w", err)
		}
	}
	return nil
}

// HostDNS returns the name servers of the host's /etc/resolv.conf.
func HostDNS() []string {
	b, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "nameserver" {
			out = append(out, f[1])
		}
	}
	return out
}
