// Package image builds the berth appliance: the kernel and an initramfs
// that holds the berth binary as /init, the kernel modules berth loads at
// boot (and only those, with their dependencies), busybox for the console,
// mke2fs with its libraries, and the config.
package image

import (
	"bytes"
	_ "embed"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"berth/config"
	"berth/hostpath"
	"berth/imagestore"
)

// Options say what goes into the appliance.
type Options struct {
	// KernelRoot is the unpacked linux-image package: boot/vmlinuz-* and
	// lib/modules/<release>/ (KernelDir).
	KernelRoot string
	// Kernel is its flavour, cloud (the default) or generic: which
	// drivers the appliance carries.
	Kernel string
	// Berth is the static berth binary; it becomes /bin/berth and /init.
	Berth string
	// Busybox is a static busybox (Debian's busybox-static) for the console.
	Busybox string
	// Mke2fs is the mke2fs program; it is copied with its shared libraries.
	Mke2fs string
	// Init is the static init a container's --init runs (Debian's
	// tini-static); it becomes InitBinary.
	Init string
	// Config is the berth.toml to embed as /etc/berth/berth.toml.
	Config string
	// SkipConfigCheck embeds Config even when it does not validate. Only
	// tests use it, to prove how a host handles a broken config.
	SkipConfigCheck bool
	// Images are docker save tarballs to bundle; the engine loads them into
	// the pool at first boot.
	Images []string
	// Programs are more dynamically linked programs to add with their
	// libraries, destination path to source path (benchmarks add crun and
	// runc).
	Programs map[string]string
	// ExtraFiles are more files to add, destination path to source path:
	// the guest test binaries, for instance.
	ExtraFiles map[string]string
	// SELinux is the compiled SELinux policy (CompileSELinuxPolicy) that
	// PID 1 loads; empty builds an appliance without one.
	SELinux string
	// OutDir receives vmlinuz and initramfs.img.
	OutDir string
	// Log receives progress and the sizes of what was written.
	Log io.Writer
}

// Result names what Build wrote.
type Result struct {
	Release       string
	Kernel        string
	Initramfs     string
	KernelSize    int64
	InitramfsSize int64
}

//go:embed files/index.html
var welcomePage []byte

// berthApplets are the commands berth itself provides on the console; the
// busybox applets of the same names are left out.
var berthApplets = []string{"init", "poweroff", "reboot", "halt", "linuxrc", "getenforce", "setenforce"}

// Build writes the kernel and initramfs into opts.OutDir.
func Build(opts Options) (Result, error) {
	var res Result
	if !opts.SkipConfigCheck {
		if _, err := config.Load(opts.Config); err != nil {
			return res, fmt.Errorf("image: the config does not validate; fix it first:\n%w", err)
		}
	}
	kernel, release, err := findKernel(opts.KernelRoot)
	if err != nil {
		return res, err
	}
	res.Release = release

	a := NewArchive()
	if err := addBase(a, opts); err != nil {
		return res, err
	}
	if err := addBusybox(a, opts.Busybox); err != nil {
		return res, err
	}
	if err := addProgram(a, "/sbin/mke2fs", opts.Mke2fs); err != nil {
		return res, err
	}
	a.Symlink("/sbin/mkfs.ext4", "mke2fs")
	if opts.Init != "" {
		if err := a.HostFile(hostpath.InitBinary, opts.Init); err != nil {
			return res, fmt.Errorf("image: the init of --init: %w", err)
		}
	}
	if _, err := os.Stat("/etc/mke2fs.conf"); err == nil {
		if err := a.HostFile("/etc/mke2fs.conf", "/etc/mke2fs.conf"); err != nil {
			return res, err
		}
	}
	flavour := opts.Kernel
	if flavour == "" {
		flavour = config.KernelCloud
	}
	mods, err := addModules(a, filepath.Join(opts.KernelRoot, "lib/modules", release), flavour)
	if err != nil {
		return res, err
	}
	if opts.SELinux != "" {
		if err := addSELinux(a, opts.SELinux); err != nil {
			return res, err
		}
	}
	for _, img := range opts.Images {
		if err := a.HostFile(filepath.Join(hostpath.BundledImages, filepath.Base(img)), img); err != nil {
			return res, err
		}
		// Its digest goes along, so that the host tells a changed image
		// from one it loaded before without reading it at every boot.
		sum, err := imagestore.FileDigest(img)
		if err != nil {
			return res, err
		}
		a.File(filepath.Join(hostpath.BundledImages, filepath.Base(img))+".sha256", 0o644, []byte(sum+"\n"))
	}
	for dst, src := range opts.Programs {
		if err := addProgram(a, dst, src); err != nil {
			return res, err
		}
	}
	for dst, src := range opts.ExtraFiles {
		if err := a.HostFile(dst, src); err != nil {
			return res, err
		}
	}

	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return res, fmt.Errorf("image: %w", err)
	}
	res.Kernel = filepath.Join(opts.OutDir, "vmlinuz")
	if res.KernelSize, err = copyFile(res.Kernel, kernel); err != nil {
		return res, err
	}
	var buf bytes.Buffer
	if _, err := a.WriteTo(&buf); err != nil {
		return res, err
	}
	res.Initramfs = filepath.Join(opts.OutDir, "initramfs.img")
	if err := writeFileAtomic(res.Initramfs, buf.Bytes()); err != nil {
		return res, err
	}
	res.InitramfsSize = int64(buf.Len())
	if opts.Log != nil {
		fmt.Fprintf(opts.Log, "kernel     %s  %6.1f MiB  (linux %s)\n", res.Kernel, mib(res.KernelSize), release)
		fmt.Fprintf(opts.Log, "initramfs  %s  %6.1f MiB  (config %s)\n", res.Initramfs, mib(res.InitramfsSize), opts.Config)
		fmt.Fprintf(opts.Log, "drivers    %s kernel: %s (%d modules with their dependencies); firmware: none\n",
			flavour, strings.Join(Drivers[flavour], " "), len(mods))
	}
	return res, nil
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// findKernel returns the kernel image and its release in an unpacked
// linux-image package.
func findKernel(root string) (kernel, release string, err error) {
	matches, _ := filepath.Glob(filepath.Join(root, "boot/vmlinuz-*"))
	if len(matches) != 1 {
		return "", "", fmt.Errorf("image: want one boot/vmlinuz-* in %s, found %d; run make deps", root, len(matches))
	}
	release = strings.TrimPrefix(filepath.Base(matches[0]), "vmlinuz-")
	if _, err := os.Stat(filepath.Join(root, "lib/modules", release)); err != nil {
		return "", "", fmt.Errorf("image: modules of kernel %s missing: %w; run make deps", release, err)
	}
	return matches[0], release, nil
}

// addBase adds the berth binary, the directory skeleton, device nodes the
// kernel needs before devtmpfs is mounted, and the config.
func addBase(a *Archive, opts Options) error {
	if err := a.HostFile("/bin/berth", opts.Berth); err != nil {
		return err
	}
	a.Symlink("/init", "bin/berth")
	for _, name := range []string{"poweroff", "reboot", "halt", "getenforce", "setenforce"} {
		a.Symlink("/sbin/"+name, "../bin/berth")
	}
	for _, d := range []string{"/dev", "/proc", "/sys", "/run", "/tmp", "/root", "/mnt", hostpath.State, filepath.Dir(hostpath.ApplianceConfig)} {
		a.Dir(d, 0o755)
	}
	a.Dir("/tmp", 0o1777)
	a.CharDev("/dev/console", 0o600, 5, 1)
	a.CharDev("/dev/null", 0o666, 1, 3)
	a.Symlink("/var/run", "../run")
	a.File("/etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"))
	a.File("/etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n"))
	a.File("/etc/profile", 0o644, []byte(profile))
	if err := a.HostFile(hostpath.ApplianceConfig, opts.Config); err != nil {
		return err
	}
	a.File("/etc/os-release", 0o644, []byte("NAME=berth\nID=berth\nPRETTY_NAME=\"berth appliance\"\n"))
	a.Dir(hostpath.Share, 0o755)
	a.Dir("/usr/local", 0o755)
	a.Dir("/usr/local/bin", 0o755)
	a.Dir(hostpath.Welcome, 0o755)
	a.File(hostpath.Welcome+"/index.html", 0o644, welcomePage)
	return nil
}

// profile makes docker berth's CLI, until the user brings Docker's own
// to /usr/local/bin.
const profile = `export PATH=/usr/local/bin:/bin:/sbin:/usr/bin:/usr/sbin
export HOME=/root
export PS1='\h:\w# '
docker() { if [ -x /usr/local/bin/docker ]; then /usr/local/bin/docker "$@"; else berth "$@"; fi; }
`

// addBusybox adds busybox and a link for each of its applets, at the paths
// busybox itself lists, except the ones berth provides.
func addBusybox(a *Archive, busybox string) error {
	if err := a.HostFile("/bin/busybox", busybox); err != nil {
		return err
	}
	out, err := exec.Command(busybox, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("image: list busybox applets with %s --list-full: %w", busybox, err)
	}
	skip := map[string]bool{}
	for _, n := range berthApplets {
		skip[n] = true
	}
	for _, p := range strings.Fields(string(out)) {
		if skip[filepath.Base(p)] || a.Has(p) {
			continue
		}
		a.Symlink(p, "/bin/busybox")
	}
	return nil
}

// addProgram adds a dynamically linked program with its loader and
// libraries, each at the path the program looks for it.
func addProgram(a *Archive, name, src string) error {
	if err := a.HostFile(name, src); err != nil {
		return err
	}
	libs, err := SharedLibraries(src)
	if err != nil {
		return err
	}
	for _, lib := range libs {
		if err := a.HostFile(lib, lib); err != nil {
			return err
		}
	}
	return nil
}

// addModules adds CoreModules and the flavour's Drivers with their
// dependencies, a modules.dep and modules.alias for them, and
// berth.modules: the core modules to load at every boot, in order. It
// returns what it carries.
func addModules(a *Archive, dir, flavour string) ([]Module, error) {
	tree, err := ReadModuleTree(dir)
	if err != nil {
		return nil, err
	}
	drivers, ok := Drivers[flavour]
	if !ok {
		return nil, fmt.Errorf("image: no kernel flavour %q (cloud or generic)", flavour)
	}
	mods, err := tree.Closure(append(slices.Clone(CoreModules), drivers...))
	if err != nil {
		return nil, err
	}
	dst := filepath.Join(hostpath.Modules, filepath.Base(dir))
	for _, m := range mods {
		if err := a.HostFile(filepath.Join(dst, m.Path), filepath.Join(dir, m.Path)); err != nil {
			return nil, err
		}
	}
	a.File(filepath.Join(dst, "modules.dep"), 0o644, tree.ModulesDep(mods))
	a.File(filepath.Join(dst, "modules.alias"), 0o644, ModulesAlias(mods))
	if b, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil {
		a.File(filepath.Join(dst, "modules.builtin"), 0o644, b)
	}
	a.File(filepath.Join(dst, "berth.modules"), 0o644, []byte(strings.Join(CoreModules, "\n")+"\n"))
	return mods, nil
}

func copyFile(dst, src string) (int64, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return 0, fmt.Errorf("image: %w", err)
	}
	return int64(len(b)), writeFileAtomic(dst, b)
}

// writeFileAtomic writes via a temporary file and a rename, so a build that
// fails half way never leaves a truncated image behind.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("image: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("image: write %s: %w", path, err)
	}
	return nil
}

// KernelDir is where make deps unpacks the kernel of a flavour under
// build: build/kernel for cloud, build/kernel-generic for generic.
func KernelDir(build, flavour string) string {
	if flavour == config.KernelGeneric {
		return filepath.Join(build, "kernel-generic")
	}
	return filepath.Join(build, "kernel")
}
