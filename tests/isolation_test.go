//go:build appliance

package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth/qemu"
)

// probeBinary builds tests/probe, the static program the isolation tests
// run inside containers to make the system calls a shell cannot.
func probeBinary(t testing.TB) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "probe")
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, "./probe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the probe: %v\n%s", err, b)
	}
	return out
}

// TestIsolation boots one guest and tries, from default containers as
// root, everything a container must not do to its host: each attempt is
// refused. --privileged, --device, --security-opt and --network do what
// Docker's do, and the engine holds up against a container's output and
// a container that fills its disk.
func TestIsolation(t *testing.T) {
	parallel(t)
	initrd := buildImageWith(t, "testdata/isolation.toml", false, map[string]string{"/tests/probe": probeBinary(t)})
	disk := []qemu.Drive{{Path: sparseDisk(t, "state.img", 3<<30)}}
	vm := boot(t, initrd, `berth: ready`, qemu.Options{Drives: disk})
	// Every container gets the probe, read-only.
	const runProbe = "berth run --rm -v /tests:/probe:ro,z busybox "

	t.Run("the host's disk cannot be opened", func(t *testing.T) {
		dev := strings.TrimSpace(run(t, vm, "cat /sys/block/vda/dev"))
		major, minor, _ := strings.Cut(dev, ":")
		// SELinux refuses the node itself; without it (label=disable) the
		// node is made, and the device filter refuses to open it.
		read := "sh -c 'mknod /dev/disk b " + major + " " + minor + " && echo made; dd if=/dev/disk bs=512 count=1 of=/dev/null'"
		out, code, err := vm.Run(runProbe+read, cmdTimeout)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "made") || !strings.Contains(out, "Operation not permitted") || code == 0 {
			t.Errorf("making the host's disk %s in a container: status %d\n%s", dev, code, out)
		}
		out, code, err = vm.Run("berth run --rm --security-opt label=disable busybox "+read, cmdTimeout)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "made") || !strings.Contains(out, "Operation not permitted") || code == 0 {
			t.Errorf("reading the host's disk %s from a container without SELinux: status %d\n%s", dev, code, out)
		}
	})

	t.Run("guarded system calls are refused", func(t *testing.T) {
		out := run(t, vm, runProbe+"/probe/probe syscalls")
		for _, refused := range []string{"add_key", "keyctl", "io_uring_setup", "userfaultfd", "unshare(CLONE_NEWUSER)",
			"unshare(CLONE_NEWNS)", "personality(READ_IMPLIES_EXEC)", "socket(AF_VSOCK)", "mount(tmpfs)", "bpf"} {
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(refused) + `: operation not permitted$`).MatchString(out) {
				t.Errorf("%s was not refused with EPERM:\n%s", refused, out)
			}
		}
		for _, allowed := range []string{"personality(PER_LINUX)", "socket(AF_INET)"} {
			if !strings.Contains(out, allowed+": allowed") {
				t.Errorf("%s was refused:\n%s", allowed, out)
			}
		}
	})

	t.Run("shell-level escapes fail", func(t *testing.T) {
		out, _, err := vm.Run(runProbe+`sh -c 'unshare -U true; echo unshare=$?; mount -t tmpfs none /mnt; echo mount=$?;
			echo 1 > /proc/sys/kernel/panic; echo procsys=$?; echo b > /proc/sysrq-trigger; echo sysrq=$?;
			touch /sys/kernel/x; echo sys=$?; echo kcore=$(wc -c < /proc/kcore); echo interrupts=$(wc -c < /proc/interrupts);
			echo timer=$(wc -c < /proc/timer_list); grep -E "^(Seccomp|NoNewPrivs|CapInh|CapAmb|CapBnd|CapEff):" /proc/self/status'`, cmdTimeout)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"unshare=1", "mount=1", "procsys=1", "sysrq=1", "sys=1", "kcore=0", "interrupts=0", "timer=0",
			"Seccomp:\t2", "NoNewPrivs:\t1", "CapInh:\t0000000000000000", "CapAmb:\t0000000000000000",
			"CapBnd:\t00000000a80425fb", "CapEff:\t00000000a80425fb"} {
			if !strings.Contains(out, want) {
				t.Errorf("lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("exec is confined as the first process is", func(t *testing.T) {
		run(t, vm, "berth run -d --name held -v /tests:/probe:ro,z busybox sleep 1d")
		out := run(t, vm, "berth exec held grep -E '^(Seccomp|CapInh|CapEff|NoNewPrivs):' /proc/self/status")
		for _, want := range []string{"Seccomp:\t2", "CapInh:\t0000000000000000", "CapEff:\t00000000a80425fb", "NoNewPrivs:\t1"} {
			if !strings.Contains(out, want) {
				t.Errorf("exec lacks %q:\n%s", want, out)
			}
		}
		if out := run(t, vm, "berth exec held /probe/probe syscalls"); !strings.Contains(out, "unshare(CLONE_NEWUSER): operation not permitted") {
			t.Errorf("exec: %s", out)
		}
		// While execs come and go, nothing with more than a container's
		// capabilities ever shows in the container: the exec helper
		// joins the PID namespace last.
		run(t, vm, "berth exec -d held sh -c '/probe/probe watch-caps /tmp/stop-watching > /tmp/watch 2>&1'")
		eventually(t, vm, "berth exec held cat /tmp/watch", 60*time.Second, func(s string) bool { return strings.Contains(s, "watching") })
		for i := 0; i < 8; i++ {
			run(t, vm, "berth exec held true")
		}
		watch := eventually(t, vm, "berth exec held sh -c 'touch /tmp/stop-watching; cat /tmp/watch'", 60*time.Second, func(s string) bool { return strings.Contains(s, "watched") })
		if strings.Contains(watch, "has capabilities") {
			t.Errorf("a process with the host's capabilities showed in the container:\n%s", watch)
		}
		// A script run by berth's own binary does nothing of berth's: SELinux
		// lets no container_t process run the sealed copy (it dies as the
		// exec maps it); without a label, berth's binary refuses.
		run(t, vm, `berth exec held sh -c 'printf "#!/proc/self/exe\n" > /x.sh; chmod +x /x.sh'`)
		run(t, vm, "berth run -d --name unlabelled --security-opt label=disable busybox sleep 1d")
		run(t, vm, `berth exec unlabelled sh -c 'printf "#!/proc/self/exe\n" > /x.sh; chmod +x /x.sh'`)
		for _, c := range []struct{ run, want string }{
			{"berth exec held /x.sh", ""},
			{"berth exec unlabelled /x.sh", "does nothing there"},
		} {
			out, code, err := vm.Run(c.run, cmdTimeout)
			if err != nil {
				t.Fatal(err)
			}
			if (code != 126 && code < 128) || !strings.Contains(out, c.want) || strings.Contains(out, "Usage: berth") {
				t.Errorf("%s: status %d\n%s", c.run, code, out)
			}
		}
		run(t, vm, "berth rm -f unlabelled")
		// No descriptor of the engine's reaches a container's processes:
		// ls sees its stdio and the directory it reads.
		if fds := strings.TrimSpace(run(t, vm, "berth exec held ls /proc/self/fd | tr '\\n' ' '")); fds != "0 1 2 3" {
			t.Errorf("exec's descriptors: %q, want 0 1 2 3", fds)
		}
		pid := strings.TrimSpace(run(t, vm, "berth inspect -f '{{.State.Pid}}' held"))
		if fds := run(t, vm, "ls /proc/"+pid+"/fd | tr '\\n' ' '"); strings.TrimSpace(fds) != "0 1 2" {
			t.Errorf("the first process holds descriptors %q", fds)
		}
	})

	t.Run("the host is shielded from the OOM killer, containers are not", func(t *testing.T) {
		enginePid := strings.TrimSpace(run(t, vm, "cat /run/berth/engine.pid"))
		pid := strings.TrimSpace(run(t, vm, "berth inspect -f '{{.State.Pid}}' held"))
		for what, want := range map[string]string{"/proc/1": "-999", "/proc/" + enginePid: "-999", "/proc/" + pid: "0", "/proc/$$": "0"} {
			if got := strings.TrimSpace(run(t, vm, "cat "+what+"/oom_score_adj")); got != want {
				t.Errorf("%s/oom_score_adj = %s, want %s", what, got, want)
			}
		}
		if got := strings.TrimSpace(run(t, vm, "berth exec held cat /proc/self/oom_score_adj")); got != "0" {
			t.Errorf("exec's oom_score_adj = %s", got)
		}
		// All containers together keep the host's reserve (128 MiB).
		max, _ := strconv.ParseInt(strings.TrimSpace(run(t, vm, "cat /sys/fs/cgroup/berth/memory.max")), 10, 64)
		total, _ := strconv.ParseInt(strings.Fields(run(t, vm, "grep MemTotal /proc/meminfo"))[1], 10, 64)
		if max <= 0 || total*1024-max != 128<<20 {
			t.Errorf("the containers' memory.max is %d of %d kB", max, total)
		}
	})

	t.Run("no engine descriptor leaks while it builds and loads", func(t *testing.T) {
		// A build that sends a large context and a load that unpacks a
		// layer run while containers and execs start.
		run(t, vm, "mkdir -p /tmp/ctx && head -c 16000000 /dev/urandom > /tmp/ctx/big && printf 'FROM busybox\\nCOPY big /big\\n' > /tmp/ctx/Dockerfile")
		run(t, vm, "berth save -o /tmp/bb.tar busybox")
		run(t, vm, "(berth build -t big /tmp/ctx > /tmp/build.log 2>&1 &) ; (berth load -i /tmp/bb.tar > /tmp/load.log 2>&1 &)")
		for i := 0; i < 4; i++ {
			if fds := strings.TrimSpace(run(t, vm, "berth run --rm busybox ls /proc/self/fd | tr '\\n' ' '")); fds != "0 1 2 3" {
				t.Errorf("run %d: descriptors %q, want 0 1 2 3", i, fds)
			}
			if fds := strings.TrimSpace(run(t, vm, "berth exec held ls /proc/self/fd | tr '\\n' ' '")); fds != "0 1 2 3" {
				t.Errorf("exec %d: descriptors %q, want 0 1 2 3", i, fds)
			}
		}
		eventually(t, vm, "cat /tmp/build.log", 3*time.Minute, func(s string) bool { return strings.Contains(s, "Successfully built") })
	})

	t.Run("privileged and devices", func(t *testing.T) {
		out := run(t, vm, `berth run --rm --privileged busybox sh -c 'grep -E "^(CapEff|Seccomp):" /proc/self/status; mkdir -p /mnt && mount -t tmpfs none /mnt && echo mounted; ls /dev/vda; echo 0 > /proc/sys/kernel/printk_ratelimit && echo procsys-writable'`)
		for _, want := range []string{"CapEff:\t000001ffffffffff", "Seccomp:\t0", "mounted", "/dev/vda", "procsys-writable"} {
			if !strings.Contains(out, want) {
				t.Errorf("--privileged lacks %q:\n%s", want, out)
			}
		}
		if out := run(t, vm, "berth run --rm --device /dev/vda:/dev/xvda:r busybox sh -c 'dd if=/dev/xvda bs=512 count=1 2>/dev/null | wc -c'"); strings.TrimSpace(out) != "512" {
			t.Errorf("--device /dev/vda:/dev/xvda:r: read %q", out)
		}
		if out, code, _ := vm.Run("berth run --rm --device /dev/vda:/dev/xvda:r busybox sh -c 'echo x | dd of=/dev/xvda'", cmdTimeout); code == 0 || !strings.Contains(out, "Operation not permitted") {
			t.Errorf("a read-only --device was written: status %d\n%s", code, out)
		}
		if _, code, _ := vm.Run("berth run --rm --device /dev/nonexistent busybox true", cmdTimeout); code != 125 {
			t.Errorf("a missing --device: status %d, want 125", code)
		}
	})

	t.Run("security options", func(t *testing.T) {
		out := run(t, vm, "berth run --rm --security-opt seccomp=unconfined busybox grep Seccomp: /proc/self/status")
		if !strings.Contains(out, "Seccomp:\t0") {
			t.Errorf("seccomp=unconfined: %s", out)
		}
		// A profile of one's own: Docker's form, denying mkdir.
		run(t, vm, `echo '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}' > /tmp/nomkdir.json`)
		out, _, _ = vm.Run("berth run --rm --security-opt seccomp=/tmp/nomkdir.json busybox sh -c 'mkdir /d; echo mkdir=$?'", cmdTimeout)
		if !strings.Contains(out, "mkdir=1") || !strings.Contains(out, "Operation not permitted") {
			t.Errorf("a profile denying mkdir: %s", out)
		}
		run(t, vm, "berth create --name opts --security-opt seccomp=unconfined --security-opt no-new-privileges=false busybox true")
		if got := run(t, vm, "berth inspect -f '{{.HostConfig.SecurityOpt}}' opts"); got != "[seccomp=unconfined no-new-privileges=false]" {
			t.Errorf("inspect SecurityOpt: %q", got)
		}
		run(t, vm, "berth rm opts")
		for _, bad := range []string{"--security-opt apparmor=docker-default", "--security-opt systempaths=unconfined",
			"--security-opt seccomp=/no/such.json", "--network container:held", "--log-driver syslog", "--log-opt compress=true"} {
			if out, code, _ := vm.Run("berth run --rm "+bad+" busybox true", cmdTimeout); code != 125 {
				t.Errorf("%s: status %d, want 125\n%s", bad, code, out)
			}
		}
		info := run(t, vm, "berth info")
		if !strings.Contains(info, "Security Options:\n seccomp\n  Profile: builtin\n") {
			t.Errorf("berth info:\n%s", info)
		}
	})

	t.Run("network none and host", func(t *testing.T) {
		out := run(t, vm, "berth run --rm --network none busybox ip -o link")
		if !strings.Contains(out, "lo:") || strings.Contains(out, "eth0") || !strings.Contains(out, "UP") {
			t.Errorf("--network none:\n%s", out)
		}
		out = run(t, vm, "berth run --rm --network host busybox sh -c 'ip -o link; hostname'")
		if !strings.Contains(out, "berth0") || !strings.Contains(out, "guest") {
			t.Errorf("--network host:\n%s", out)
		}
	})

	t.Run("the host's loopback cannot be reached through the bridge", func(t *testing.T) {
		// A container that could route to 127.0.0.0/8 through the bridge
		// (this one is privileged to set it up; a raw socket does as much)
		// reaches nothing: route_localnet is guarded.
		run(t, vm, "mkdir -p /tmp/lo && echo reached-host-loopback > /tmp/lo/index.html && httpd -p 127.0.0.2:9999 -h /tmp/lo")
		if out := run(t, vm, "timeout 5 wget -q -O - http://127.0.0.2:9999/"); out != "reached-host-loopback" {
			t.Errorf("the listener did not answer the host itself: %q", out)
		}
		out, _, _ := vm.Run(`berth run --rm --privileged busybox sh -c 'sysctl -w net.ipv4.conf.eth0.route_localnet=1 >/dev/null; ip route add 127.0.0.2/32 via 172.17.0.1 dev eth0 && timeout 5 wget -q -O - http://127.0.0.2:9999/; echo done'`, cmdTimeout)
		if strings.Contains(out, "reached-host-loopback") || !strings.Contains(out, "done") {
			t.Errorf("a container reached the host's 127.0.0.2:\n%s", out)
		}
	})

	t.Run("a flood of output without newlines", func(t *testing.T) {
		enginePid := strings.TrimSpace(run(t, vm, "cat /run/berth/engine.pid"))
		run(t, vm, "echo 5 > /proc/"+enginePid+"/clear_refs") // resets the peak resident size
		run(t, vm, "berth run -d --name flood --log-opt max-size=4m -v /tests:/probe:ro,z busybox /probe/probe write 100000000")
		if out, _, err := vm.Run("berth wait flood", 5*time.Minute); err != nil || out != "0" {
			t.Errorf("the flood ended with %q (%v)", out, err)
		}
		peak := run(t, vm, "grep VmHWM /proc/"+enginePid+"/status")
		kb, _ := strconv.Atoi(strings.Fields(peak)[1])
		t.Logf("engine peak resident size during 100 MB without a newline: %d kB", kb)
		if kb > 64<<10 {
			t.Errorf("the engine grew to %d kB", kb)
		}
		logs := run(t, vm, "ls -l /var/lib/berth/containers/$(berth inspect -f '{{.Id}}' flood)/")
		if n := strings.Count(logs, "-json.log"); n != 3 {
			t.Errorf("%d log files, want 3 (max-file's default):\n%s", n, logs)
		}
		if out := run(t, vm, "berth logs flood | wc -c"); strings.TrimSpace(out) == "0" {
			t.Errorf("logs of the rotated flood are empty")
		}
		run(t, vm, "berth rm flood")
	})

	t.Run("a container that fills its disk", func(t *testing.T) {
		out, _, err := vm.Run("berth run --name filler busybox sh -c 'dd if=/dev/zero of=/fill bs=1M; echo dd=$?'", 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "No space left on device") || !strings.Contains(out, "dd=1") {
			t.Errorf("filling the container's disk:\n%s", out)
		}
		if out := run(t, vm, "berth run --rm busybox echo still-here"); out != "still-here" {
			t.Errorf("after a container filled its disk: %q", out)
		}
		if out := run(t, vm, "berth exec held echo neighbour-fine"); out != "neighbour-fine" {
			t.Errorf("the neighbour: %q", out)
		}
		info := run(t, vm, "berth info")
		for _, want := range []string{"Data Space Available:", "Backing Filesystem Free:", "Pool Mode: rw"} {
			if !strings.Contains(info, want) {
				t.Errorf("berth info lacks %q:\n%s", want, info)
			}
		}
		run(t, vm, "berth rm filler")
	})

	run(t, vm, "berth rm -f held")
	if err := vm.Poweroff(30 * time.Second); err != nil {
		t.Fatal(err)
	}
}
