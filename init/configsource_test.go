package main

import (
	"encoding/base64"
	"strings"
	"testing"

	"berth/blockdev"
)

func TestFindConfigFromCommandLine(t *testing.T) {
	toml := "[host]\nhostname = \"edge-7\"\n"
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawURLEncoding} {
		src, err := findConfig("quiet berth.config=base64:"+enc.EncodeToString([]byte(toml))+" console=ttyS0", nil)
		if err != nil || string(src.data) != toml || !strings.Contains(src.name, "kernel command line") {
			t.Errorf("base64: %q %q %v", src.name, src.data, err)
		}
	}
	for cmdline, want := range map[string]string{
		"berth.config=base64:%%%":      "not valid base64",
		"berth.config=LABEL=site-42":   "no disk or partition is labelled site-42",
		"berth.config=http://x/a.toml": "give base64:<TOML in base64>, LABEL=<label> or /dev/<device>",
	} {
		if _, err := findConfig(cmdline, []blockdev.Device{{Name: "vda", Label: "berth-state"}}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", cmdline, err, want)
		}
	}
}
