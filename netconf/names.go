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

// Names are what a container's hosts, hostname and resolv.conf say.
type Names struct {
	Hostname, Domainname string
	// IP is the container's address; invalid for none.
	IP    netip.Addr
	Links []Link
	// DNS are the name servers (--dns, else the host's), Search the
	// search domains and Options resolv.conf's options.
	DNS, Search, Options []string
	// ExtraHosts are --add-host's "name:address".
	ExtraHosts []string
}

// WriteNameFiles writes hosts, hostname and resolv.conf for a container
// into dir, to be bind-mounted over its /etc files: its own name and
// address, the containers it links to by name and alias, --add-host's
// entries, and its name servers (loopback ones cannot be reached from a
// container; with none left, Docker's fallback).
func WriteNameFiles(dir string, n Names) error {
	var hosts strings.Builder
	hosts.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
	hosts.WriteString(extraHosts(n.ExtraHosts))
	if n.IP.IsValid() {
		fmt.Fprintf(&hosts, "%s\t%s\n", n.IP, fqdn(n))
	}
	for _, l := range n.Links {
		names := l.Alias
		if l.Name != l.Alias {
			names += " " + l.Name
		}
		fmt.Fprintf(&hosts, "%s\t%s\n", l.IP, names)
	}
	var servers []string
	for _, s := range n.DNS {
		if a, err := netip.ParseAddr(s); err == nil && !a.IsLoopback() {
			servers = append(servers, s)
		}
	}
	if len(servers) == 0 {
		servers = fallbackDNS
	}
	return writeFiles(dir, map[string]string{"hosts": hosts.String(), "hostname": n.Hostname + "\n",
		"resolv.conf": resolvConf(servers, n.Search, n.Options)})
}

// fqdn is the names a container's own address answers to.
func fqdn(n Names) string {
	if n.Domainname != "" {
		return n.Hostname + "." + n.Domainname + " " + n.Hostname
	}
	return n.Hostname
}

func extraHosts(entries []string) string {
	var b strings.Builder
	for _, h := range entries {
		if name, addr, ok := strings.Cut(h, ":"); ok {
			fmt.Fprintf(&b, "%s\t%s\n", addr, name)
		}
	}
	return b.String()
}

func resolvConf(servers, search, options []string) string {
	var b strings.Builder
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(search) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(search, " "))
	}
	if len(options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(options, " "))
	}
	return b.String()
}

func writeFiles(dir string, files map[string]string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("netconf: %w", err)
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			return fmt.Errorf("netconf: %w", err)
		}
	}
	return nil
}

// WriteHostNameFiles writes hosts, hostname and resolv.conf for a
// container on the host's network (--network host): the host's own hosts
// and resolv.conf, as Docker gives it, with --add-host's entries, and
// --dns and --dns-search in place of the host's when given.
func WriteHostNameFiles(dir string, n Names) error {
	files := map[string]string{"hostname": n.Hostname + "\n"}
	for _, name := range []string{"hosts", "resolv.conf"} {
		b, err := os.ReadFile(filepath.Join("/etc", name))
		if err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("netconf: %w", err)
		}
		files[name] = string(b)
	}
	files["hosts"] += extraHosts(n.ExtraHosts)
	if len(n.DNS) > 0 || len(n.Search) > 0 || len(n.Options) > 0 {
		servers := n.DNS
		if len(servers) == 0 {
			servers = HostDNS()
		}
		files["resolv.conf"] = resolvConf(servers, n.Search, n.Options)
	}
	return writeFiles(dir, files)
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
