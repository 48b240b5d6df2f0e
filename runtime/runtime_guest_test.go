//go:build guest

package runtime

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// TestMain lets this test binary be a container's process too, as the
// berth binary is: the runtime starts a sealed copy of it.
func TestMain(m *testing.M) {
	RunRole(os.Args)
	os.Exit(m.Run())
}

// TestContainerProcessRunsFromSealedCopy holds a container's first
// process before its exec and looks at what it runs from: the sealed
// memfd, which nothing can write, not the binary on the host's disk.
func TestContainerProcessRunsFromSealedCopy(t *testing.T) {
	r, err := New(Config{CgroupParent: "/berth-runtime-test"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !sealed(r.exe) {
		t.Fatal("the copy of the binary is not sealed")
	}
	if _, err := r.exe.WriteAt([]byte("x"), 0); err == nil {
		t.Error("the sealed copy took a write")
	}
	if err := r.CreateCgroup("sealed", Resources{Devices: DeviceRules(nil, false)}); err != nil {
		t.Fatal(err)
	}
	defer r.DeleteCgroup("sealed")
	l, err := r.NewInit(&Spec{ID: "sealed", Process: Process{Args: []string{"true"}}}, Stdio{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := l.Started(); err != nil {
		t.Fatal(err)
	}
	pid := l.Cmd.Process.Pid
	exe, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/exe")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(exe, "/memfd:berth") {
		t.Errorf("the container's process runs from %q, not the sealed copy", exe)
	}
	if f, err := os.OpenFile("/proc/"+strconv.Itoa(pid)+"/exe", os.O_WRONLY, 0); err == nil {
		_, err = f.Write([]byte("x"))
		f.Close()
		if err == nil {
			t.Error("the container's process's binary took a write")
		}
	}
	// Never released: it ends on its own, with berth's status 125.
	l.Close()
	err = l.Cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != ExitSetupFailed {
		t.Errorf("the held process ended with %v", err)
	}
}
