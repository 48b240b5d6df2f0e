//go:build appliance

package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"berth/qemu"
)

// siteDockerfile builds an httpd image the classic way: from the bundled
// busybox, a RUN that writes the page, files copied and unpacked from the
// context, metadata, ENTRYPOINT and CMD.
const siteDockerfile = `FROM busybox
MAINTAINER berth tests
ARG GREETING=hello
ENV PAGE_DIR=/www
RUN mkdir -p $PAGE_DIR && echo "$GREETING from a berth build" > $PAGE_DIR/index.html && rm /bin/vi
COPY extra.txt /www/
ADD files.tar /www/
WORKDIR /www
EXPOSE 80
LABEL purpose=test
ENTRYPOINT ["httpd", "-f"]
CMD ["-p", "80", "-h", "/www"]
`

// writeGuestFile writes content to path in the guest, through printf.
func writeGuestFile(t *testing.T, vm *qemu.VM, path, content string) {
	t.Helper()
	esc := strings.NewReplacer(`\`, `\\`, `'`, `'\''`, "\n", `\n`, "%", "%%").Replace(content)
	run(t, vm, "mkdir -p "+filepath.Dir(path)+" && printf '"+esc+"' > "+path)
}

// TestBuildWorkflow is the classic walkthrough: build an image from a
// Dockerfile on the appliance, rebuild from the cache, run it with -P and
// fetch its page through the random port, save it and carry the tar to a
// second appliance (on a disk moved from one guest to the other), import
// and load it there and run it, rmi refused while a container uses it, and
// export's flat tar imported as an image.
func TestBuildWorkflow(t *testing.T) {
	parallel(t)
	carrier := filepath.Join(t.TempDir(), "carrier.img")
	if err := os.WriteFile(carrier, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(carrier, 64<<20); err != nil {
		t.Fatal(err)
	}
	initrd := buildImage(t, "testdata/guest.toml", false)
	vm := boot(t, initrd, `berth: ready`, qemu.Options{Drives: []qemu.Drive{{Path: carrier}}, MemoryMB: 1536})

	writeGuestFile(t, vm, "/root/site/Dockerfile", siteDockerfile)
	run(t, vm, "cd /root/site && echo extra > extra.txt && mkdir -p t/sub && echo intar > t/sub/a.txt && tar -cf files.tar -C t sub && rm -r t")
	out := run(t, vm, "berth build -t www:v1 /root/site")
	for _, want := range []string{"Sending build context to berth", "Step 1/12 : FROM busybox", "Step 5/12 : RUN mkdir -p $PAGE_DIR",
		" ---> Running in ", "Removing intermediate container ", "Step 11/12 : ENTRYPOINT [\"httpd\", \"-f\"]", "Step 12/12 : CMD"} {
		if !strings.Contains(out, want) {
			t.Errorf("build output lacks %q:\n%s", want, out)
		}
	}
	m := regexp.MustCompile(`(?m)^Successfully built ([0-9a-f]{12})$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no Successfully built line:\n%s", out)
	}
	id := m[1]
	if n := strings.Count(out, " ---> "+id); n != 1 {
		t.Errorf("the last step's image %s is shown %d times", id, n)
	}
	if ps := run(t, vm, "berth ps -a -q"); ps != "" {
		t.Errorf("intermediate containers were left: %s", ps)
	}
	if got := run(t, vm, "berth images | grep -c '<none>'; true"); got != "0" {
		t.Errorf("berth images lists the steps' images:\n%s", run(t, vm, "berth images"))
	}

	t.Run("rebuild from the cache", func(t *testing.T) {
		out := run(t, vm, "berth build -t www:v1 /root/site")
		if n := strings.Count(out, "---> Using cache"); n != 10 {
			t.Errorf("%d steps from the cache, want 10 (all but FROM and ARG):\n%s", n, out)
		}
		if !strings.Contains(out, "Successfully built "+id) || strings.Contains(out, "Running in") {
			t.Errorf("the cached rebuild is not the same image:\n%s", out)
		}
		out = run(t, vm, "berth build --no-cache --build-arg GREETING=hi -t www:hi /root/site")
		if strings.Contains(out, "Using cache") || !strings.Contains(out, "Running in") {
			t.Errorf("--no-cache used the cache:\n%s", out)
		}
		// rmi takes the steps' images of that build with it, as Docker's
		// does: the ten it made (FROM and ARG make none), and says
		// Deleted for each image and for each layer it released.
		before := run(t, vm, "berth images -a -q | wc -l")
		out = run(t, vm, "berth rmi www:hi")
		after := run(t, vm, "berth images -a -q | wc -l")
		b, _ := strconv.Atoi(before)
		a, _ := strconv.Atoi(after)
		if n := strings.Count(out, "Deleted: "); n < 10 || b-a != 10 {
			t.Errorf("rmi www:hi deleted %d images (%s to %s listed with -a), want 10:\n%s", n, before, after, out)
		}
		if out := run(t, vm, "berth build -t www:v1 /root/site"); strings.Count(out, "Using cache") != 10 {
			t.Errorf("rmi of another build's image broke this one's cache:\n%s", out)
		}
	})

	t.Run("run it with -P and fetch the page", func(t *testing.T) {
		run(t, vm, "berth run -d --name www1 -P www:v1")
		ports := run(t, vm, "berth inspect -f '{{.NetworkSettings.Ports}}' www1")
		pm := regexp.MustCompile(`^map\[80/tcp:\[\{0\.0\.0\.0 (\d+)\}\]\]$`).FindStringSubmatch(ports)
		if pm == nil {
			t.Fatalf("inspect Ports: %q", ports)
		}
		if p, _ := strconv.Atoi(pm[1]); p < 1024 {
			t.Errorf("random port %d", p)
		}
		page := eventually(t, vm, "wget -q -O - http://127.0.0.1:"+pm[1]+"/ 2>&1", cmdTimeout, func(s string) bool { return strings.Contains(s, "from a berth build") })
		if page != "hello from a berth build" {
			t.Errorf("page %q", page)
		}
		if got := run(t, vm, "wget -q -O - http://127.0.0.1:"+pm[1]+"/extra.txt; wget -q -O - http://127.0.0.1:"+pm[1]+"/sub/a.txt"); got != "extra\nintar" {
			t.Errorf("copied and unpacked files: %q", got)
		}
		if got := run(t, vm, "berth inspect -f '{{.Config.WorkingDir}} {{.Config.Entrypoint}} {{.Config.Cmd}} {{.Config.Env}}' www1"); !strings.HasPrefix(got, "/www [httpd -f] [-p 80 -h /www] [") || !strings.Contains(got, "PAGE_DIR=/www") || strings.Contains(got, "GREETING") {
			t.Errorf("inspect config: %q", got)
		}
		if got := run(t, vm, "berth run --rm --entrypoint ls www:v1 /bin/vi 2>&1; true"); !strings.Contains(got, "No such file") {
			t.Errorf("a file the RUN step deleted is still there: %q", got)
		}
	})

	t.Run("Dockerfile errors", func(t *testing.T) {
		writeGuestFile(t, vm, "/root/bad/Dockerfile", "FROM busybox\nRUN echo about to fail && false\n")
		out, code, err := vm.Run("berth build /root/bad", cmdTimeout)
		if err != nil || code != 1 || !strings.Contains(out, "about to fail") || !strings.Contains(out, "The command '/bin/sh -c echo about to fail && false' returned a non-zero code: 1") {
			t.Errorf("a failing RUN: status %d (%v):\n%s", code, err, out)
		}
		writeGuestFile(t, vm, "/root/bad2/Dockerfile", "FROM busybox\n\nONBUILD RUN true\n")
		out, code, err = vm.Run("berth build /root/bad2", cmdTimeout)
		if err != nil || code != 1 || !strings.Contains(out, "Dockerfile line 3: ONBUILD is not supported") {
			t.Errorf("an unsupported instruction: status %d (%v):\n%s", code, err, out)
		}
	})

	t.Run("VOLUME gives each container a volume seeded from the image", func(t *testing.T) {
		writeGuestFile(t, vm, "/root/vol/Dockerfile", "FROM busybox\nRUN mkdir /data && echo seed > /data/f\nVOLUME /data\n")
		run(t, vm, "berth build -t vol /root/vol")
		if out := run(t, vm, "berth run --name v1 vol sh -c 'cat /data/f; echo more > /data/g'"); out != "seed" {
			t.Errorf("the volume lacks the image's files: %q", out)
		}
		src := run(t, vm, "berth inspect -f '{{range .Mounts}}{{.Type}} {{.Destination}} {{.Source}}{{end}}' v1")
		f := strings.Fields(src)
		if len(f) != 3 || f[0] != "volume" || f[1] != "/data" || !strings.HasPrefix(f[2], "/var/lib/berth/volumes/") {
			t.Fatalf("inspect Mounts: %q", src)
		}
		if got := run(t, vm, "cat "+f[2]+"/f "+f[2]+"/g"); got != "seed\nmore" {
			t.Errorf("volume on the host: %q", got)
		}
		run(t, vm, "berth rm -v v1")
		if out, _, _ := vm.Run("ls "+f[2], cmdTimeout); !strings.Contains(out, "No such file") {
			t.Errorf("rm -v left the volume: %q", out)
		}
	})

	// save, and carry the tar on a disk to the second appliance.
	size := run(t, vm, "berth save www:v1 > /tmp/www.tar && stat -c %s /tmp/www.tar && dd if=/tmp/www.tar of=/dev/vda bs=1M conv=fsync 2>/dev/null")
	vm.Send("poweroff\n")
	if _, err := vm.Wait(cmdTimeout); err != nil {
		t.Fatal(err)
	}

	vm2 := boot(t, initrd, `berth: ready`, qemu.Options{Drives: []qemu.Drive{{Path: carrier}}, MemoryMB: 1536})
	run(t, vm2, "head -c "+size+" /dev/vda > /tmp/www.tar")
	t.Run("import of a saved image on the second appliance", func(t *testing.T) {
		out := run(t, vm2, "berth import /tmp/www.tar site:imported")
		if !strings.Contains(out, "berth load -i FILE is the direct way") {
			t.Errorf("import of a save tarball does not say so:\n%s", out)
		}
		images := run(t, vm2, "berth images")
		if !regexp.MustCompile(`(?m)^www\s+v1\s+`+id).MatchString(images) || !regexp.MustCompile(`(?m)^site\s+imported\s+`+id).MatchString(images) {
			t.Errorf("images after import (want www:v1 and site:imported as %s):\n%s", id, images)
		}
		run(t, vm2, "berth run -d --name www2 -p 8081:80 site:imported")
		eventually(t, vm2, "wget -q -O - http://127.0.0.1:8081/ 2>&1", cmdTimeout, func(s string) bool { return s == "hello from a berth build" })

		// As Docker's: one of two names only untags; the last name of an
		// image a container uses is refused.
		if out := run(t, vm2, "berth rmi www:v1"); out != "Untagged: www:v1" {
			t.Errorf("rmi of one of two names: %s", out)
		}
		out, code, err := vm2.Run("berth rmi site:imported", cmdTimeout)
		if err != nil || code != 1 || !strings.Contains(out, "container") {
			t.Errorf("rmi of an image in use: status %d (%v): %s", code, err, out)
		}
		run(t, vm2, "berth export www2 > /tmp/rootfs.tar")
		run(t, vm2, "berth rm -f www2")
		if out := run(t, vm2, "berth rmi site:imported"); !strings.Contains(out, "Untagged: site:imported") || !strings.Contains(out, "Deleted: sha256:"+id) {
			t.Errorf("rmi after rm:\n%s", out)
		}
		if got := run(t, vm2, "berth images -q | wc -l"); got != "1" {
			t.Errorf("images left: %s", run(t, vm2, "berth images"))
		}
	})
	t.Run("load and export on the second appliance", func(t *testing.T) {
		if out := run(t, vm2, "berth load -i /tmp/www.tar"); !strings.Contains(out, "Loaded image: www:v1") {
			t.Errorf("load: %s", out)
		}
		run(t, vm2, "berth run -d --name www3 -p 8082:80 www:v1")
		eventually(t, vm2, "wget -q -O - http://127.0.0.1:8082/ 2>&1", cmdTimeout, func(s string) bool { return s == "hello from a berth build" })
		out := run(t, vm2, "berth import /tmp/rootfs.tar flat:v1")
		if strings.Contains(out, "direct way") {
			t.Errorf("a flat root filesystem was taken for a saved image: %s", out)
		}
		if got := run(t, vm2, "berth run --rm flat:v1 cat /www/index.html /www/sub/a.txt"); got != "hello from a berth build\nintar" {
			t.Errorf("the exported filesystem, imported: %q", got)
		}
		if got := run(t, vm2, "tar -tf /tmp/rootfs.tar | grep -c '^www/index.html$'"); got != "1" {
			t.Errorf("export lacks www/index.html")
		}
	})
}
