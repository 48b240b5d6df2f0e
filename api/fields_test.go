package api

import (
	"errors"
	"strings"
	"testing"

	"berth/errdefs"
)

func TestCreateFieldsFailClosed(t *testing.T) {
	for _, tc := range []struct {
		body string
		bad  string // "" when accepted
	}{
		// What Docker's CLI sends for a plain docker run: empty fields.
		{`{"Image":"busybox","Cmd":["true"],"Domainname":"","AttachStdout":true,"Healthcheck":null,"MacAddress":"",
		  "HostConfig":{"Binds":null,"NetworkMode":"default","CpuShares":0,"Ulimits":null,"Dns":[],"LogConfig":{"Type":"","Config":{}},
		  "CgroupnsMode":"private","IpcMode":"private","ConsoleSize":[24,80],"Init":null,"OomKillDisable":false,"MaskedPaths":null},
		  "NetworkingConfig":{"EndpointsConfig":{"default":{}}}}`, ""},
		{`{"Image":"busybox","HostConfig":{"Privileged":true,"SecurityOpt":["seccomp=unconfined"],"Devices":[{"PathOnHost":"/dev/fuse"}]}}`, ""},
		{`{"Image":"busybox","HostConfig":{"Dns":["9.9.9.9"],"CpuShares":512,"Ulimits":[{"Name":"nofile","Soft":10,"Hard":10}],
		  "Init":true,"Tmpfs":{"/run":""},"Mounts":[{"Type":"tmpfs","Target":"/x"}],"ExtraHosts":["a:1.2.3.4"]},
		  "StopSignal":"SIGINT","StopTimeout":3,"Healthcheck":{"Test":["CMD","true"]}}`, ""},
		{`{"Image":"busybox","HostConfig":{"CpuPeriod":50000}}`, "HostConfig.CpuPeriod"},
		{`{"Image":"busybox","HostConfig":{"VolumesFrom":["db"]}}`, "HostConfig.VolumesFrom"},
		{`{"Image":"busybox","MacAddress":"02:42:ac:11:00:09"}`, "MacAddress"},
		{`{"Image":"busybox","HostConfig":{"PidMode":"host"}}`, "HostConfig.PidMode"},
		{`{"Image":"busybox","HostConfig":{"CgroupnsMode":"host"}}`, "HostConfig.CgroupnsMode"},
		{`{"Image":"busybox","HostConfig":{"MaskedPaths":[]}}`, "HostConfig.MaskedPaths"},
		{`{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"bridge":{"Aliases":["db"]}}}}`, "NetworkingConfig.EndpointsConfig.bridge"},
	} {
		err := checkCreateFields([]byte(tc.body))
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.body, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad) || !errors.Is(err, errdefs.ErrInvalid)):
			t.Errorf("%s: %v, want an invalid-argument error naming %s", tc.body, err, tc.bad)
		}
	}
}

func TestUpdateFieldsFailClosed(t *testing.T) {
	if err := checkUpdateFields([]byte(`{"Memory":67108864,"CpusetCpus":"","BlkioWeight":0,"RestartPolicy":{"Name":"always"}}`)); err != nil {
		t.Errorf("refused: %v", err)
	}
	if err := checkUpdateFields([]byte(`{"CpusetCpus":"0-1"}`)); err == nil || !strings.Contains(err.Error(), "CpusetCpus") {
		t.Errorf("cpuset: %v", err)
	}
}
