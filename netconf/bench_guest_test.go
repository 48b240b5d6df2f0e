//go:build guest

package netconf

import (
	"io"
	"net"
	"testing"
	"time"

	"berth/config"
)

// BenchmarkThroughput sends data to a sink in a namespace three ways:
// straight to the container's address, and through its published port on
// the host's 127.0.0.1 and on the host's own address (DNAT). The ratio of
// published to direct is what NAT costs; there is no userland proxy.
func BenchmarkThroughput(b *testing.B) {
	n, err := Open(config.Bridge{Name: config.DefaultBridgeName, Address: config.DefaultBridgeAddress}, stateDir)
	if err != nil {
		b.Fatal(err)
	}
	ns := newNamespace(b, "bench")
	ep, err := n.Attach("bench", ns)
	if err != nil {
		b.Fatal(err)
	}
	defer n.Detach("bench")
	var l net.Listener
	inNamespace(b, ns, func() { l, err = net.Listen("tcp4", ":9000") })
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	if _, err := n.Publish(ep, []config.PortMapping{{HostPort: 9000, ContainerPort: 9000, Proto: "tcp"}}); err != nil {
		b.Fatal(err)
	}
	hostIP := "127.0.0.1"
	if addrs, _ := net.InterfaceByName("eth0"); addrs != nil {
		if a, _ := addrs.Addrs(); len(a) > 0 {
			hostIP = a[0].(*net.IPNet).IP.String()
		}
	}
	chunk := make([]byte, 1<<20)
	for _, tc := range []struct{ name, addr string }{
		{"direct", ep.IP.String() + ":9000"},
		{"published-loopback", "127.0.0.1:9000"},
		{"published-host-address", hostIP + ":9000"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			c, err := net.DialTimeout("tcp4", tc.addr, 5*time.Second)
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.SetBytes(int64(len(chunk)))
			for i := 0; i < b.N; i++ {
				if _, err := c.Write(chunk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAttachDetach measures attaching a namespace to the bridge
// (veth pair, address, routes) and detaching it.
func BenchmarkAttachDetach(b *testing.B) {
	n, err := Open(config.Bridge{Name: config.DefaultBridgeName, Address: config.DefaultBridgeAddress}, stateDir)
	if err != nil {
		b.Fatal(err)
	}
	ns := newNamespace(b, "attach-bench")
	for i := 0; i < b.N; i++ {
		if _, err := n.Attach("attach-bench", ns); err != nil {
			b.Fatal(err)
		}
		if err := n.Detach("attach-bench"); err != nil {
			b.Fatal(err)
		}
	}
}
