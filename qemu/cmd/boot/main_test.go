package main

import (
	"testing"

	"berth/config"
	"berth/qemu"
)

func TestForwardsFixedPublishedPorts(t *testing.T) {
	c, err := config.Parse("f.toml", []byte(`
[[container]]
name = "a"
image = "busybox"
ports = ["8080:8000", "9000", "127.0.0.1:5353:53/udp"]
`))
	if err != nil {
		t.Fatal(err)
	}
	got := forwards(c)
	want := []qemu.Forward{{Proto: "tcp", HostPort: 8080, GuestPort: 8080}, {Proto: "udp", HostPort: 5353, GuestPort: 5353}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("forwards = %+v, want %+v", got, want)
	}
}
