package engine

import (
	"reflect"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
)

func TestLinkEnv(t *testing.T) {
	other := Container{Name: "/db",
		Config:          &container.Config{Env: []string{"PATH=/bin", "HOME=/root", "PGDATA=/data", "A=b=c"}, ExposedPorts: nat.PortSet{"5432/tcp": {}, "53/udp": {}}},
		NetworkSettings: NetworkSettings{IPAddress: "172.17.0.5"}}
	got := linkEnv("/web", "my-db", other)
	want := []string{
		"MY_DB_NAME=/web/my-db",
		"MY_DB_PORT=udp://172.17.0.5:53",
		"MY_DB_PORT_53_UDP=udp://172.17.0.5:53", "MY_DB_PORT_53_UDP_ADDR=172.17.0.5", "MY_DB_PORT_53_UDP_PORT=53", "MY_DB_PORT_53_UDP_PROTO=udp",
		"MY_DB_PORT_5432_TCP=tcp://172.17.0.5:5432", "MY_DB_PORT_5432_TCP_ADDR=172.17.0.5", "MY_DB_PORT_5432_TCP_PORT=5432", "MY_DB_PORT_5432_TCP_PROTO=tcp",
		"MY_DB_ENV_PGDATA=/data", "MY_DB_ENV_A=b=c",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("linkEnv:\n got %q\nwant %q", got, want)
	}
}
