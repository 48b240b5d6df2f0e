package runtime

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/elastic/go-seccomp-bpf/arch"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// A seccomp profile (the OCI form of Docker's JSON profiles) is compiled
// here to a classic BPF program, in pure Go. The program the kernel runs
// for every system call of the container:
//
//	load arch
//	x86_64 → load nr; nr has the x32 bit → x32 section; else x86_64 section
//	i386   → load nr; i386 section
//	other  → kill the process
//
// A section is a chain of "nr == N → action" tests, one per system call the
// profile names for that ABI, in the profile's order. A call whose rules look
// at its arguments jumps to a block of its own after the chain: each rule's
// argument tests in turn (all must hold), its action when they do, and the
// default action when none holds. A call the chain does not name gets ENOSYS
// when its number is above every number the profile names (a system call
// newer than the profile, so that libc falls back, as runc does), else the
// default action.
//
// The syscall tables (names to numbers for x86_64, x32 and i386) come from
// github.com/elastic/go-seccomp-bpf/arch; names a table lacks are skipped,
// as libseccomp skips names an architecture does not have.

// ErrSeccomp is returned for a profile berth cannot compile.
var ErrSeccomp = errors.New("seccomp profile")

// seccomp_data field offsets.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16
)

// BPF opcodes used by the compiler.
const (
	opLdAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	opJeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	opJgt   = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K
	opJge   = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	opJset  = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
	opJa    = unix.BPF_JMP | unix.BPF_JA
	opAnd   = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K
	opRet   = unix.BPF_RET | unix.BPF_K
)

// abi is one system call ABI of an x86_64 kernel.
type abi struct {
	name  specs.Arch
	table *arch.Info
	wide  bool // 64-bit arguments
}

var (
	abiX86_64 = abi{specs.ArchX86_64, arch.X86_64, true}
	abiX32    = abi{specs.ArchX32, arch.X32, true}
	abiI386   = abi{specs.ArchX86, arch.I386, false}
)

// CompileSeccomp compiles p to a BPF program and the seccomp(2) flags it
// asks for. A nil profile compiles to nothing (unconfined).
func CompileSeccomp(p *specs.LinuxSeccomp) ([]unix.SockFilter, uint, error) {
	if p == nil {
		return nil, 0, nil
	}
	if p.ListenerPath != "" || p.DefaultAction == specs.ActNotify {
		return nil, 0, fmt.Errorf("%w: seccomp notification (listenerPath, SCMP_ACT_NOTIFY) is not supported", ErrSeccomp)
	}
	flags, err := seccompFlags(p.Flags)
	if err != nil {
		return nil, 0, err
	}
	errno := uint(unix.EPERM)
	if p.DefaultErrnoRet != nil {
		errno = *p.DefaultErrnoRet
	}
	def, err := seccompAction(p.DefaultAction, &errno)
	if err != nil {
		return nil, 0, err
	}
	want := map[specs.Arch]bool{}
	for _, a := range p.Architectures {
		want[a] = true
	}
	if len(want) == 0 {
		want[specs.ArchX86_64] = true
	}
	badArch := uint32(unix.SECCOMP_RET_KILL_PROCESS)
	var b bpfProgram
	x86_64, i386, x32 := b.newLabel(), b.newLabel(), b.newLabel()
	b.load(offArch)
	if want[specs.ArchX86_64] || want[specs.ArchX32] {
		b.jumpIfEqual(uint32(arch.X86_64.ID), x86_64)
	}
	if want[specs.ArchX86] {
		b.jumpIfEqual(uint32(arch.I386.ID), i386)
	}
	b.ret(badArch)

	// Each ABI's section, or the bad-arch answer for an ABI the profile
	// leaves out; the system call number is in the accumulator.
	section := func(a abi) error {
		if !want[a.name] {
			b.ret(badArch)
			return nil
		}
		return b.section(a, p, def)
	}
	b.mark(x86_64)
	b.load(offNr)
	b.emit(bpfInsn{code: opJset, k: uint32(arch.X32.SeccompMask), jf: 1}) // x32 bit set: next instruction
	b.jump(x32)
	if err := section(abiX86_64); err != nil {
		return nil, 0, err
	}
	b.mark(x32)
	if err := section(abiX32); err != nil {
		return nil, 0, err
	}
	b.mark(i386)
	b.load(offNr)
	if err := section(abiI386); err != nil {
		return nil, 0, err
	}
	prog, err := b.assemble()
	if err != nil {
		return nil, 0, err
	}
	if len(prog) > unix.BPF_MAXINSNS {
		return nil, 0, fmt.Errorf("%w: compiles to %d instructions, over the kernel's limit of %d", ErrSeccomp, len(prog), unix.BPF_MAXINSNS)
	}
	return prog, flags, nil
}

// syscallRule is one rule of a profile as it applies to one system call.
type syscallRule struct {
	args   []specs.LinuxSeccompArg
	action uint32
}

// section compiles the rules for one ABI; the system call number is in
// the accumulator.
func (b *bpfProgram) section(a abi, p *specs.LinuxSeccomp, def uint32) error {
	var order []uint32
	rules := map[uint32][]syscallRule{}
	highest := uint32(0)
	for i, sc := range p.Syscalls {
		action, err := seccompAction(sc.Action, sc.ErrnoRet)
		if err != nil {
			return fmt.Errorf("%w: rule %d (%v): %w", ErrSeccomp, i+1, sc.Names, err)
		}
		for _, arg := range sc.Args {
			if arg.Index > 5 {
				return fmt.Errorf("%w: rule %d (%v): argument index %d (0 to 5)", ErrSeccomp, i+1, sc.Names, arg.Index)
			}
			if _, ok := argOps[arg.Op]; !ok {
				return fmt.Errorf("%w: rule %d (%v): unknown operator %q", ErrSeccomp, i+1, sc.Names, arg.Op)
			}
		}
		for _, name := range sc.Names {
			n, ok := a.table.SyscallNames[name]
			if !ok {
				continue
			}
			nr := uint32(n | a.table.SeccompMask)
			if _, seen := rules[nr]; !seen {
				order = append(order, nr)
			}
			rules[nr] = append(rules[nr], syscallRule{args: sc.Args, action: action})
			highest = max(highest, nr)
		}
	}
	type block struct {
		label bpfLabel
		rules []syscallRule
	}
	var blocks []block
	for _, nr := range order {
		rs := rules[nr]
		if len(rs) == 1 && len(rs[0].args) == 0 {
			b.emit(bpfInsn{code: opJeq, k: nr, jf: 1})
			b.ret(rs[0].action)
			continue
		}
		l := b.newLabel()
		b.jumpIfEqual(nr, l)
		blocks = append(blocks, block{l, rs})
	}
	if highest > 0 {
		b.emit(bpfInsn{code: opJgt, k: highest, jf: 1})
		b.ret(unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS))
	}
	b.ret(def)
	for _, bl := range blocks {
		b.mark(bl.label)
		b.ruleBlock(a, bl.rules, def)
	}
	return nil
}

// ruleBlock tests the rules of one system call in order: conditional ones
// first, each its arguments; then the first unconditional one, or the
// default.
func (b *bpfProgram) ruleBlock(a abi, rules []syscallRule, def uint32) {
	final := def
	haveFinal := false
	for _, r := range rules {
		if len(r.args) == 0 {
			if !haveFinal {
				final, haveFinal = r.action, true
			}
			continue
		}
		next := b.newLabel()
		for _, arg := range r.args {
			b.argTest(a, arg, next)
		}
		b.ret(r.action)
		b.mark(next)
	}
	b.ret(final)
}

// argOps are the comparison operators of OCI profiles.
var argOps = map[specs.LinuxSeccompOperator]bool{specs.OpEqualTo: true, specs.OpNotEqual: true, specs.OpLessThan: true,
	specs.OpLessEqual: true, specs.OpGreaterThan: true, specs.OpGreaterEqual: true, specs.OpMaskedEqual: true}

// argTest falls through when argument arg holds and jumps to fail when it
// does not. Comparisons are unsigned over 64 bits (the high word first),
// over the low 32 bits for i386, as libseccomp's.
func (b *bpfProgram) argTest(a abi, arg specs.LinuxSeccompArg, fail bpfLabel) {
	lo, hi := offArgs+8*uint32(arg.Index), offArgs+8*uint32(arg.Index)+4
	vHi, vLo := uint32(arg.Value>>32), uint32(arg.Value)
	pass := b.newLabel()
	defer b.mark(pass)
	if arg.Op == specs.OpMaskedEqual {
		if a.wide {
			b.load(hi)
			b.emit(bpfInsn{code: opAnd, k: vHi})
			b.emit(bpfInsn{code: opJeq, k: uint32(arg.ValueTwo >> 32), jfl: fail})
		}
		b.load(lo)
		b.emit(bpfInsn{code: opAnd, k: vLo})
		b.emit(bpfInsn{code: opJeq, k: uint32(arg.ValueTwo), jfl: fail})
		return
	}
	if a.wide {
		b.load(hi)
		switch arg.Op {
		case specs.OpEqualTo:
			b.emit(bpfInsn{code: opJeq, k: vHi, jfl: fail})
		case specs.OpNotEqual:
			b.emit(bpfInsn{code: opJeq, k: vHi, jfl: pass})
		case specs.OpGreaterThan, specs.OpGreaterEqual:
			b.emit(bpfInsn{code: opJgt, k: vHi, jtl: pass})
			b.emit(bpfInsn{code: opJeq, k: vHi, jfl: fail})
		case specs.OpLessThan, specs.OpLessEqual:
			b.emit(bpfInsn{code: opJgt, k: vHi, jtl: fail})
			b.emit(bpfInsn{code: opJeq, k: vHi, jfl: pass})
		}
	}
	b.load(lo)
	switch arg.Op {
	case specs.OpEqualTo:
		b.emit(bpfInsn{code: opJeq, k: vLo, jfl: fail})
	case specs.OpNotEqual:
		b.emit(bpfInsn{code: opJeq, k: vLo, jtl: fail})
	case specs.OpGreaterThan:
		b.emit(bpfInsn{code: opJgt, k: vLo, jfl: fail})
	case specs.OpGreaterEqual:
		b.emit(bpfInsn{code: opJge, k: vLo, jfl: fail})
	case specs.OpLessThan:
		b.emit(bpfInsn{code: opJge, k: vLo, jtl: fail})
	case specs.OpLessEqual:
		b.emit(bpfInsn{code: opJgt, k: vLo, jtl: fail})
	}
}

// seccompAction is the filter's return value for an action; errno is the
// errno of SCMP_ACT_ERRNO and the message of SCMP_ACT_TRACE (EPERM when
// nil).
func seccompAction(a specs.LinuxSeccompAction, errno *uint) (uint32, error) {
	data := uint32(unix.EPERM)
	if errno != nil {
		data = uint32(*errno) & unix.SECCOMP_RET_DATA
	}
	switch a {
	case specs.ActAllow:
		return unix.SECCOMP_RET_ALLOW, nil
	case specs.ActErrno:
		return unix.SECCOMP_RET_ERRNO | data, nil
	case specs.ActKill, specs.ActKillThread:
		return unix.SECCOMP_RET_KILL_THREAD, nil
	case specs.ActKillProcess:
		return unix.SECCOMP_RET_KILL_PROCESS, nil
	case specs.ActTrap:
		return unix.SECCOMP_RET_TRAP, nil
	case specs.ActTrace:
		return unix.SECCOMP_RET_TRACE | data, nil
	case specs.ActLog:
		return unix.SECCOMP_RET_LOG, nil
	case specs.ActNotify:
		return 0, fmt.Errorf("%w: SCMP_ACT_NOTIFY is not supported", ErrSeccomp)
	}
	return 0, fmt.Errorf("%w: unknown action %q", ErrSeccomp, a)
}

func seccompFlags(fs []specs.LinuxSeccompFlag) (uint, error) {
	var flags uint
	for _, f := range fs {
		switch f {
		case specs.LinuxSeccompFlagLog:
			flags |= unix.SECCOMP_FILTER_FLAG_LOG
		case specs.LinuxSeccompFlagSpecAllow:
			flags |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
		default:
			return 0, fmt.Errorf("%w: flag %q is not supported", ErrSeccomp, f)
		}
	}
	return flags, nil
}

// loadSeccomp installs prog on the calling thread. Without no_new_privs
// it needs CAP_SYS_ADMIN.
func loadSeccomp(prog []unix.SockFilter, flags uint) error {
	if len(prog) == 0 {
		return nil
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if _, _, e := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(flags), uintptr(unsafe.Pointer(&fprog))); e != 0 {
		return fmt.Errorf("install the seccomp filter: %w", e)
	}
	return nil
}

// bpfLabel names a place in a program being assembled; 0 is none.
type bpfLabel int

// bpfInsn is an instruction whose jumps may name labels: jtl and jfl for
// a conditional jump's targets (else jt and jf are plain offsets), ja for
// an unconditional jump.
type bpfInsn struct {
	code     uint16
	k        uint32
	jt, jf   uint8
	jtl, jfl bpfLabel
	ja       bpfLabel
}

// bpfProgram assembles a classic BPF program with labels.
type bpfProgram struct {
	insns  []bpfInsn
	labels []int // position of each label, -1 until marked; index 0 unused
}

func (b *bpfProgram) newLabel() bpfLabel {
	if len(b.labels) == 0 {
		b.labels = []int{-1}
	}
	b.labels = append(b.labels, -1)
	return bpfLabel(len(b.labels) - 1)
}

func (b *bpfProgram) mark(l bpfLabel) { b.labels[l] = len(b.insns) }
func (b *bpfProgram) emit(i bpfInsn)  { b.insns = append(b.insns, i) }
func (b *bpfProgram) load(off uint32) { b.emit(bpfInsn{code: opLdAbs, k: off}) }
func (b *bpfProgram) ret(v uint32)    { b.emit(bpfInsn{code: opRet, k: v}) }
func (b *bpfProgram) jump(l bpfLabel) { b.emit(bpfInsn{code: opJa, ja: l}) }
func (b *bpfProgram) jumpIfEqual(k uint32, l bpfLabel) {
	// A conditional jump reaches 255 instructions at most: test, then
	// jump as far as need be.
	b.emit(bpfInsn{code: opJeq, k: k, jf: 1})
	b.jump(l)
}

// assemble resolves the labels.
func (b *bpfProgram) assemble() ([]unix.SockFilter, error) {
	out := make([]unix.SockFilter, len(b.insns))
	for i, in := range b.insns {
		offset := func(l bpfLabel) (int, error) {
			if int(l) >= len(b.labels) || b.labels[l] < 0 {
				return 0, fmt.Errorf("%w: internal error: label %d not placed", ErrSeccomp, l)
			}
			d := b.labels[l] - (i + 1)
			if d < 0 {
				return 0, fmt.Errorf("%w: internal error: backward jump", ErrSeccomp)
			}
			return d, nil
		}
		f := unix.SockFilter{Code: in.code, K: in.k, Jt: in.jt, Jf: in.jf}
		for _, t := range []struct {
			l   bpfLabel
			set func(int) error
		}{
			{in.jtl, func(d int) error { f.Jt = uint8(d); return farJump(d) }},
			{in.jfl, func(d int) error { f.Jf = uint8(d); return farJump(d) }},
			{in.ja, func(d int) error { f.K = uint32(d); return nil }},
		} {
			if t.l == 0 {
				continue
			}
			d, err := offset(t.l)
			if err == nil {
				err = t.set(d)
			}
			if err != nil {
				return nil, err
			}
		}
		out[i] = f
	}
	return out, nil
}

func farJump(d int) error {
	if d > 255 {
		return fmt.Errorf("%w: a rule's argument tests span %d instructions, more than a conditional jump reaches", ErrSeccomp, d)
	}
	return nil
}
