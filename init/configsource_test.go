package main

import (
	"encoding/base64"
	"strings"
	"testing"
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
		if _, err := findConfig(cmdline, []blockDevice{{name: "vda", label: "berth-state"}}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", cmdline, err, want)
		}
	}
}

func TestParseFATLabel(t *testing.T) {
	fat32 := make([]byte, 512)
	copy(fat32[0x47:], "BERTHCONFIG")
	copy(fat32[0x52:], "FAT32   ")
	fat32[510], fat32[511] = 0x55, 0xAA
	fat16 := make([]byte, 512)
	copy(fat16[0x2B:], "CONF       ")
	copy(fat16[0x36:], "FAT16   ")
	fat16[510], fat16[511] = 0x55, 0xAA
	noName := append([]byte(nil), fat32...)
	copy(noName[0x47:], "NO NAME    ")
	for _, tc := range []struct {
		b    []byte
		want string
	}{{fat32, "BERTHCONFIG"}, {fat16, "CONF"}, {noName, ""}, {make([]byte, 512), ""}} {
		if got := parseFATLabel(tc.b); got != tc.want {
			t.Errorf("label %q, want %q", got, tc.want)
		}
	}
}
