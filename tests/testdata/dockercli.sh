#!/bin/sh
# dockercli.sh drives berth with Debian's unmodified Docker CLI: every verb
# of Docker 1.2 and today's daily flags, checked against Docker's documented
# output and exit statuses. It prints a FAIL line for each check that does
# not hold and ends with "dockercli: N failures".
#
#	DOCKER=/mnt/cli/docker REGISTRY=/mnt/cli/registry sh dockercli.sh

D=${DOCKER:-docker}
export DOCKER_HOST=${DOCKER_HOST:-unix:///run/berth.sock}
export DOCKER_CONFIG=/tmp/docker-config
fails=0
checks=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# ok WANT CMD...: run CMD, keep its output (stdout and stderr) in $out and
# check its exit status. A command that hangs is killed after two minutes.
ok() {
	want=$1
	shift
	checks=$((checks + 1))
	out=$(timeout 120 "$@" 2>&1)
	got=$?
	if [ "$got" = 143 ] && [ "$want" != 143 ]; then
		fail "$* hung: killed after 120s: $out"
		echo "dockercli: $checks checks, $fails failures (stopped at a hang)"
		exit 1
	fi
	[ "$got" = "$want" ] || fail "$* exited $got, want $want: $out"
}
# d WANT ARGS...: ok for the docker CLI.
d() {
	want=$1
	shift
	ok "$want" "$D" "$@"
}
# has TEXT: the last output contains TEXT.
has() { case "$out" in *"$1"*) ;; *) fail "[$last] lacks '$1': $out" ;; esac; }
# lacks TEXT: it does not.
lacks() { case "$out" in *"$1"*) fail "[$last] has '$1': $out" ;; esac; }
# is TEXT: it is exactly TEXT.
is() { [ "$out" = "$1" ] || fail "[$last] is '$out', want '$1'"; }
# matches ERE: a line of it matches the extended regular expression.
matches() { echo "$out" | grep -Eq -- "$1" || fail "[$last] does not match /$1/: $out"; }
# poll SECONDS CMD...: run CMD until it succeeds or SECONDS pass.
poll() {
	n=$1
	shift
	i=0
	while [ $i -lt $((n * 10)) ]; do
		"$@" >/dev/null 2>&1 && return 0
		usleep 100000
		i=$((i + 1))
	done
	fail "not within ${n}s: $*"
	return 1
}
section() { last=$1; echo "== $1 (at $(cut -d" " -f1 /proc/uptime)s)"; }

section version
d 0 version
has "Server:"
has "API version:       1.41"
has "OS/Arch:          linux/amd64"
d 0 version --format '{{.Server.APIVersion}} {{.Server.MinAPIVersion}}'
is "1.41 1.24"
d 0 system df
lacks "1.24"

section info
d 0 info
has "Storage Driver: devicemapper"
has "Pool Name: "
has "Cgroup Version: 2"
has "Security Options:"
has "seccomp"
has "selinux"
has "Containers: 0"
d 0 info --format '{{.Driver}} {{.OSType}}'
is "devicemapper linux"

section "run and its exit statuses"
d 3 run busybox sh -c 'exit 3'
d 127 run busybox nosuchcommand
has "executable file not found"
d 126 run busybox /etc/passwd
d 125 run --nosuchflag busybox true
d 125 run nosuchimage:latest true
d 0 run --rm busybox echo hello
is "hello"
echo 'C=3' >/tmp/envfile
echo '# comment' >>/tmp/envfile
# The daily run flags, several to a run (each docker command costs a second
# under emulation).
d 0 run --rm -e A=1 --env B=2 --env-file /tmp/envfile --hostname box.example --add-host db.example:10.1.2.3 \
	--dns 10.9.9.9 --dns-search corp.example -w /tmp -u 1000:1000 --label a=b \
	busybox sh -c 'echo $A$B$C; hostname; grep db.example /etc/hosts; cat /etc/resolv.conf; pwd; id -u; id -g'
has "123
box.example"
has "10.1.2.3"
has "nameserver 10.9.9.9"
has "search corp.example"
has "/tmp
1000
1000"
d 1 run --rm --read-only busybox touch /x
d 0 run --rm --tmpfs /scratch:size=1m --mount type=tmpfs,destination=/t --ulimit nofile=512:1024 --init \
	busybox sh -c 'grep -E " /(scratch|t) " /proc/mounts; ulimit -n; ulimit -Hn; ps -o pid,comm'
has "tmpfs /scratch tmpfs"
has "tmpfs /t tmpfs"
has "512
1024"
matches "^ *1 +docker-init"
d 0 volume create vol1
is "vol1"
d 0 run --rm --mount source=vol1,target=/data busybox sh -c 'echo persisted > /data/f'
d 0 run --rm -v vol1:/data busybox cat /data/f
is "persisted"
mkdir -p /tmp/bindsrc && echo bound >/tmp/bindsrc/f
# :z gives the directory the label every container may read.
d 0 run --rm -v /tmp/bindsrc:/b:z busybox true
d 1 run --rm --mount type=bind,source=/tmp/bindsrc,target=/b,readonly busybox sh -c 'cat /b/f && touch /b/g'
has "bound"
has "Read-only file system"
d 0 run --rm --network none busybox ip -o link
lacks "eth0"
d 0 run --rm --network host busybox ip -o link
has "eth0"
has "berth0"
d 0 run --rm --network bridge busybox ip -o -4 addr show eth0
has "172.17."
d 125 run --rm --network mynet busybox true
d 0 run --rm -i busybox cat <<EOF
through stdin
EOF
is "through stdin"

section "create, start, attach, wait, logs"
d 0 create --name c1 --label tier=web busybox sh -c 'echo out; echo err >&2; exit 5'
matches "^[0-9a-f]{64}$"
d 0 ps -a --filter name=c1 --format '{{.Status}}'
is "Created"
d 5 start -a c1
has "out"
has "err"
d 0 wait c1
is "5"
d 0 inspect -f '{{.State.ExitCode}} {{.State.Status}}' c1
is "5 exited"
d 0 logs c1
has "out"
has "err"
d 0 logs -t c1
matches "^20[0-9-]+T[0-9:.]+Z out$"
d 0 logs --details c1
has "out"
d 0 logs --since 1h c1
has "out"
d 0 logs --until 2000-01-01T00:00:00Z c1
is ""
d 0 run -d --name waiter busybox sleep 1
# The stock CLI has no --condition; berth's CLI and the API (the Go
# client test) do.
ok 0 berth wait --condition not-running waiter
is "0"
d 1 wait nosuchcontainer
has "No such container"
d 0 run -d -i --name att busybox sh -c 'read line; echo got $line'
echo attached-in | "$D" attach att >/tmp/attach.out 2>&1 || fail "attach: $(cat /tmp/attach.out)"
grep -q "got attached-in" /tmp/attach.out || fail "attach: $(cat /tmp/attach.out)"

section "ps with filters and formats"
d 0 run -d --name web --label tier=front -p 8080:80 --health-cmd 'true' --health-interval 1s busybox httpd -f -p 80
d 0 run -d --name other busybox sleep 1d
d 0 ps
has "CONTAINER ID"
has "0.0.0.0:8080->80/tcp"
has "web"
d 0 ps -q
matches "^[0-9a-f]{12}$"
d 0 ps --no-trunc -q --filter name=web
matches "^[0-9a-f]{64}$"
d 0 ps --filter label=tier=front --format '{{.Names}}'
is "web"
d 0 ps -a --filter status=exited --format '{{.Names}}'
has "c1"
lacks "web"
d 0 ps -a --filter exited=5 --format '{{.Names}}'
is "c1"
d 0 ps --filter ancestor=busybox --format '{{.Names}}'
has "web"
has "other"
d 0 ps --filter before=other --format '{{.Names}}'
has "web"
lacks "other"
d 0 ps --filter since=web --format '{{.Names}}'
is "other"
d 0 ps --format 'table {{.Names}}\t{{.Image}}'
has "NAMES"
has "IMAGE"
d 0 ps --format '{{json .}}' --filter name=web
has '"Names":"web"'
d 0 ps -s --format '{{.Names}} {{.Size}}' --filter name=web
matches "^web [0-9.]+k?B \(virtual [0-9.]+MB\)$"
d 0 ps -n 1 --format '{{.Names}}'
is "other"
poll 20 sh -c "$D ps --filter name=web --format '{{.Status}}' | grep -q '(healthy)'"
d 0 inspect -f '{{.State.Health.Status}}' web
is "healthy"
d 0 ps --filter health=healthy --format '{{.Names}}'
is "web"
d 0 port web
is "80/tcp -> 0.0.0.0:8080"
d 0 port web 80
is "0.0.0.0:8080"
# The published port answers from another container (httpd has no page).
d 1 run --rm busybox wget -q -O - http://172.17.0.1:8080/
has "404 Not Found"
d 0 inspect --type container -f '{{.Name}}' web
is "/web"
d 1 inspect --type image web
d 0 inspect --type image -f '{{.Os}}' busybox
is "linux"
d 0 inspect -f '{{json .Config.Labels}}' web
is '{"tier":"front"}'

section "exec"
d 4 exec web sh -c 'echo in; exit 4'
is "in"
d 0 exec -e X=y -w /tmp -u 1000 web sh -c 'echo $X; pwd; id -u'
is "y
/tmp
1000"
d 0 exec --privileged web sh -c 'grep CapEff /proc/self/status'
has "000001ffffffffff"
d 0 exec web sh -c 'grep CapEff /proc/self/status'
lacks "000001ffffffffff"
d 126 exec web /etc/passwd
d 127 exec web nosuch
d 0 exec -i web cat <<EOF
exec stdin
EOF
is "exec stdin"
d 0 exec -d web sh -c 'echo detached > /tmp/d'
poll 10 "$D" exec web test -s /tmp/d

section "top, stats, diff, cp"
d 0 top web
has "PID"
has "httpd -f -p 80"
d 0 top web aux
has "%CPU"
d 0 top web -o pid,comm
has "COMMAND"
has "httpd"
d 0 stats --no-stream
has "CPU %"
has "MEM USAGE / LIMIT"
has "NET I/O"
has "BLOCK I/O"
has "PIDS"
has "web"
# One process: httpd. A health probe (every second) adds its own for a
# moment, so the count is polled.
stats_pids() { [ "$("$D" stats --no-stream --format '{{.Name}} {{.PIDs}}' web)" = "web 1" ]; }
poll 30 stats_pids
# Streaming stats: the CLI keeps printing until it is stopped.
timeout 4 "$D" stats web >/tmp/stats.out 2>&1
grep -q "web" /tmp/stats.out || fail "stats did not stream: $(cat /tmp/stats.out)"
d 0 exec web sh -c 'echo x > /newfile; rm -f /bin/true'
d 0 diff web
has "A /newfile"
has "D /bin/true"
has "C /bin"
d 0 cp web:/etc/hostname /tmp/hn
test "$(cat /tmp/hn)" = "$("$D" inspect -f '{{.Config.Hostname}}' web)" || fail "cp from container: $(cat /tmp/hn)"
echo copied-in >/tmp/in.txt
d 0 cp /tmp/in.txt web:/tmp/
d 0 exec web cat /tmp/in.txt
is "copied-in"
mkdir -p /tmp/dirin/sub && echo deep >/tmp/dirin/sub/f
d 0 cp /tmp/dirin web:/dirin
d 0 exec web cat /dirin/sub/f
is "deep"
d 0 cp web:/dirin /tmp/dirout
test "$(cat /tmp/dirout/sub/f)" = deep || fail "cp of a directory out of the container"
d 1 cp web:/nonexistent /tmp/x
has "No such container:path: web:/nonexistent"
d 0 cp c1:/etc/passwd /tmp/passwd-from-stopped
grep -q root /tmp/passwd-from-stopped || fail "cp from a stopped container"

section "commit, history, export, import, save, load"
d 0 commit -m "a message" -a "An Author" -c 'CMD ["echo","committed"]' -c 'ENV K=V' web committed:1
matches "^sha256:[0-9a-f]{64}$"
d 0 run --rm committed:1
is "committed"
d 0 run --rm committed:1 sh -c 'echo $K; cat /newfile'
is "V
x"
d 0 inspect -f '{{.Author}} {{.Comment}}' committed:1
is "An Author a message"
d 0 history committed:1
has "IMAGE"
has "CREATED BY"
has "a message"
d 0 history -q --no-trunc committed:1
matches "^sha256:[0-9a-f]{64}$"
d 0 export -o /tmp/web.tar web
tar tf /tmp/web.tar | grep -q '^newfile$' || fail "export lacks newfile"
d 0 import -c 'CMD ["/bin/sh","-c","echo imported"]' -m "from export" /tmp/web.tar imported:1
matches "^sha256:[0-9a-f]{64}$"
d 0 run --rm imported:1
is "imported"
d 0 save -o /tmp/saved.tar committed:1 imported:1
tar tf /tmp/saved.tar | grep -q '^manifest.json$' || fail "save lacks manifest.json"
d 0 rmi committed:1 imported:1
has "Untagged: committed:1"
has "Deleted: sha256:"
d 0 load -i /tmp/saved.tar
has "Loaded image: committed:1"
has "Loaded image: imported:1"
d 0 run --rm committed:1
is "committed"
"$D" save busybox | "$D" load -q >/tmp/load.out 2>&1 || fail "save | load"
grep -q "Loaded image: busybox:latest" /tmp/load.out || fail "load -q: $(cat /tmp/load.out)"

section "build"
mkdir -p /tmp/ctx && cd /tmp/ctx || exit 1
cat >Dockerfile <<'EOF'
FROM busybox
ARG GREETING=hi
LABEL stage=test
COPY f /f
RUN echo "$GREETING" > /greeting
ENV WHO=world
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s CMD true
CMD ["sh", "-c", "cat /greeting /f; echo $WHO"]
EOF
echo file >f
echo ignored >secret
echo secret >.dockerignore
d 0 build -t built:1 --build-arg GREETING=hello --label extra=yes .
has "Successfully built"
has "Successfully tagged built:1"
d 0 run --rm built:1
is "hello
file
world"
d 1 run --rm built:1 test -e /secret
d 0 inspect -f '{{.Config.StopSignal}} {{index .Config.Labels "stage"}} {{index .Config.Labels "extra"}}' built:1
is "SIGINT test yes"
d 0 build -q -t built:2 .
matches "^sha256:[0-9a-f]{64}$"
d 0 build -t built:3 --build-arg UNUSED=1 .
has "[Warning] One or more build-args [UNUSED] were not consumed"
printf 'FROM busybox\nRUN exit 7\n' | "$D" build -t broken - >/tmp/broken.out 2>&1
[ $? = 1 ] || fail "a failing build did not exit 1: $(cat /tmp/broken.out)"
grep -q "returned a non-zero code: 7" /tmp/broken.out || fail "failing build: $(cat /tmp/broken.out)"
cd / || exit 1

section "images, tag, rmi"
d 0 tag busybox mybox:v1
d 0 tag busybox mybox:v2
d 0 images
has "REPOSITORY"
matches "^busybox +latest +[0-9a-f]{12} +.+ +[0-9.]+MB$"
has "mybox"
d 0 images -q busybox
matches "^[0-9a-f]{12}$"
d 0 images --format '{{.Repository}}:{{.Tag}}' mybox
has "mybox:v1"
has "mybox:v2"
d 0 images --filter reference='mybox:*' --format '{{.Tag}}'
has "v1"
d 0 images --format '{{json .}}' busybox
has '"Repository":"busybox"'
d 0 rmi mybox:v1
is "Untagged: mybox:v1"
d 0 rmi mybox:v2
is "Untagged: mybox:v2"
# The last name of an image a container uses.
d 1 rmi busybox
has 'conflict: unable to remove repository reference "busybox" (must force) - container'
d 1 rmi nosuch:image
has "No such image"
d 0 create --name holder committed:1
d 1 rmi committed:1
has "conflict"
d 0 rmi -f committed:1
has "Untagged: committed:1"
d 0 rm holder
d 0 build -q -t dang:1 - <<'EOF'
FROM busybox
RUN echo one > /v
EOF
d 0 build -q -t dang:1 - <<'EOF'
FROM busybox
RUN echo two > /v
EOF
d 0 images --filter dangling=true --format '{{.Repository}} {{.Tag}}'
has "<none> <none>"
d 0 images -a
has "<none>"
d 0 image prune -f
has "Total reclaimed space"
d 0 images --filter dangling=true -q
is ""

section "lifecycle: rename, restart, kill, stop, pause, update"
d 0 rename other renamed
d 0 ps --format '{{.Names}}' --filter name=renamed
is "renamed"
d 0 restart -t 1 renamed
d 0 inspect -f '{{.State.Running}} {{.RestartCount}}' renamed
is "true 0"
d 0 kill -s KILL renamed
d 0 inspect -f '{{.State.Status}} {{.State.ExitCode}}' renamed
is "exited 137"
d 1 kill renamed
has "is not running"
d 0 start renamed
d 0 pause renamed
d 0 ps --filter name=renamed --format '{{.Status}}'
has "(Paused)"
d 0 ps --filter status=paused --format '{{.Names}}'
is "renamed"
d 1 exec renamed true
has "paused"
d 0 unpause renamed
d 0 update --memory 64m --memory-swap 128m --cpus 0.5 --cpu-shares 512 --pids-limit 50 --restart on-failure:3 renamed
d 0 exec renamed cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/cpu.max /sys/fs/cgroup/pids.max
is "67108864
50000 100000
50"
d 0 inspect -f '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}' renamed
is "67108864 500000000 on-failure 3"
d 0 run -d --name sig --stop-signal SIGUSR1 --stop-timeout 30 busybox sh -c 'trap "exit 9" USR1; while :; do sleep 0.1; done'
d 0 stop sig
d 0 inspect -f '{{.State.ExitCode}} {{.Config.StopSignal}} {{.Config.StopTimeout}}' sig
is "9 SIGUSR1 30"
d 0 stop renamed
d 0 stop renamed
d 1 start nosuchcontainer
d 0 run -d --name autorm --rm busybox true
poll 20 sh -c "! $D inspect autorm"

section "events"
d 0 events --since 10m --until 0s --filter event=die --format '{{.Type}} {{.Action}}'
has "container die"
d 0 events --since 10m --until 0s --filter container=c1 --filter event=start
has "container start"
"$D" events --filter event=start --format '{{.Actor.Attributes.name}}' >/tmp/events.out 2>&1 &
ev=$!
poll 10 "$D" info
d 0 run --rm --name eventful busybox true
poll 10 grep -q eventful /tmp/events.out
kill $ev

section "volumes and networks"
d 0 volume ls
has "vol1"
d 0 volume inspect -f '{{.Name}} {{.Driver}}' vol1
is "vol1 local"
d 0 volume create --label k=v vol2
d 0 volume ls --filter label=k=v -q
is "vol2"
d 0 volume rm vol2
d 0 volume ls -q --filter name=vol2
is ""
d 0 network ls
has "bridge"
has "host"
has "none"
d 0 network inspect -f '{{.Name}} {{.Driver}}' bridge
is "bridge bridge"
d 1 network create mynet
d 1 network inspect nosuchnet

section "registry: login, push, pull, search, logout"
if [ -n "$REGISTRY" ]; then
	"$REGISTRY" -addr 127.0.0.1:5000 >/tmp/registry-open.log 2>&1 &
	"$REGISTRY" -addr 127.0.0.1:5001 -user alice -password s3cret >/tmp/registry-auth.log 2>&1 &
	poll 10 wget -q -O /dev/null http://127.0.0.1:5000/v2/
	d 0 tag built:1 127.0.0.1:5000/team/built:1
	d 0 push 127.0.0.1:5000/team/built:1
	has "1: digest: sha256:"
	d 0 rmi 127.0.0.1:5000/team/built:1
	d 0 pull 127.0.0.1:5000/team/built:1
	has "Status: Downloaded newer image for 127.0.0.1:5000/team/built:1"
	d 0 images --digests 127.0.0.1:5000/team/built
	has "sha256:"
	d 0 search 127.0.0.1:5000/team
	has "team/built"
	d 1 pull 127.0.0.1:5000/team/nosuch:1
	d 0 tag busybox 127.0.0.1:5001/private/box:1
	d 1 push 127.0.0.1:5001/private/box:1
	has "no basic auth credentials"
	d 1 login -u alice -p wrong 127.0.0.1:5001
	d 0 login -u alice -p s3cret 127.0.0.1:5001
	has "Login Succeeded"
	d 0 push 127.0.0.1:5001/private/box:1
	d 0 rmi 127.0.0.1:5001/private/box:1
	d 0 pull 127.0.0.1:5001/private/box:1
	d 0 logout 127.0.0.1:5001
	d 0 rmi 127.0.0.1:5001/private/box:1
	d 1 pull 127.0.0.1:5001/private/box:1
fi

section "rm and prunes"
# After the cp, diff and export above entered web's mount namespace, every
# thread of the engine is back in the engine's own: one left in web's
# would hold its device, and docker rm would find it busy.
engine=$(grep -l '__engin[e]' /proc/[0-9]*/cmdline | head -1 | cut -d/ -f3)
spaces=$(for t in /proc/"$engine"/task/*; do readlink "$t/ns/mnt"; done | sort -u | wc -l)
[ "$spaces" = 1 ] || fail "the engine's threads are in $spaces mount namespaces"
d 1 rm web
has "stop the container before removing"
d 0 rm -f web
d 0 rm -v c1
d 0 container prune -f
has "Total reclaimed space"
d 0 ps -a -q
is "$("$D" ps -q)"
d 0 builder prune -f
has "Total reclaimed space"
d 0 volume prune -f
d 0 system prune -f
has "Total reclaimed space"
d 0 system df
has "TYPE"
has "Images"
has "Containers"
has "Local Volumes"
d 0 system df -v
has "Images space usage"

section "berth's own CLI: the same verbs"
B=berth
ok 0 $B run -d --name bweb -p 8090:80 busybox httpd -f -p 80
ok 0 $B port bweb
is "80/tcp -> 0.0.0.0:8090"
ok 0 $B top bweb -o pid,comm
has "httpd"
ok 0 $B exec bweb sh -c 'echo b > /bfile'
ok 0 $B diff bweb
has "A /bfile"
ok 0 $B cp bweb:/bfile /tmp/bfile
test "$(cat /tmp/bfile)" = b || fail "berth cp out"
ok 0 $B cp /tmp/in.txt bweb:/in.txt
ok 0 $B pause bweb
ok 0 $B ps --filter status=paused --format '{{.Names}}'
is "bweb"
ok 0 $B unpause bweb
ok 0 $B rename bweb bweb2
ok 0 $B update --memory 32m bweb2
ok 0 $B stats --no-stream --format '{{.Name}} {{.MemUsage}}' bweb2
matches "^bweb2 .* / 32MiB$"
ok 0 $B commit -c 'CMD ["cat","/in.txt"]' -m bmsg bweb2 bcommit:1
ok 0 $B run --rm bcommit:1
is "copied-in"
ok 0 $B history --format '{{.Comment}}' bcommit:1
has "bmsg"
ok 0 $B events --since 5m --until 0s --filter event=pause --format '{{.Actor.Attributes.name}}'
has "bweb"
ok 0 $B inspect --type image -f '{{.Comment}}' bcommit:1
is "bmsg"
ok 0 $B system df
has "Images"
if [ -n "$REGISTRY" ]; then
	ok 0 $B login -u alice -p s3cret 127.0.0.1:5001
	has "Login Succeeded"
	ok 0 stat -c %a /var/lib/berth/cli/config.json
	is "600"
	ok 0 $B tag bcommit:1 127.0.0.1:5001/private/bcommit:1
	ok 0 $B push 127.0.0.1:5001/private/bcommit:1
	ok 0 $B rmi 127.0.0.1:5001/private/bcommit:1
	ok 0 $B pull 127.0.0.1:5001/private/bcommit:1
	ok 0 $B search 127.0.0.1:5001/private
	has "private/bcommit"
	ok 0 $B logout 127.0.0.1:5001
	ok 1 $B pull 127.0.0.1:5001/private/bcommit:1
fi
ok 0 $B rm -f bweb2
ok 0 $B container prune -f
ok 0 $B image prune -f

section "API versions and errors"
d 0 -H unix:///run/docker.sock version --format '{{.Server.Version}}'
matches "^[0-9]"
DOCKER_API_VERSION=1.24 "$D" ps >/dev/null 2>&1 || fail "a client speaking API 1.24"

echo "dockercli: $checks checks, $fails failures"
[ "$fails" = 0 ]
