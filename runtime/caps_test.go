package runtime

import (
	"strings"
	"testing"
)

func TestCaps(t *testing.T) {
	for _, tc := range []struct {
		add, drop []string
		has       []string
		hasNot    []string
	}{
		{nil, nil, []string{"CHOWN", "NET_BIND_SERVICE", "KILL"}, []string{"SYS_ADMIN", "NET_ADMIN"}},
		{[]string{"NET_ADMIN"}, []string{"cap_net_raw"}, []string{"NET_ADMIN"}, []string{"NET_RAW"}},
		{nil, []string{"ALL"}, nil, []string{"CHOWN", "KILL"}},
		{[]string{"ALL"}, nil, []string{"SYS_ADMIN", "SYS_MODULE"}, nil},
		{[]string{"NET_ADMIN"}, []string{"ALL"}, []string{"NET_ADMIN"}, []string{"CHOWN"}},
	} {
		got, err := Caps(tc.add, tc.drop)
		if err != nil {
			t.Fatal(err)
		}
		set := strings.Join(got, ",") + ","
		for _, c := range tc.has {
			if !strings.Contains(set, c+",") {
				t.Errorf("add %v drop %v: %s missing from %v", tc.add, tc.drop, c, got)
			}
		}
		for _, c := range tc.hasNot {
			if strings.Contains(","+set, ","+c+",") {
				t.Errorf("add %v drop %v: %s in %v", tc.add, tc.drop, c, got)
			}
		}
	}
	if _, err := Caps([]string{"FLY"}, nil); err == nil {
		t.Error("an unknown capability was accepted")
	}
}
