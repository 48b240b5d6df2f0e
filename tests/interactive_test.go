//go:build appliance

package tests

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"berth/qemu"
)

// expect waits for pattern on the console or fails the test.
func expect(t *testing.T, vm *qemu.VM, pattern string) {
	t.Helper()
	if _, err := vm.Expect(pattern, cmdTimeout); err != nil {
		t.Fatalf("%v\nconsole tail:\n%s", err, tail(vm.Log(), 1500))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// statusAfter waits for the console's shell to prompt again, then reads
// the exit status of the command that ended. Typed earlier, the line
// would go to the container.
func statusAfter(t *testing.T, vm *qemu.VM, want int) {
	t.Helper()
	expect(t, vm, `from-drive:~# `)
	vm.Send("echo status=$?=\n")
	m, err := vm.Expect(`status=(\d+)=`, cmdTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if m[1] != fmt.Sprint(want) {
		t.Errorf("exit status %s, want %d", m[1], want)
	}
}

// interactiveSession covers what needs the console's terminal or a
// stream both ways: run -i -t, detaching and attach, exec in all its
// forms, stdin with run -i and start -a -i, link variables, and an engine
// that crashes and re-adopts the containers that still run. It runs in
// TestDockerWorkflow's guest (a boot costs seconds of emulation), last:
// it leaves the engine restarted.
func interactiveSession(t *testing.T, vm *qemu.VM) {
	run(t, vm, "mkdir -p /var/lib/berth/www && echo page > /var/lib/berth/www/index.html")
	run(t, vm, "berth run -d -p 8080:8000 --name web -w /www -v /var/lib/berth/www:/www:z busybox httpd -f -p 8000")

	t.Run("run -i -t gives a terminal", func(t *testing.T) {
		vm.Send("berth run -i -t --name tty1 -e PS1='tty1> ' busybox sh\n")
		expect(t, vm, `\ntty1> `)
		vm.Send("[ -t 0 ] && [ -t 1 ] && echo term-$TERM-$((6*7)); stty size\n")
		expect(t, vm, `term-xterm-42`)
		expect(t, vm, `\d+ \d+`)
		vm.Send("exit 3\n")
		statusAfter(t, vm, 3)
		if got := run(t, vm, "berth inspect -f '{{.Config.Tty}} {{.State.ExitCode}}' tty1"); got != "true 3" {
			t.Errorf("inspect: %q", got)
		}
		if logs := run(t, vm, "berth logs tty1"); !strings.Contains(logs, "term-xterm-42") {
			t.Errorf("the terminal's output is not in the log:\n%s", logs)
		}
	})

	t.Run("ctrl-p ctrl-q detaches, attach comes back", func(t *testing.T) {
		vm.Send("berth run -i -t --name tty2 -e PS1='tty2> ' busybox sh\n")
		expect(t, vm, `\ntty2> `)
		vm.Send("\x10\x11")
		statusAfter(t, vm, 0)
		if got := run(t, vm, "berth inspect -f '{{.State.Running}}' tty2"); got != "true" {
			t.Fatalf("after detaching, running = %q", got)
		}
		vm.Send("berth attach tty2\n")
		vm.Send("echo again-$((2*3))\n")
		expect(t, vm, `again-6`)
		vm.Send("exit 4\n")
		statusAfter(t, vm, 4)
	})

	t.Run("stdin with run -i, start -a -i and attach", func(t *testing.T) {
		if out := run(t, vm, "echo hello | berth run -i --rm busybox cat"); out != "hello" {
			t.Errorf("run -i: %q", out)
		}
		if out := run(t, vm, "printf 'a\\nb\\n' | berth run -i --rm busybox sh -c 'read x; read y; echo got-$x-$y'"); out != "got-a-b" {
			t.Errorf("run -i read: %q", out)
		}
		run(t, vm, "berth create -i --name cat1 busybox cat")
		if out := run(t, vm, "echo via-start | berth start -a -i cat1"); out != "via-start" {
			t.Errorf("start -a -i: %q", out)
		}
		// Without -i the container's stdin is empty: cat ends at once.
		if out := run(t, vm, "echo ignored | berth run --rm busybox cat; echo end"); out != "end" {
			t.Errorf("run without -i read the console: %q", out)
		}
	})

	t.Run("exec", func(t *testing.T) {
		ps := run(t, vm, "berth exec web ps -o pid,args")
		if !regexp.MustCompile(`(?m)^\s*1 httpd -f -p 8000$`).MatchString(ps) || !strings.Contains(ps, "ps -o pid,args") || strings.Contains(ps, "berth") {
			t.Errorf("ps in exec should show the container's processes only, httpd as 1:\n%s", ps)
		}
		if out := run(t, vm, "berth exec web pwd"); out != "/www" {
			t.Errorf("exec workdir %q", out)
		}
		if out := run(t, vm, "berth exec web hostname"); out != run(t, vm, "berth inspect -f '{{.Config.Hostname}}' web") {
			t.Errorf("exec hostname %q", out)
		}
		if a, b := run(t, vm, "berth exec web grep CapBnd /proc/self/status"), run(t, vm, "berth exec web grep CapBnd /proc/1/status"); a != b {
			t.Errorf("exec capabilities %q differ from the container's %q", a, b)
		}
		if out := run(t, vm, "berth exec -u nobody web id -u"); out != "65534" {
			t.Errorf("exec -u nobody: %q", out)
		}
		if out := run(t, vm, "berth exec -e GREETING=hi web sh -c 'echo $GREETING'"); out != "hi" {
			t.Errorf("exec -e: %q", out)
		}
		if out := run(t, vm, "berth exec web ls /"); !strings.Contains(out, "www") || strings.Contains(out, "initrd") {
			t.Errorf("exec sees a root that is not the container's:\n%s", out)
		}
		for _, tc := range []struct {
			cmd  string
			code int
		}{{"berth exec web sh -c 'exit 5'", 5}, {"berth exec web no-such-command", 127}, {"berth exec tty1 true", 125}} {
			if _, code, err := vm.Run(tc.cmd, cmdTimeout); err != nil || code != tc.code {
				t.Errorf("%s: status %d (%v), want %d", tc.cmd, code, err, tc.code)
			}
		}
		if out := run(t, vm, "echo piped | berth exec -i web cat"); out != "piped" {
			t.Errorf("exec -i: %q", out)
		}
		run(t, vm, "berth exec -d web sh -c 'sleep 0.5; echo detached > /www/exec-d'")
		eventually(t, vm, "cat /var/lib/berth/www/exec-d 2>/dev/null; true", cmdTimeout, func(s string) bool { return s == "detached" })

		vm.Send("berth exec -i -t -e PS1='ex> ' web sh\n")
		expect(t, vm, `\nex> `)
		vm.Send("[ -t 0 ] && echo ex-$((5*5)); exit 6\n")
		expect(t, vm, `ex-25`)
		statusAfter(t, vm, 6)
	})

	t.Run("link variables", func(t *testing.T) {
		ip := run(t, vm, "berth inspect -f '{{.NetworkSettings.IPAddress}}' web")
		env := run(t, vm, "berth run --rm --name linker --link web:site busybox env")
		for _, want := range []string{"SITE_NAME=/linker/site", "SITE_PORT=tcp://" + ip + ":8000",
			"SITE_PORT_8000_TCP_ADDR=" + ip, "SITE_PORT_8000_TCP_PORT=8000", "SITE_PORT_8000_TCP_PROTO=tcp"} {
			if !strings.Contains(env, want+"\n") && !strings.HasSuffix(env, want) {
				t.Errorf("env lacks %s:\n%s", want, env)
			}
		}
	})

	t.Run("the engine restarts and re-adopts running containers", func(t *testing.T) {
		run(t, vm, "mkdir -p /var/lib/berth/k")
		run(t, vm, `berth run -d --name ticker -v /var/lib/berth/k:/k:z busybox sh -c 'i=0; while [ ! -e /k/stop ]; do echo tick $i; i=$((i+1)); sleep 0.2; done; echo bye; exit 7'`)
		pid := run(t, vm, "berth inspect -f '{{.State.Pid}}' ticker")
		webPid := run(t, vm, "berth inspect -f '{{.State.Pid}}' web")
		engine := run(t, vm, "cat /run/berth/engine.pid")
		run(t, vm, "kill -9 "+engine)
		eventually(t, vm, "cat /run/berth/engine.pid; berth inspect -f '{{.State.Running}} {{.State.Pid}}' ticker 2>&1", 2*cmdTimeout,
			func(s string) bool { return strings.HasSuffix(s, "\ntrue "+pid) && !strings.HasPrefix(s, engine+"\n") })
		if got := run(t, vm, "berth inspect -f '{{.State.Running}} {{.State.Pid}}' web"); got != "true "+webPid {
			t.Errorf("web after the engine restart: %q, want running as %s", got, webPid)
		}
		if !strings.Contains(vm.Log(), "re-adopted container ticker") {
			t.Errorf("the console does not say the engine re-adopted ticker")
		}
		// Its output is still collected: the log goes on growing.
		first := run(t, vm, "berth logs ticker | tail -n 1")
		eventually(t, vm, "berth logs ticker | tail -n 1", cmdTimeout, func(s string) bool { return s != first && strings.HasPrefix(s, "tick ") })
		if out := run(t, vm, "berth exec ticker echo exec-ok"); out != "exec-ok" {
			t.Errorf("exec in a re-adopted container: %q", out)
		}

		// It ends while no engine runs: PID 1, its parent since the first
		// engine died, reaps it and keeps its status for the next engine.
		// The engine is stopped before the container ends and killed
		// after, so that no engine hears of the end as it happens.
		engine = run(t, vm, "cat /run/berth/engine.pid")
		run(t, vm, "kill -STOP "+engine+" && touch /var/lib/berth/k/stop")
		eventually(t, vm, "[ -e /proc/"+pid+" ] && echo running || echo gone", cmdTimeout, func(s string) bool { return s == "gone" })
		run(t, vm, "kill -9 "+engine)
		eventually(t, vm, "berth inspect -f '{{.State.Status}} {{.State.ExitCode}}' ticker 2>&1", 2*cmdTimeout,
			func(s string) bool { return s == "exited 7" })
		if out := run(t, vm, "berth logs ticker | tail -n 1"); out != "bye" {
			t.Errorf("the last line written before the engine came back is lost: %q", out)
		}
		if got := run(t, vm, "berth inspect -f '{{.State.Running}}' web"); got != "true" {
			t.Errorf("web after the second engine restart: %q", got)
		}
		fetchIn := run(t, vm, "wget -q -O - http://$(berth inspect -f '{{.NetworkSettings.IPAddress}}' web):8000/")
		if fetchIn != "page" {
			t.Errorf("web serves %q after two engine restarts", fetchIn)
		}
		run(t, vm, "berth stop web")
		if got := run(t, vm, "berth inspect -f '{{.State.Status}}' web"); got != "exited" {
			t.Errorf("stop of a re-adopted container: %q", got)
		}
	})
}
