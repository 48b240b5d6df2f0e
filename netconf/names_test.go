package netconf

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteNameFiles(t *testing.T) {
	dir := t.TempDir()
	links := []Link{{Name: "db", Alias: "database", IP: netip.MustParseAddr("172.17.0.3")}}
	if err := WriteNameFiles(dir, Names{Hostname: "web", IP: netip.MustParseAddr("172.17.0.2"), Links: links,
		DNS: []string{"127.0.0.53", "10.0.2.3"}, ExtraHosts: []string{"printer:10.0.0.9"}}); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		return string(b)
	}
	for _, want := range []string{"127.0.0.1\tlocalhost\n", "172.17.0.2\tweb\n", "172.17.0.3\tdatabase db\n", "10.0.0.9\tprinter\n"} {
		if !strings.Contains(read("hosts"), want) {
			t.Errorf("hosts lacks %q:\n%s", want, read("hosts"))
		}
	}
	if got := read("resolv.conf"); got != "nameserver 10.0.2.3\n" {
		t.Errorf("resolv.conf %q: a loopback server is useless in a container", got)
	}
	if got := read("hostname"); got != "web\n" {
		t.Errorf("hostname %q", got)
	}
	WriteNameFiles(dir, Names{Hostname: "web", IP: netip.MustParseAddr("172.17.0.2"), DNS: []string{"127.0.0.1"}})
	if got := read("resolv.conf"); !strings.Contains(got, "nameserver 8.8.8.8") {
		t.Errorf("with only a loopback server, resolv.conf is %q", got)
	}
	WriteNameFiles(dir, Names{Hostname: "web", Domainname: "example.org", IP: netip.MustParseAddr("172.17.0.2"),
		DNS: []string{"9.9.9.9"}, Search: []string{"a.example", "b.example"}, Options: []string{"ndots:2"}})
	if got := read("resolv.conf"); got != "nameserver 9.9.9.9\nsearch a.example b.example\noptions ndots:2\n" {
		t.Errorf("--dns, --dns-search, --dns-option: %q", got)
	}
	if got := read("hosts"); !strings.Contains(got, "172.17.0.2\tweb.example.org web\n") {
		t.Errorf("a domain name: %q", got)
	}
}
