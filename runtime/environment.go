package runtime

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/opencontainers/selinux/go-selinux"
)

// DefaultPath is the PATH of a container that sets none, as Docker's.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// withDefaults adds PATH, HOSTNAME and HOME unless the container sets them.
func withDefaults(env []string, hostname, home string) []string {
	has := map[string]bool{}
	for _, e := range env {
		k, _, _ := strings.Cut(e, "=")
		has[k] = true
	}
	out := append([]string(nil), env...)
	for _, kv := range []string{"PATH=" + DefaultPath, "HOSTNAME=" + hostname, "HOME=" + home} {
		k, _, _ := strings.Cut(kv, "=")
		if !has[k] {
			out = append(out, kv)
		}
	}
	return out
}

// lookPath finds the command in the container's PATH (from env, else the
// default), in the root the caller is in.
func lookPath(cmd string, env []string) (string, error) {
	if strings.Contains(cmd, "/") {
		if _, err := os.Stat(cmd); err != nil {
			return "", coded(ExitNotFound, fmt.Errorf("exec %s: %w", cmd, err))
		}
		return cmd, nil
	}
	pathVar := DefaultPath
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			pathVar = v
		}
	}
	for _, dir := range filepath.SplitList(pathVar) {
		p := filepath.Join(dir, cmd)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", coded(ExitNotFound, fmt.Errorf("exec %s: executable file not found in $PATH", cmd))
}

// setExecLabel makes the calling thread's next exec run in SELinux label l.
func setExecLabel(l string) error {
	if err := selinux.SetExecLabel(l); err != nil {
		return fmt.Errorf("SELinux label %s: %w", l, err)
	}
	return nil
}

// MergeEnv is the environment image with extra on top: a
// variable extra sets replaces image's, in its place.
func MergeEnv(image, extra []string) []string {
	idx := map[string]int{}
	var out []string
	for _, kv := range append(append([]string(nil), image...), extra...) {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[k]; ok {
			out[i] = kv
			continue
		}
		idx[k] = len(out)
		out = append(out, kv)
	}
	return out
}
