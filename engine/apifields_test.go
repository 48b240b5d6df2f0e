package engine

import (
	"errors"
	"strings"
	"testing"
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
		{`{"Image":"busybox","HostConfig":{"Dns":["9.9.9.9"]}}`, "HostConfig.Dns"},
		{`{"Image":"busybox","HostConfig":{"CpuShares":512}}`, "HostConfig.CpuShares"},
		{`{"Image":"busybox","HostConfig":{"Ulimits":[{"Name":"nofile","Soft":10,"Hard":10}]}}`, "HostConfig.Ulimits"},
		{`{"Image":"busybox","HostConfig":{"PidMode":"host"}}`, "HostConfig.PidMode"},
		{`{"Image":"busybox","HostConfig":{"CgroupnsMode":"host"}}`, "HostConfig.CgroupnsMode"},
		{`{"Image":"busybox","HostConfig":{"MaskedPaths":[]}}`, "HostConfig.MaskedPaths"},
		{`{"Image":"busybox","StopSignal":"SIGINT"}`, "StopSignal"},
		{`{"Image":"busybox","Healthcheck":{"Test":["CMD","true"]}}`, "Healthcheck"},
		{`{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"bridge":{"Aliases":["db"]}}}}`, "NetworkingConfig.EndpointsConfig.bridge"},
	} {
		err := checkCreateFields([]byte(tc.body))
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.body, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad) || !errors.Is(err, ErrInvalid)):
			t.Errorf("%s: %v, want an invalid-argument error naming %s", tc.body, err, tc.bad)
		}
	}
}

func TestSecurityOpts(t *testing.T) {
	for _, tc := range []struct {
		opts      []string
		seccomp   string
		nnp, fail bool
	}{
		{nil, "", true, false},
		{[]string{"seccomp=unconfined"}, "unconfined", true, false},
		{[]string{"seccomp:unconfined"}, "unconfined", true, false},
		{[]string{`seccomp={"defaultAction":"SCMP_ACT_ALLOW"}`}, `{"defaultAction":"SCMP_ACT_ALLOW"}`, true, false},
		{[]string{"no-new-privileges=false"}, "", false, false},
		{[]string{"no-new-privileges"}, "", true, false},
		{[]string{"seccomp=/etc/profile.json"}, "", true, true},
		{[]string{"apparmor=docker-default"}, "", true, true},
		{[]string{"systempaths=unconfined"}, "", true, true},
		{[]string{"no-new-privileges=maybe"}, "", true, true},
	} {
		s, err := parseSecurityOpts(tc.opts)
		if (err != nil) != tc.fail {
			t.Errorf("%v: error %v", tc.opts, err)
			continue
		}
		if err == nil && (s.seccomp != tc.seccomp || s.noNewPrivs != tc.nnp) {
			t.Errorf("%v: %+v", tc.opts, s)
		}
	}
}

func TestParseDevice(t *testing.T) {
	for in, want := range map[string]DeviceMapping{
		"/dev/fuse":             {"/dev/fuse", "/dev/fuse", "rwm"},
		"/dev/sda:/dev/xvda":    {"/dev/sda", "/dev/xvda", "rwm"},
		"/dev/sda:r":            {"/dev/sda", "/dev/sda", "r"},
		"/dev/sda:/dev/xvda:rw": {"/dev/sda", "/dev/xvda", "rw"},
	} {
		if got, err := ParseDevice(in); err != nil || got != want {
			t.Errorf("%s: %+v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"dev/sda", "/dev/sda:xvda", "/a:/b:/c:/d"} {
		if _, err := ParseDevice(bad); err == nil {
			t.Errorf("%s was accepted", bad)
		}
	}
}
