package main

import (
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
)

// TestNoBuildTimePackages: the berth binary (PID 1, the engine, the CLI)
// links nothing that only building the appliance needs: the image
// builder, go-diskfs, u-root's cpio, QEMU's driver, buildkit's client.
func TestNoBuildTimePackages(t *testing.T) {
	out, err := exec.Command(filepath.Join(goruntime.GOROOT(), "bin", "go"), "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps gave %q", deps)
	}
	for _, d := range deps {
		for _, buildTime := range []string{"berth/image", "berth/qemu", "github.com/diskfs/go-diskfs", "github.com/u-root/u-root/pkg/cpio",
			"github.com/moby/buildkit/client"} {
			if d == buildTime || strings.HasPrefix(d, buildTime+"/") {
				t.Errorf("the berth binary links %s, a build-time package", d)
			}
		}
	}
}
