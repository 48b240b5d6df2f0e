package api

import (
	"bytes"
	"strings"
	"testing"
)

func TestDetachKeys(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []byte
		err  bool
	}{
		{"", []byte{0x10, 0x11}, false},
		{"ctrl-p,ctrl-q", []byte{0x10, 0x11}, false},
		{"ctrl-a,x", []byte{0x01, 'x'}, false},
		{"ctrl-@,ctrl-[,ctrl-_", []byte{0, 27, 31}, false},
		{"ctrl-1", nil, true},
		{"ab", nil, true},
	} {
		got, err := DetachKeys(tc.in)
		if (err != nil) != tc.err || !bytes.Equal(got, tc.want) {
			t.Errorf("DetachKeys(%q) = %v, %v", tc.in, got, err)
		}
	}
}

// TestCopyInput passes input through, holds back a partial detach
// sequence until it breaks, and stops at a whole one.
func TestCopyInput(t *testing.T) {
	keys := []byte{0x10, 0x11}
	for _, tc := range []struct {
		in, out  string
		detached bool
	}{
		{"hello", "hello", false},
		{"ab\x10\x11cd", "ab", true},
		{"a\x10b", "a\x10b", false},
		{"a\x10\x10\x11", "a\x10", true},
	} {
		var out bytes.Buffer
		if d := CopyInput(&out, strings.NewReader(tc.in), keys); d != tc.detached || out.String() != tc.out {
			t.Errorf("CopyInput(%q) wrote %q, detached %v", tc.in, out.String(), d)
		}
	}
	var out bytes.Buffer
	if d := CopyInput(&out, strings.NewReader("a\x10\x11"), nil); d || out.String() != "a\x10\x11" {
		t.Errorf("without keys: wrote %q, detached %v", out.String(), d)
	}
}
