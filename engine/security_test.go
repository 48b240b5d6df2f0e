package engine

import (
	"testing"

	"github.com/docker/docker/api/types/container"
)

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
	for in, want := range map[string]container.DeviceMapping{
		"/dev/fuse":             {PathOnHost: "/dev/fuse", PathInContainer: "/dev/fuse", CgroupPermissions: "rwm"},
		"/dev/sda:/dev/xvda":    {PathOnHost: "/dev/sda", PathInContainer: "/dev/xvda", CgroupPermissions: "rwm"},
		"/dev/sda:r":            {PathOnHost: "/dev/sda", PathInContainer: "/dev/sda", CgroupPermissions: "r"},
		"/dev/sda:/dev/xvda:rw": {PathOnHost: "/dev/sda", PathInContainer: "/dev/xvda", CgroupPermissions: "rw"},
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
