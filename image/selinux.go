package image

import (
	"archive/tar"
	"bytes"
	"compress/bzip2"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"berth/hostpath"

	"github.com/klauspost/compress/zstd"
)

// berthPolicy is berth's own SELinux policy module, compiled with
// Debian's reference policy.
//
//go:embed selinux/berth.cil
var berthPolicy []byte

// SELinuxType is the policy berth ships: Debian's reference policy, MCS.
const SELinuxType = hostpath.SELinuxType

// policyVersion is the binary policy version written; Debian's 6.1 kernel
// reads up to 33.
const policyVersion = "33"

// ppToCIL is refpolicy's converter from a module package to CIL, in
// Debian's policycoreutils.
const ppToCIL = "/usr/libexec/selinux/hll/pp"

// CompileSELinuxPolicy compiles Debian's reference policy, unpacked in src
// by make deps, into out: policy.<version>, file_contexts and the
// package's contexts/. The policy is:
//
//   - every module of selinux-policy-default;
//   - refpolicy's container module (container_t, container_file_t, which
//     Debian's lxc_contexts names but Debian's package leaves out), built
//     from selinux-policy-src with selinux-policy-dev's headers;
//   - berth's own module (selinux/berth.cil).
//
// It runs refpolicy's tools (hll/pp, checkmodule, secilc) on files under
// out only, never on the build machine's /etc/selinux, and does nothing
// when out already holds the policy of the same inputs.
func CompileSELinuxPolicy(src, out string, log io.Writer) error {
	src, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	modDir := filepath.Join(src, "usr/share/selinux", SELinuxType)
	mods, err := filepath.Glob(filepath.Join(modDir, "*.pp.bz2"))
	if err != nil || len(mods) == 0 {
		return fmt.Errorf("image: no SELinux policy modules in %s: run make deps (it unpacks Debian's selinux-policy-default)", modDir)
	}
	sort.Strings(mods)
	h := sha256.New()
	pkg, _ := os.ReadFile(filepath.Join(src, ".package"))
	h.Write(pkg)
	h.Write(berthPolicy)
	h.Write([]byte(hiddenMountpointDenials)) // how the modules are put together
	sum := hex.EncodeToString(h.Sum(nil))
	if b, err := os.ReadFile(filepath.Join(out, ".inputs")); err == nil && string(b) == sum {
		return nil
	}
	if log != nil {
		fmt.Fprintf(log, "selinux    compiling the reference policy (%d modules) with berth's module\n", len(mods))
	}
	tmp := out + ".tmp"
	os.RemoveAll(tmp)
	cilDir := filepath.Join(tmp, "cil")
	if err := os.MkdirAll(cilDir, 0o755); err != nil {
		return err
	}
	var cils []string
	for _, m := range mods {
		name := strings.TrimSuffix(filepath.Base(m), ".pp.bz2")
		cil, err := moduleToCIL(m)
		if err != nil {
			return fmt.Errorf("image: SELinux module %s: %w", name, err)
		}
		p := filepath.Join(cilDir, name+".cil")
		if err := os.WriteFile(p, cil, 0o644); err != nil {
			return err
		}
		if name == "base" {
			cils = append([]string{p}, cils...)
		} else {
			cils = append(cils, p)
		}
	}
	container, err := containerModule(src, filepath.Join(tmp, "container"))
	if err != nil {
		return fmt.Errorf("image: refpolicy's container module: %w", err)
	}
	p := filepath.Join(cilDir, "container.cil")
	if err := os.WriteFile(p, container, 0o644); err != nil {
		return err
	}
	cils = append(cils, p)
	berth := filepath.Join(cilDir, "berth.cil")
	if err := os.WriteFile(berth, berthPolicy, 0o644); err != nil {
		return err
	}
	cils = append(cils, berth)
	args := append([]string{"-M", "true", "-c", policyVersion, "-o", filepath.Join(tmp, "policy."+policyVersion),
		"-f", filepath.Join(tmp, "file_contexts")}, cils...)
	if b, err := exec.Command("secilc", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("image: secilc: %v\n%s(is secilc installed? run make deps)", err, b)
	}
	contexts := filepath.Join(src, "etc/selinux", SELinuxType, "contexts")
	if err := copyTree(contexts, filepath.Join(tmp, "contexts")); err != nil {
		return fmt.Errorf("image: SELinux contexts: %w", err)
	}
	os.RemoveAll(cilDir)
	os.RemoveAll(filepath.Join(tmp, "container"))
	if err := os.WriteFile(filepath.Join(tmp, ".inputs"), []byte(sum), 0o644); err != nil {
		return err
	}
	os.RemoveAll(out)
	return os.Rename(tmp, out)
}

// moduleToCIL converts a bzip2'd module package to CIL with hll/pp.
func moduleToCIL(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ppAsCIL(bzip2.NewReader(f))
}

// ppAsCIL converts a module package to CIL with hll/pp.
func ppAsCIL(pp io.Reader) ([]byte, error) {
	cmd := exec.Command(ppToCIL)
	cmd.Stdin = pp
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %v: %s (is policycoreutils installed? run make deps)", ppToCIL, err, errOut.String())
	}
	return out.Bytes(), nil
}

// containerModule builds refpolicy's container module in dir: its .te and
// .fc from the source tarball of selinux-policy-src, compiled with the
// development headers of selinux-policy-dev (m4, checkmodule,
// semodule_package), and returns it as CIL.
func containerModule(src, dir string) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	tarball := filepath.Join(src, "usr/src/selinux-policy-src.tar.zst")
	f, err := os.Open(tarball)
	if err != nil {
		return nil, fmt.Errorf("%w (run make deps: it unpacks selinux-policy-src)", err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	want := map[string]string{"selinux-policy-src/policy/modules/services/container.te": "container.te",
		"selinux-policy-src/policy/modules/services/container.fc": "container.fc"}
	tr := tar.NewReader(zr)
	for len(want) > 0 {
		h, err := tr.Next()
		if err != nil {
			return nil, fmt.Errorf("%s: %v: no %v", tarball, err, want)
		}
		name, ok := want[h.Name]
		if !ok {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return nil, err
		}
		delete(want, h.Name)
	}
	devel := filepath.Join(src, "usr/share/selinux/devel")
	cmd := exec.Command("make", "-f", filepath.Join(devel, "include/Makefile"), "HEADERDIR="+filepath.Join(devel, "include"),
		"SHAREDIR="+filepath.Join(src, "usr/share/selinux"), "NAME="+SELinuxType, "TYPE=mcs", "container.pp")
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("make container.pp: %v\n%s(are m4, checkpolicy and semodule-utils installed? run make deps)", err, b)
	}
	pp, err := os.Open(filepath.Join(dir, "container.pp"))
	if err != nil {
		return nil, err
	}
	defer pp.Close()
	cil, err := ppAsCIL(pp)
	if err != nil {
		return nil, err
	}
	return showSVirtDenials(cil), nil
}

// hiddenMountpointDenials is the rule of refpolicy's container module that
// keeps quiet a container's failed search of any mount point. A volume
// another container labelled :Z is one, so the rule would hide exactly the
// refusals sVirt is there for; berth leaves it out, and they are logged.
const hiddenMountpointDenials = "(dontaudit container_domain mountpoint (dir "

func showSVirtDenials(cil []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(cil, []byte("\n")) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte(hiddenMountpointDenials)) {
			out = append(out, line)
		}
	}
	return bytes.Join(out, []byte("\n"))
}

// copyTree copies the regular files and directories below src to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

// addSELinux puts the compiled policy in dir (CompileSELinuxPolicy) into
// the image at /etc/selinux, with a config naming it; PID 1 loads it.
func addSELinux(a *Archive, dir string) error {
	a.Dir(hostpath.SELinux, 0o755)
	a.File(hostpath.SELinuxConfig, 0o644, []byte("SELINUX=enforcing\nSELINUXTYPE="+SELinuxType+"\n"))
	root := hostpath.SELinuxPolicy
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if strings.HasPrefix(rel, ".") && rel != "." {
			return nil
		}
		var dst string
		switch {
		case rel == ".":
			dst = root
		case rel == "policy."+policyVersion:
			a.Dir(root+"/policy", 0o755)
			dst = root + "/policy/" + rel
		case rel == "file_contexts":
			a.Dir(root+"/contexts/files", 0o755)
			dst = root + "/contexts/files/file_contexts"
		default:
			dst = root + "/" + rel
		}
		if d.IsDir() {
			a.Dir(dst, 0o755)
			return nil
		}
		return a.HostFile(dst, p)
	})
}
