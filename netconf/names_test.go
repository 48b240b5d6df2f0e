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
	if err := WriteNameFiles(dir, "web", netip.MustParseAddr("172.17.0.2"), links, []string{"127.0.0.53", "10.0.2.3"}); err != nil {
		t.Fatal(err)
	}
	read := func(name string) string {
		b, _ := os.ReadFile(filepath.Join(dir, name))
		return string(b)
	}
	for _, want := range []string{"127.0.0.1\tlocalhost\n", "172.17.0.2\tweb\n", "172.17.0.3\tdatabase db\n"} {
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
	WriteNameFiles(dir, "web", netip.MustParseAddr("172.17.0.2"), nil, []string{"127.0.0.1"})
	if got := read("resolv.conf"); !strings.Contains(got, "nameserver 8.8.8.8") {
		t.Errorf("with only a loopback server, resolv.conf is %q", got)
	}
}
