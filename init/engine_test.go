package main

import (
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// TestPingReusesItsConnection: PID 1 polls the engine's /_ping while the
// engine starts; the polls share one client and one connection, not a
// new transport (and socket) each.
func TestPingReusesItsConnection(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "api.sock")
	l, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	var conns atomic.Int32
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("OK")) }),
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		},
	}
	go srv.Serve(l)
	defer srv.Close()
	c := apiClient(socket)
	for range 5 {
		if err := pingEngine(c); err != nil {
			t.Fatal(err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("5 pings opened %d connections, want 1", n)
	}
}
