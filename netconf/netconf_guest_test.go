//go:build guest

// These tests run inside a booted berth guest (see tests/guest_test.go),
// whose PID 1 has already set up berth0 and berth's nftables table. They
// use plain network namespaces in place of containers.
package netconf

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"berth/config"
)

const stateDir = "/var/lib/berth/network"

func openNetwork(t *testing.T) *Network {
	t.Helper()
	n, err := Open(config.Bridge{Name: config.DefaultBridgeName, Address: config.DefaultBridgeAddress}, stateDir)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// newNamespace makes a named network namespace (/run/netns/name).
func newNamespace(t testing.TB, name string) string {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.NewNamed(name)
	if err != nil {
		t.Fatal(err)
	}
	ns.Close()
	if err := netns.Set(orig); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { netns.DeleteNamed(name) })
	return "/run/netns/" + name
}

// inNamespace runs f on a thread inside the namespace at path: sockets it
// opens belong to that namespace for good.
func inNamespace(t testing.TB, path string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // the thread is dropped, not reused, when this goroutine ends
		ns, err := netns.GetFromPath(path)
		if err != nil {
			t.Error(err)
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			t.Error(err)
			return
		}
		f()
	}()
	<-done
}

// serveHTTP serves body on port in the namespace at path.
func serveHTTP(t testing.TB, path string, port int, body string) {
	t.Helper()
	var l net.Listener
	var err error
	inNamespace(t, path, func() { l, err = net.Listen("tcp4", fmt.Sprintf(":%d", port)) })
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, body) })}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
}

// get fetches url from the namespace at path ("" for the host's).
func get(t testing.TB, path, url string) (string, error) {
	t.Helper()
	var conn net.Conn
	var err error
	dial := func(network, addr string) {
		d := net.Dialer{Timeout: 5 * time.Second}
		conn, err = d.Dial(network, addr)
	}
	host := strings.TrimPrefix(url, "http://")
	host, _, _ = strings.Cut(host, "/")
	if path == "" {
		dial("tcp4", host)
	} else {
		inNamespace(t, path, func() { dial("tcp4", host) })
	}
	if err != nil {
		return "", err
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) { return conn, nil }}}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func mustGet(t testing.TB, path, url, want string) {
	t.Helper()
	got, err := get(t, path, url)
	if err != nil || got != want {
		t.Fatalf("GET %s from %q: %q, %v; want %q", url, path, got, err, want)
	}
}

func hostAddress(t *testing.T) netip.Addr {
	t.Helper()
	link, err := netlink.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	addrs, _ := netlink.AddrList(link, netlink.FAMILY_V4)
	if len(addrs) == 0 {
		t.Fatal("eth0 has no address")
	}
	a, _ := netip.AddrFromSlice(addrs[0].IP.To4())
	return a
}

// TestAttachPublishDetach is the life of two "containers": attached to
// the bridge, reaching each other, publishing ports that are reached from
// the host on 127.0.0.1 and its own address and from the other container
// (hairpin), and leaving nothing behind when detached.
func TestAttachPublishDetach(t *testing.T) {
	n := openNetwork(t)
	nsA, nsB := newNamespace(t, "a"), newNamespace(t, "b")
	start := time.Now()
	epA, err := n.Attach("test-a", nsA)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("attach took %v", time.Since(start))
	epB, err := n.Attach("test-b", nsB)
	if err != nil {
		t.Fatal(err)
	}
	if epA.IP == epB.IP || !n.Gateway.Masked().Contains(epA.IP) || !n.Gateway.Masked().Contains(epB.IP) {
		t.Fatalf("addresses %s and %s in %s", epA.IP, epB.IP, n.Gateway.Masked())
	}

	t.Run("eth0, lo and the default route inside the namespace", func(t *testing.T) {
		out, err := exec.Command("nsenter", "--net="+nsA, "sh", "-c", "ip addr show eth0; ip addr show lo; ip route").CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		for _, want := range []string{"inet " + epA.IP.String() + "/16", "LOWER_UP", "inet 127.0.0.1/8", "default via 172.17.0.1 dev eth0"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("namespace lacks %q:\n%s", want, out)
			}
		}
	})

	serveHTTP(t, nsA, 8000, "hello from a")
	serveHTTP(t, nsB, 8000, "hello from b")
	host := hostAddress(t)

	t.Run("two namespaces reach each other", func(t *testing.T) {
		mustGet(t, nsB, "http://"+epA.IP.String()+":8000/", "hello from a")
		mustGet(t, nsA, "http://"+epB.IP.String()+":8000/", "hello from b")
	})

	published, err := n.Publish(epA, []config.PortMapping{{HostPort: 8080, ContainerPort: 8000, Proto: "tcp"}})
	if err != nil {
		t.Fatal(err)
	}
	if published[0].HostPort != 8080 {
		t.Errorf("published %+v", published)
	}

	t.Run("a published port from the host's 127.0.0.1 and own address", func(t *testing.T) {
		mustGet(t, "", "http://127.0.0.1:8080/", "hello from a")
		mustGet(t, "", "http://"+host.String()+":8080/", "hello from a")
	})

	t.Run("hairpin: another container reaches the published port", func(t *testing.T) {
		mustGet(t, nsB, "http://"+host.String()+":8080/", "hello from a")
	})

	t.Run("a host port is published once", func(t *testing.T) {
		_, err := n.Publish(epB, []config.PortMapping{{HostPort: 8080, ContainerPort: 8000, Proto: "tcp"}})
		if err == nil || !strings.Contains(err.Error(), "already published by test-a") {
			t.Errorf("second publish of 8080: %v", err)
		}
	})

	t.Run("random host port, as -P", func(t *testing.T) {
		got, err := n.Publish(epB, []config.PortMapping{{ContainerPort: 8000, Proto: "tcp"}})
		if err != nil {
			t.Fatal(err)
		}
		p := got[0].HostPort
		if p < 32768 || p > 60999 {
			t.Errorf("random port %d outside the ephemeral range", p)
		}
		mustGet(t, "", fmt.Sprintf("http://127.0.0.1:%d/", p), "hello from b")
		all, _ := n.Published()
		found := false
		for _, r := range all {
			found = found || (r.Owner == "test-b" && r.HostPort == p)
		}
		if !found {
			t.Errorf("the random port is not recorded: %v", all)
		}
	})

	t.Run("ip:host:container binds one address", func(t *testing.T) {
		if _, err := n.Publish(epB, []config.PortMapping{{HostIP: "127.0.0.1", HostPort: 9090, ContainerPort: 8000, Proto: "tcp"}}); err != nil {
			t.Fatal(err)
		}
		mustGet(t, "", "http://127.0.0.1:9090/", "hello from b")
		if got, err := get(t, "", "http://"+host.String()+":9090/"); err == nil {
			t.Errorf("port 9090 bound to 127.0.0.1 answered on %s: %q", host, got)
		}
	})

	t.Run("udp", func(t *testing.T) {
		var pc net.PacketConn
		inNamespace(t, nsA, func() { pc, err = net.ListenPacket("udp4", ":53") })
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		if _, err := n.Publish(epA, []config.PortMapping{{HostPort: 5353, ContainerPort: 53, Proto: "udp"}}); err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial("udp4", "127.0.0.1:5353")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("ping over udp"))
		pc.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 64)
		k, _, err := pc.ReadFrom(buf)
		if err != nil || string(buf[:k]) != "ping over udp" {
			t.Errorf("the container read %q, %v", buf[:k], err)
		}
	})

	t.Run("a port a host program listens on is refused", func(t *testing.T) {
		l, err := net.Listen("tcp4", ":7070")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if _, err := n.Publish(epA, []config.PortMapping{{HostPort: 7070, ContainerPort: 8000, Proto: "tcp"}}); err == nil || !strings.Contains(err.Error(), "in use on the host") {
			t.Errorf("publishing a port in use: %v", err)
		}
	})

	if out := os.Getenv("BERTH_TEST_OUTBOUND"); out != "" {
		t.Run("outbound to the build machine through NAT", func(t *testing.T) {
			mustGet(t, nsA, "http://"+out+"/", "hello from the build machine")
		})
	}

	t.Run("links resolve by name", func(t *testing.T) {
		dir := t.TempDir()
		if err := WriteNameFiles(dir, Names{Hostname: "b", IP: epB.IP, Links: []Link{{Name: "test-a", Alias: "web", IP: epA.IP}}, DNS: HostDNS()}); err != nil {
			t.Fatal(err)
		}
		// The client is this test binary again (TestFetchHelper), in b's
		// network namespace and a mount namespace of its own where the
		// hosts file is bind-mounted over /etc/hosts, as a container's is.
		// (Debian's static busybox cannot resolve names: glibc's resolver
		// does not work in static programs.)
		script := fmt.Sprintf("mount --bind %s /etc/hosts && BERTH_TEST_FETCH=http://web:8000/ %s -test.run TestFetchHelper",
			filepath.Join(dir, "hosts"), os.Args[0])
		out, err := exec.Command("nsenter", "--net="+nsB, "unshare", "-m", "sh", "-c", script).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "BODY: hello from a\n") {
			t.Errorf("GET http://web:8000/ from b: %q, %v", out, err)
		}
	})

	start = time.Now()
	if err := n.Detach("test-a"); err != nil {
		t.Fatal(err)
	}
	t.Logf("detach took %v", time.Since(start))

	t.Run("detach leaves nothing behind", func(t *testing.T) {
		if _, err := netlink.LinkByName(epA.HostVeth); err == nil {
			t.Errorf("veth %s still exists", epA.HostVeth)
		}
		all, _ := n.Published()
		for _, r := range all {
			if r.Owner == "test-a" {
				t.Errorf("rule left: %v", r)
			}
		}
		if _, err := get(t, "", "http://127.0.0.1:8080/"); err == nil {
			t.Errorf("port 8080 still answers")
		}
		owners, _ := n.Allocations()
		for ip, o := range owners {
			if o == "test-a" {
				t.Errorf("address %s still allocated to test-a", ip)
			}
		}
		out, _ := exec.Command("nsenter", "--net="+nsA, "ip", "link").CombinedOutput()
		if strings.Contains(string(out), "eth0") {
			t.Errorf("eth0 still in namespace a:\n%s", out)
		}
	})
	if err := n.Detach("test-b"); err != nil {
		t.Fatal(err)
	}
}

// TestIPAMAcrossReboot checks, in two boots on one state disk, that an
// owner keeps its address (phase 1 records it in a file; phase 2 compares).
func TestIPAMAcrossReboot(t *testing.T) {
	phase := os.Getenv("BERTH_TEST_PHASE")
	if phase == "" {
		t.Skip("runs in two boots: set BERTH_TEST_PHASE to 1, then 2")
	}
	n := openNetwork(t)
	ip, err := n.ipam.Allocate("keeper", n.Gateway)
	if err != nil {
		t.Fatal(err)
	}
	record := filepath.Join(stateDir, "keeper-test")
	switch phase {
	case "1":
		if _, err := n.ipam.Allocate("other", n.Gateway); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(record, []byte(ip.String()), 0o644)
	case "2":
		before, _ := os.ReadFile(record)
		if string(before) != ip.String() {
			t.Errorf("keeper had %s before the reboot and %s after", before, ip)
		}
		fresh, _ := n.ipam.Allocate("newcomer", n.Gateway)
		owners, _ := n.Allocations()
		if fresh == ip || owners[fresh.String()] != "newcomer" || owners[ip.String()] != "keeper" {
			t.Errorf("after reboot: newcomer got %s; allocations %v", fresh, owners)
		}
	}
}

// TestServeForBuildMachine publishes a server in a namespace on port 8080
// and keeps it up until /tmp/stop appears, so that the build machine can
// reach it through QEMU's hostfwd (tests/network_test.go).
func TestServeForBuildMachine(t *testing.T) {
	if os.Getenv("BERTH_TEST_SERVE") == "" {
		t.Skip("driven by tests/network_test.go")
	}
	n := openNetwork(t)
	ns := newNamespace(t, "served")
	ep, err := n.Attach("test-served", ns)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Detach("test-served")
	serveHTTP(t, ns, 8000, "hello through hostfwd and DNAT")
	if _, err := n.Publish(ep, []config.PortMapping{{HostPort: 8080, ContainerPort: 8000, Proto: "tcp"}}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile("/tmp/serving", nil, 0o644)
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if _, err := os.Stat("/tmp/stop"); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("never told to stop")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFetchHelper prints the body of BERTH_TEST_FETCH, resolving the name
// with Go's own resolver (which reads /etc/hosts).
func TestFetchHelper(t *testing.T) {
	url := os.Getenv("BERTH_TEST_FETCH")
	if url == "" {
		t.Skip("a helper for TestAttachPublishDetach")
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	fmt.Printf("BODY: %s\n", b)
}

// TestSetupRefusesOverlappingSubnet: a bridge subnet that overlaps the
// host's own (eth0 is in 10.0.2.0/24) is refused before anything changes.
func TestSetupRefusesOverlappingSubnet(t *testing.T) {
	_, err := Setup(config.Bridge{Name: "berth9", Address: "10.0.0.1/16"}, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "overlaps 10.0.2.0/24 on eth0") {
		t.Fatalf("Setup with an overlapping subnet: %v", err)
	}
	if _, err := netlink.LinkByName("berth9"); err == nil {
		t.Errorf("the refused bridge was created")
	}
}
