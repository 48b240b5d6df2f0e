package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/opencontainers/selinux/go-selinux"
	"golang.org/x/sys/unix"

	"berth/config"
	"berth/filecontexts"
	"berth/hostpath"
)

// The SELinux files of the appliance: the policy make image compiled,
// and where the kernel takes it.
const (
	selinuxFS         = "/sys/fs/selinux"
	selinuxConfig     = hostpath.SELinuxConfig
	selinuxPolicyDir  = hostpath.SELinuxPolicy
	selinuxPolicyFile = selinuxPolicyDir + "/policy/policy.33"
	selinuxFileCtx    = selinuxPolicyDir + "/contexts/files/file_contexts"
)

// hostLabel is the SELinux context of PID 1 and of every process of the
// host: berth_t, a permissive domain of berth's own policy module, at s0
// as container engines run: the pipes and terminals it hands containers
// are then at s0, which every container's level dominates (MCS lets a
// container write only what its level dominates); berth_t is not MCS
// constrained, so it still starts containers at any pair.
const hostLabel = "system_u:system_r:berth_t:s0"

// startedEnv carries the time the first /init started across the exec,
// so that "ready" counts from it.
const startedEnv = "BERTH_STARTED"

// selinuxLoadedEnv marks the start of /init in berth_t, once the policy is
// loaded; its value is the mode.
const selinuxLoadedEnv = "BERTH_SELINUX"

// loadSELinux loads the SELinux policy, before anything but PID 1 runs, as
// systemd does: it mounts selinuxfs, loads the policy, labels the root
// filesystem from the policy's file_contexts, sets the mode the config
// asks for, and executes /init again, now in berth_t; the boot starts over
// there and this step then finds the policy loaded. A policy that does not
// load is reported, and the host boots on without SELinux, or stops at the
// rescue shell when the config says so.
func loadSELinux(s *system) error {
	if mode, ok := os.LookupEnv(selinuxLoadedEnv); ok {
		os.Unsetenv(selinuxLoadedEnv)
		s.logf("SELinux: policy loaded, %s; running in %s", mode, currentLabel())
		s.forwardDenials()
		return nil
	}
	mode := s.config.Security.SELinux
	if mode == config.SELinuxDisabled {
		return writeSELinuxConfig(mode)
	}
	if err := loadPolicy(mode); err != nil {
		writeSELinuxConfig(config.SELinuxDisabled)
		if s.config.Security.SELinuxFailure == "rescue" {
			s.rescue = "the SELinux policy did not load (see above) and [security] selinux_failure is \"rescue\": no container starts unconfined"
			return fmt.Errorf("SELinux policy not loaded: %w", err)
		}
		return fmt.Errorf("SELinux policy not loaded: %w; the host boots on WITHOUT SELinux (set [security] selinux_failure = \"rescue\" to stop instead)", err)
	}
	s.logf("SELinux: policy loaded (%s); starting /init again in berth_t", mode)
	return reexecInHostDomain(mode, s.started)
}

// loadPolicy mounts selinuxfs, loads the policy, labels the root and sets
// the mode.
func loadPolicy(mode string) error {
	if _, err := os.Stat(selinuxFS); err != nil {
		return fmt.Errorf("the kernel runs without SELinux (%s is missing): its command line needs %s", selinuxFS, config.KernelCmdline)
	}
	if err := unix.Mount("selinuxfs", selinuxFS, "selinuxfs", unix.MS_NOSUID|unix.MS_NOEXEC, ""); err != nil && !errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("mount selinuxfs: %w", err)
	}
	policy, err := os.ReadFile(selinuxPolicyFile)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(selinuxFS, "load"), policy, 0); err != nil {
		return fmt.Errorf("load %s: %w", selinuxPolicyFile, err)
	}
	fc, err := filecontexts.Load(selinuxFileCtx)
	if err != nil {
		return err
	}
	for _, fs := range []string{"/", "/dev"} {
		if err := labelTree(fs, fc); err != nil {
			return err
		}
	}
	if err := writeSELinuxConfig(mode); err != nil {
		return err
	}
	return setEnforce(mode == config.SELinuxEnforcing)
}

// setEnforce writes selinuxfs's enforce directly: at this step of the
// boot, go-selinux may have cached that no selinuxfs was mounted.
func setEnforce(on bool) error {
	v := "0"
	if on {
		v = "1"
	}
	if err := os.WriteFile(filepath.Join(selinuxFS, "enforce"), []byte(v), 0); err != nil {
		return fmt.Errorf("set SELinux enforcing to %s: %w", v, err)
	}
	return nil
}

// labelTree labels every file of the filesystem at top as file_contexts
// says, as restorecon would: the root (the tmpfs PID 1 moved the initramfs
// into) and /dev (devtmpfs, which udev would label elsewhere). Other
// filesystems keep the labels their mounts give them.
func labelTree(top string, fc *filecontexts.Contexts) error {
	var root unix.Stat_t
	if err := unix.Lstat(top, &root); err != nil {
		return err
	}
	return filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // gone meanwhile
		}
		var st unix.Stat_t
		if unix.Lstat(p, &st) != nil {
			return nil
		}
		if st.Dev != root.Dev {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		ctx, ok := fc.Lookup(p, d.Type())
		if !ok {
			return nil
		}
		if err := unix.Lsetxattr(p, "security.selinux", []byte(ctx+"\x00"), 0); err != nil {
			return fmt.Errorf("label %s: %w", p, err)
		}
		return nil
	})
}

// labelStateDisk labels /var/lib/berth as file_contexts says, once: when
// its top is not labelled yet (a new disk, a disk from a host without
// SELinux, the in-memory state). Later boots find it labelled and keep
// every label, the ones containers' volumes were given included.
func labelStateDisk(*system) error {
	if !selinux.GetEnabled() {
		return nil
	}
	fc, err := filecontexts.Load(selinuxFileCtx)
	if err != nil {
		return err
	}
	want, ok := fc.Lookup(hostpath.State, fs.ModeDir)
	if !ok {
		return nil
	}
	if have, err := selinux.FileLabel(hostpath.State); err == nil && have == want {
		return nil
	}
	return labelTree(hostpath.State, fc)
}

// writeSELinuxConfig records the mode for the tools that read it
// (opencontainers/selinux, getenforce elsewhere).
func writeSELinuxConfig(mode string) error {
	return os.WriteFile(selinuxConfig, []byte("SELINUX="+mode+"\nSELINUXTYPE=default\n"), 0o644)
}

// reexecInHostDomain executes /init again in berth_t. It returns only with
// an error.
func reexecInHostDomain(mode string, started time.Time) error {
	goruntime.LockOSThread()
	defer goruntime.UnlockOSThread()
	if err := selinux.SetExecLabel(hostLabel); err != nil {
		return fmt.Errorf("SELinux: set the label of the next exec: %w", err)
	}
	env := append(os.Environ(), movedRootEnv, selinuxLoadedEnv+"="+mode, startedEnv+"="+strconv.FormatInt(started.UnixNano(), 10))
	err := syscall.Exec("/init", os.Args, env)
	selinux.SetExecLabel("")
	return fmt.Errorf("SELinux: execute /init in berth_t: %w", err)
}

func currentLabel() string {
	l, err := selinux.CurrentLabel()
	if err != nil {
		return "?"
	}
	return l
}
