package thinpool

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestHolders(t *testing.T) {
	devOf := func(path string) Dev {
		var st unix.Stat_t
		if err := unix.Stat(path, &st); err != nil {
			t.Fatal(err)
		}
		return Dev{Major: unix.Major(st.Dev), Minor: unix.Minor(st.Dev)}
	}
	self := fmt.Sprintf("pid %d thread ", os.Getpid())

	// The filesystem this test's working directory is on is mounted in
	// the test's own mount namespace.
	if got := holders("/proc", devOf(".")); !strings.Contains(got, "mounted at ") || !strings.Contains(got, "in the mount namespace of pid ") {
		t.Errorf("holders of the working directory's filesystem: %q", got)
	}
	// A device this test holds open is named with the test's pid.
	null, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if got := holders("/proc", Dev{Major: 1, Minor: 3}); !strings.Contains(got, "open in "+self) {
		t.Errorf("holders of /dev/null, open here: %q, want it to name %q", got, self)
	}
	// A device nobody has: nothing.
	if got := holders("/proc", Dev{Major: 4095, Minor: 4095}); got != "" {
		t.Errorf("holders of an unused device: %q", got)
	}
}
