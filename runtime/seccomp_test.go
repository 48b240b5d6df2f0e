package runtime

import (
	"encoding/binary"
	"testing"

	"github.com/elastic/go-seccomp-bpf/arch"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// runFilter runs a compiled filter as the kernel would on one system call
// and returns what it answers.
func runFilter(t *testing.T, prog []unix.SockFilter, auditArch uint32, nr uint32, args ...uint64) uint32 {
	t.Helper()
	data := make([]byte, 64)
	binary.LittleEndian.PutUint32(data[offNr:], nr)
	binary.LittleEndian.PutUint32(data[offArch:], auditArch)
	for i, a := range args {
		binary.LittleEndian.PutUint64(data[offArgs+8*i:], a)
	}
	var acc uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
		case opLdAbs:
			acc = binary.LittleEndian.Uint32(data[in.K:])
		case opAnd:
			acc &= in.K
		case opRet:
			return in.K
		case opJa:
			pc += int(in.K)
		case opJeq, opJgt, opJge, opJset:
			var ok bool
			switch in.Code {
			case opJeq:
				ok = acc == in.K
			case opJgt:
				ok = acc > in.K
			case opJge:
				ok = acc >= in.K
			case opJset:
				ok = acc&in.K != 0
			}
			if ok {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		default:
			t.Fatalf("instruction %d: unknown code %#x", pc, in.Code)
		}
	}
	t.Fatal("the filter ran off its end")
	return 0
}

const (
	allow  = unix.SECCOMP_RET_ALLOW
	eperm  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
	enosys = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	x86_64 = uint32(0xc000003e)
	i386   = uint32(0x40000003)
)

func TestDefaultProfileCompiles(t *testing.T) {
	nr := func(a *arch.Info, name string) uint32 {
		n, ok := a.SyscallNames[name]
		if !ok {
			t.Fatalf("no %s in the %s table", name, a.Name)
		}
		return uint32(n | a.SeccompMask)
	}
	p, err := SeccompProfile("", DefaultCaps)
	if err != nil {
		t.Fatal(err)
	}
	prog, _, err := CompileSeccomp(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Docker's default profile: %d BPF instructions", len(prog))
	newUser := uint64(unix.CLONE_NEWUSER | uint64(unix.SIGCHLD))
	for _, tc := range []struct {
		what string
		arch uint32
		nr   uint32
		args []uint64
		want uint32
	}{
		{"read", x86_64, nr(arch.X86_64, "read"), nil, allow},
		{"keyctl", x86_64, nr(arch.X86_64, "keyctl"), nil, eperm},
		{"add_key", x86_64, nr(arch.X86_64, "add_key"), nil, eperm},
		{"io_uring_setup", x86_64, nr(arch.X86_64, "io_uring_setup"), nil, eperm},
		{"userfaultfd", x86_64, nr(arch.X86_64, "userfaultfd"), nil, eperm},
		{"unshare(CLONE_NEWUSER)", x86_64, nr(arch.X86_64, "unshare"), []uint64{unix.CLONE_NEWUSER}, eperm},
		{"mount", x86_64, nr(arch.X86_64, "mount"), nil, eperm},
		{"clone(SIGCHLD)", x86_64, nr(arch.X86_64, "clone"), []uint64{uint64(unix.SIGCHLD)}, allow},
		{"clone(CLONE_NEWUSER)", x86_64, nr(arch.X86_64, "clone"), []uint64{newUser}, eperm},
		{"clone(CLONE_NEWNET)", x86_64, nr(arch.X86_64, "clone"), []uint64{unix.CLONE_NEWNET}, eperm},
		{"clone with high bits and no namespace", x86_64, nr(arch.X86_64, "clone"), []uint64{1<<40 | uint64(unix.SIGCHLD)}, allow},
		{"clone3", x86_64, nr(arch.X86_64, "clone3"), nil, enosys},
		{"personality(PER_LINUX)", x86_64, nr(arch.X86_64, "personality"), []uint64{0}, allow},
		{"personality(0xffffffff)", x86_64, nr(arch.X86_64, "personality"), []uint64{0xffffffff}, allow},
		{"personality(READ_IMPLIES_EXEC)", x86_64, nr(arch.X86_64, "personality"), []uint64{0x0400000}, eperm},
		{"socket(AF_INET)", x86_64, nr(arch.X86_64, "socket"), []uint64{unix.AF_INET}, allow},
		{"socket(AF_NETLINK)", x86_64, nr(arch.X86_64, "socket"), []uint64{unix.AF_NETLINK}, allow},
		{"socket(AF_VSOCK)", x86_64, nr(arch.X86_64, "socket"), []uint64{unix.AF_VSOCK}, eperm},
		{"socket(AF_ALG)", x86_64, nr(arch.X86_64, "socket"), []uint64{unix.AF_ALG}, eperm},
		{"a system call newer than the profile", x86_64, 999, nil, enosys},
		{"x32 read", x86_64, nr(arch.X32, "read"), nil, allow},
		{"x32 keyctl", x86_64, nr(arch.X32, "keyctl"), nil, eperm},
		{"i386 read", i386, nr(arch.I386, "read"), nil, allow},
		{"i386 keyctl", i386, nr(arch.I386, "keyctl"), nil, eperm},
		{"i386 personality(8)", i386, nr(arch.I386, "personality"), []uint64{8}, allow},
		{"aarch64", 0xc00000b7, 63, nil, unix.SECCOMP_RET_KILL_PROCESS},
	} {
		if got := runFilter(t, prog, tc.arch, tc.nr, tc.args...); got != tc.want {
			t.Errorf("%s: filter answers %#x, want %#x", tc.what, got, tc.want)
		}
	}

	// CAP_SYS_ADMIN opens the namespace calls, as in Docker.
	p, err = SeccompProfile("", append([]string{"SYS_ADMIN"}, DefaultCaps...))
	if err != nil {
		t.Fatal(err)
	}
	prog, _, err = CompileSeccomp(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := runFilter(t, prog, x86_64, nr(arch.X86_64, "unshare"), unix.CLONE_NEWUSER); got != allow {
		t.Errorf("unshare with CAP_SYS_ADMIN: %#x", got)
	}
	if got := runFilter(t, prog, x86_64, nr(arch.X86_64, "clone"), newUser); got != allow {
		t.Errorf("clone(CLONE_NEWUSER) with CAP_SYS_ADMIN: %#x", got)
	}
}

// TestArgumentOperators checks each comparison against values on both
// sides of it, above and below 32 bits.
func TestArgumentOperators(t *testing.T) {
	values := []uint64{0, 1, 41, 42, 43, 1 << 32, 1<<32 + 42, 1<<33 + 41, 1<<33 + 43, ^uint64(0)}
	for _, op := range []struct {
		op   specs.LinuxSeccompOperator
		want func(x, v uint64) bool
	}{
		{specs.OpEqualTo, func(x, v uint64) bool { return x == v }},
		{specs.OpNotEqual, func(x, v uint64) bool { return x != v }},
		{specs.OpLessThan, func(x, v uint64) bool { return x < v }},
		{specs.OpLessEqual, func(x, v uint64) bool { return x <= v }},
		{specs.OpGreaterThan, func(x, v uint64) bool { return x > v }},
		{specs.OpGreaterEqual, func(x, v uint64) bool { return x >= v }},
	} {
		for _, v := range []uint64{42, 1<<33 + 42} {
			p := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchX86_64},
				Syscalls: []specs.LinuxSyscall{{Names: []string{"write"}, Action: specs.ActAllow,
					Args: []specs.LinuxSeccompArg{{Index: 2, Value: v, Op: op.op}}}}}
			prog, _, err := CompileSeccomp(p)
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range values {
				want := uint32(eperm)
				if op.want(x, v) {
					want = allow
				}
				if got := runFilter(t, prog, x86_64, 1, 0, 0, x); got != want {
					t.Errorf("%s %d with argument %d: %#x, want %#x", op.op, v, x, got, want)
				}
			}
		}
	}
	masked := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"write"},
		Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0xf0, ValueTwo: 0x30, Op: specs.OpMaskedEqual}}}}}
	prog, _, err := CompileSeccomp(masked)
	if err != nil {
		t.Fatal(err)
	}
	for x, want := range map[uint64]uint32{0x30: allow, 0x3f: allow, 0x70: eperm, 1<<40 | 0x31: allow, 0: eperm} {
		if got := runFilter(t, prog, x86_64, 1, x); got != want {
			t.Errorf("masked %#x: %#x, want %#x", x, got, want)
		}
	}
}

func TestSeccompRefusesWhatItCannotDo(t *testing.T) {
	for _, p := range []*specs.LinuxSeccomp{
		{DefaultAction: specs.ActNotify},
		{DefaultAction: specs.ActErrno, ListenerPath: "/run/x.sock"},
		{DefaultAction: "SCMP_ACT_MAYBE"},
		{DefaultAction: specs.ActErrno, Flags: []specs.LinuxSeccompFlag{"SECCOMP_FILTER_FLAG_NEW"}},
		{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}}}},
		{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 0, Op: "SCMP_CMP_SOMETIMES"}}}}},
	} {
		if _, _, err := CompileSeccomp(p); err == nil {
			t.Errorf("%+v compiled", p)
		}
	}
	if _, err := SeccompProfile(`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_SOMETIMES"}]}`, DefaultCaps); err == nil {
		t.Errorf("a profile with an unknown action was accepted")
	}
	if _, err := SeccompProfile(`{not json`, DefaultCaps); err == nil {
		t.Errorf("a profile that is not JSON was accepted")
	}
}
