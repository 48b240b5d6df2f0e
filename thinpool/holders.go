package thinpool

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// holders names what keeps device dev busy, for the error of a device
// that cannot be removed: each mount namespace in which it is mounted
// (with one thread in it, and the mount point) and each process that has
// it open. "device or resource busy" alone does not say what to stop. It
// reads procfs, the root of /proc; what it cannot read it leaves out.
func holders(procfs string, dev Dev) string {
	var found []string
	seen := map[string]bool{} // mount namespaces looked at
	tasks, _ := filepath.Glob(filepath.Join(procfs, "[0-9]*", "task", "[0-9]*"))
	for _, task := range tasks {
		ns, err := os.Readlink(filepath.Join(task, "ns", "mnt"))
		if err != nil || seen[ns] {
			continue
		}
		seen[ns] = true
		f, err := os.Open(filepath.Join(task, "mountinfo"))
		if err != nil {
			continue
		}
		mounts, _ := mountinfo.GetMountsFromReader(f, func(m *mountinfo.Info) (skip, stop bool) {
			on := m.Major == int(dev.Major) && m.Minor == int(dev.Minor)
			return !on, on
		})
		f.Close()
		if len(mounts) > 0 {
			found = append(found, fmt.Sprintf("mounted at %s in the mount namespace of %s", mounts[0].Mountpoint, taskName(task)))
		}
	}
	fds, _ := filepath.Glob(filepath.Join(procfs, "[0-9]*", "fd", "*"))
	for _, fd := range fds {
		var st unix.Stat_t
		if unix.Stat(fd, &st) == nil && st.Mode&(unix.S_IFBLK|unix.S_IFCHR) != 0 &&
			unix.Major(st.Rdev) == dev.Major && unix.Minor(st.Rdev) == dev.Minor {
			pid := filepath.Dir(filepath.Dir(fd))
			found = append(found, fmt.Sprintf("open in %s", taskName(filepath.Join(pid, "task", filepath.Base(pid)))))
		}
	}
	return strings.Join(found, "; ")
}

// taskName is "pid P thread T (comm)" for the task directory
// procfs/P/task/T.
func taskName(task string) string {
	comm, _ := os.ReadFile(filepath.Join(task, "comm"))
	pid := filepath.Base(filepath.Dir(filepath.Dir(task)))
	return fmt.Sprintf("pid %s thread %s (%s)", pid, filepath.Base(task), strings.TrimSpace(string(comm)))
}
