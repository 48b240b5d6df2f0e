package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseDefaults(t *testing.T) {
	c, err := Parse("berth.toml", []byte("[[container]]\nname = \"web\"\nimage = \"busybox\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"hostname", c.Host.Hostname, "berth"},
		{"mode", c.Network.Mode, "dhcp"},
		{"interface", c.Network.Interface, "auto"},
		{"bridge", c.Bridge.Name, "berth0"},
		{"bridge address", c.Bridge.Address, "172.17.0.1/16"},
		{"data size", c.Storage.DataSize, 100 * GiB},
		{"metadata size", c.Storage.MetadataSize, 2 * GiB},
		{"base size", c.Storage.BaseSize, 10 * GiB},
		{"state disk", c.Storage.StateDisk, "auto"},
		{"restart", c.Containers[0].Restart, "no"},
		{"log max size", *c.Engine.LogMaxSize, 10 * MiB},
		{"log max file", c.Engine.LogMaxFile, 3},
		{"memory reserve", *c.Engine.MemoryReserve, 128 * MiB},
		{"selinux", c.Security.SELinux, "enforcing"},
		{"selinux failure", c.Security.SELinuxFailure, "continue"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

// TestParseErrors proves that each kind of mistake is reported at the
// line and column of the offending value, naming the field.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		want string // expected "line:col: field: message" fragment
	}{
		{"unknown key", "[host]\nhostnme = \"x\"\n", "2:1: host.hostnme: unknown key"},
		{"unknown key in container", "[[container]]\nname = \"a\"\nimage = \"b\"\n[[container]]\nname = \"c\"\nimage = \"d\"\n  prots = [\"80\"]\n",
			"7:3: container.prots: unknown key"},
		{"unknown section", "[hots]\nname = 1\n", "1:1: hots: unknown key"},
		{"no log file kept", "[engine]\nlog_max_file = -1\n", "2:16: engine.log_max_file: -1: keep at least 1 log file"},
		{"log too small to rotate", "[engine]\nlog_max_size = \"100\"\n", "engine.log_max_size: 100B is too small"},
		{"bad selinux mode", "[security]\nselinux = \"on\"\n", `2:11: security.selinux: "on": use "enforcing", "permissive" or "disabled"`},
		{"unknown engine key", "[engine]\nlog_driver = \"syslog\"\n", "2:1: engine.log_driver: unknown key"},
		{"wrong type", "[host]\nhostname = 5\n", "2:12: host.hostname: incompatible types"},
		{"wrong type in container", "[[container]]\nname = \"a\"\nimage = \"b\"\n[[container]]\nname = \"c\"\nimage = \"d\"\ncpus = \"two\"\n", "7:8: container[1].cpus: incompatible types"},
		{"syntax", "[host\n", "to end table name"},
		{"port out of range", "[[container]]\nname = \"web\"\nimage = \"busybox\"\nports = [\"8080:80\", \"70000:80\"]\n",
			`4:21: container[0].ports[1]: port "70000:80": host port 70000 is out of range 1-65535`},
		{"container port out of range", "[[container]]\nname = \"web\"\nimage = \"busybox\"\nports = [\"8080:0\"]\n",
			"container port 0 is out of range"},
		{"bad protocol", "[[container]]\nname = \"web\"\nimage = \"busybox\"\nports = [\"80/sctp\"]\n", `protocol "sctp"`},
		{"duplicate host port", "[[container]]\nname = \"a\"\nimage = \"busybox\"\nports = [\"80:80\"]\n[[container]]\nname = \"b\"\nimage = \"busybox\"\nports = [\"80:8000\"]\n",
			"8:10: container[1].ports[0]: host port 80/tcp is already published by container[0].ports[0]"},
		{"duplicate name", "[[container]]\nname = \"web\"\nimage = \"busybox\"\n\n[[container]]\nname = \"web\"\nimage = \"busybox\"\n",
			`6:8: container[1].name: "web" is already the name of container[0] (line 2)`},
		{"missing name", "[[container]]\nimage = \"busybox\"\n", "1:1: container[0]: name is missing"},
		{"missing image", "[[container]]\nname = \"a\"\n", "container[0]: image is missing"},
		{"bad name", "[[container]]\nname = \"-web\"\nimage = \"busybox\"\n", `2:8: container[0].name: name "-web" is not valid`},
		{"unknown dependency", "[[container]]\nname = \"a\"\nimage = \"busybox\"\ndepends_on = [\"db\"]\n",
			`4:15: container[0].depends_on[0]: "db" is not the name of any [[container]]`},
		{"unknown link", "[[container]]\nname = \"a\"\nimage = \"busybox\"\nlinks = [\"db:database\"]\n",
			`container[0].links[0]: "db" is not the name`},
		{"self dependency", "[[container]]\nname = \"a\"\nimage = \"busybox\"\ndepends_on = [\"a\"]\n", "cannot depend on itself"},
		{"cycle", "[[container]]\nname = \"a\"\nimage = \"busybox\"\ndepends_on = [\"b\"]\n[[container]]\nname = \"b\"\nimage = \"busybox\"\nlinks = [\"c\"]\n[[container]]\nname = \"c\"\nimage = \"busybox\"\ndepends_on = [\"a\"]\n",
			"container[0].depends_on: dependency cycle: a -> b -> c -> a"},
		{"bad size unit", "[storage]\nbase_size = \"10XB\"\n", `2:13: storage.base_size: size "10XB" has unknown unit "XB"`},
		{"bad size number", "[[container]]\nname = \"a\"\nimage = \"busybox\"\nmemory = \"lots\"\n", `4:10: container[0].memory: size "lots" is not a number`},
		{"memory too small", "[[container]]\nname = \"a\"\nimage = \"busybox\"\nmemory = \"1MB\"\n", "4:10: container[0].memory: 1MiB is below"},
		{"relative volume", "[[container]]\nname = \"a\"\nimage = \"busybox\"\nvolumes = [\"www:/www\"]\n",
			`4:12: container[0].volumes[0]: volume "www:/www": host path "www" is not absolute`},
		{"volume mode", "[[container]]\nname = \"a\"\nimage = \"busybox\"\nvolumes = [\"/www:/www:rx\"]\n", `option "rx" is none of ro, rw, z and Z`},
		{"volume modes", "[[container]]\nname = \"a\"\nimage = \"busybox\"\nvolumes = [\"/www:/www:ro,rw\"]\n", `say two things of one kind`},
		{"restart policy", "[[container]]\nname = \"a\"\nimage = \"busybox\"\nrestart = \"sometimes\"\n", `4:11: container[0].restart: restart policy "sometimes"`},
		{"restart count", "[[container]]\nname = \"a\"\nimage = \"busybox\"\nrestart = \"on-failure:x\"\n", `retry count "x"`},
		{"env", "[[container]]\nname = \"a\"\nimage = \"busybox\"\nenv = [\"A=1\", \"B\"]\n", `4:15: container[0].env[1]: "B" is not of the form KEY=value`},
		{"workdir", "[[container]]\nname = \"a\"\nimage = \"busybox\"\nworkdir = \"opt\"\n", `container[0].workdir: "opt" is not an absolute path`},
		{"image ref", "[[container]]\nname = \"a\"\nimage = \"Busy Box\"\n", `3:9: container[0].image: image "Busy Box" is not a valid reference`},
		{"hostname", "[host]\nhostname = \"my_host\"\n", `2:12: host.hostname: hostname "my_host" is not valid`},
		{"network mode", "[network]\nmode = \"ppp\"\n", `2:8: network.mode: "ppp" is neither`},
		{"static without address", "[network]\nmode = \"static\"\n", "network.mode: static mode needs network.address"},
		{"static gateway outside", "[network]\nmode = \"static\"\naddress = \"10.0.2.15/24\"\ngateway = \"10.0.3.2\"\n",
			"4:11: network.gateway: 10.0.3.2 is not in the host's subnet 10.0.2.0/24"},
		{"dhcp with address", "[network]\naddress = \"10.0.2.15/24\"\n", `network.address: is only used with mode = "static"`},
		{"dns", "[network]\ndns = [\"1.1.1.1\", \"one\"]\n", `2:19: network.dns[1]: "one" is not an IP address`},
		{"bridge overlap", "[network]\nmode = \"static\"\naddress = \"172.17.5.2/16\"\n[bridge]\naddress = \"172.17.0.1/16\"\n",
			"5:11: bridge.address: container subnet 172.17.0.0/16 overlaps the host's subnet 172.17.0.0/16"},
		{"bridge network address", "[bridge]\naddress = \"172.17.0.0/16\"\n", "is the network or broadcast address"},
		{"bridge name", "[bridge]\nname = \"a-very-long-bridge-name\"\n", "bridge.name"},
		{"devices in pairs", "[storage]\ndata_device = \"/dev/vdc\"\n", "storage.data_device: data_device and metadata_device go together"},
		{"state disk", "[storage]\nstate_disk = \"vdb\"\n", `storage.state_disk: "vdb" is not`},
		{"device name", "[storage]\ndata_device = \"LABEL=\"\nmetadata_device = \"PARTLABEL=meta\"\n", `2:15: storage.data_device: "LABEL=" is not a device`},
		{"interface", "[network]\ninterface = \"52:54:00:12:34\"\n", `network.interface: "52:54:00:12:34" is neither`},
		{"kernel flavour", "[image]\nkernel = \"rt\"\n", `2:10: image.kernel: "rt": use "cloud" (VMs) or "generic" (bare metal)`},
		{"min free", "[storage]\nmin_free_space = \"10\"\n", `storage.min_free_space: "10" is not a percentage`},
		{"base larger than data", "[storage]\ndata_size = \"1GB\"\nbase_size = \"2GB\"\n", "storage.base_size: 2GiB is larger than the pool's data_size 1GiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("berth.toml", []byte(tc.src))
			if err == nil {
				t.Fatalf("no error; want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "berth.toml:") {
				t.Errorf("error %q does not start with the file name", err)
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	src := "[host]\nhostname = \"a_b\"\n[[container]]\nname = \"x\"\nimage = \"busybox\"\nports = [\"99999\"]\n"
	_, err := Parse("f.toml", []byte(src))
	list, ok := err.(ErrorList)
	if !ok || len(list) != 2 {
		t.Fatalf("want 2 errors, got %#v", err)
	}
	if list[0].Pos.Line != 2 || list[1].Pos.Line != 6 {
		t.Errorf("errors not in file order: %v", list)
	}
}

func TestExamplesAreValid(t *testing.T) {
	files, _ := filepath.Glob("../examples/*.toml")
	if len(files) == 0 {
		t.Fatal("no examples found")
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestDocumentedFieldsMatchSchema(t *testing.T) {
	doc, err := os.ReadFile("../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	// Each section of the doc starts with "## `[name]`" or "## `[[name]]`"
	// and has a table row "| `field` |" for each of its fields.
	sections := map[string]string{}
	for _, part := range strings.Split(string(doc), "\n## ")[1:] {
		head, body, _ := strings.Cut(part, "\n")
		name := strings.Trim(head, "`[] ")
		sections[name] = body
	}
	for _, key := range schemaKeys() {
		section, field, _ := strings.Cut(key, ".")
		body, ok := sections[section]
		if !ok {
			t.Errorf("docs/config.md has no section for [%s]", section)
			continue
		}
		if !strings.Contains(body, "| `"+field+"` |") {
			t.Errorf("docs/config.md does not document %s in its [%s] table", field, section)
		}
	}
}

func TestStartOrder(t *testing.T) {
	src := `
[[container]]
name = "web"
image = "busybox"
depends_on = ["app"]
[[container]]
name = "app"
image = "busybox"
links = ["db:database"]
[[container]]
name = "db"
image = "busybox"
[[container]]
name = "other"
image = "busybox"
`
	c, err := Parse("f.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ct := range c.StartOrder() {
		names = append(names, ct.Name)
	}
	if got, want := strings.Join(names, ","), "db,app,web,other"; got != want {
		t.Errorf("order %s, want %s", got, want)
	}
}

func TestParsePort(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want PortMapping
	}{
		{"8000", PortMapping{ContainerPort: 8000, Proto: "tcp"}},
		{"8080:8000", PortMapping{HostPort: 8080, ContainerPort: 8000, Proto: "tcp"}},
		{"127.0.0.1:8080:8000", PortMapping{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 8000, Proto: "tcp"}},
		{"53:53/udp", PortMapping{HostPort: 53, ContainerPort: 53, Proto: "udp"}},
		{"127.0.0.1::80", PortMapping{HostIP: "127.0.0.1", ContainerPort: 80, Proto: "tcp"}},
	} {
		got, err := ParsePort(tc.spec)
		if err != nil || got != tc.want {
			t.Errorf("ParsePort(%q) = %+v, %v; want %+v", tc.spec, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "a:b", "1:2:3:4", "::", "1.2.3:80:80", "80/icmp"} {
		if _, err := ParsePort(bad); err == nil {
			t.Errorf("ParsePort(%q) accepted", bad)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Size
	}{
		{"512", 512}, {"1k", KiB}, {"10GB", 10 * GiB}, {"2GiB", 2 * GiB}, {"100G", 100 * GiB},
		{"1.5m", 3 * MiB / 2}, {"1T", TiB}, {" 64 MiB ", 64 * MiB},
	} {
		got, err := ParseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "XB", "10XB", "1..2G", "-5G", "1e400G"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}

func TestPositionsIndex(t *testing.T) {
	src := `# comment
[host]
hostname = "h" # trailing
[[container]]
name = 'a'
command = [
  "sh",   # first
  "-c", """multi
line""",
]
[container.extra]
x = { y = 1, z = [2, 3] }
[[container]]
"name" = "b"
`
	p := indexPositions([]byte(src))
	for path, want := range map[string]Pos{
		"host.hostname":             {3, 12},
		"container[0].name":         {5, 8},
		"container[0].command[0]":   {7, 3},
		"container[0].command[2]":   {8, 9},
		"container[0].extra.x.z[1]": {12, 22},
		"container[1].name":         {14, 10},
	} {
		if got := p.value(path); got != want {
			t.Errorf("%s at %v, want %v", path, got, want)
		}
	}
	if got := p.keys["container[1].name"]; got != (Pos{14, 1}) {
		t.Errorf("key container[1].name at %v", got)
	}
}

// schemaKeys lists every key berth.toml accepts, as "section.key".
func schemaKeys() []string {
	var keys []string
	ct := reflect.TypeOf(Config{})
	for i := range ct.NumField() {
		sec := ct.Field(i)
		name := sec.Tag.Get("toml")
		if name == "-" {
			continue
		}
		st := sec.Type
		if st.Kind() == reflect.Slice {
			st = st.Elem()
		}
		for j := range st.NumField() {
			keys = append(keys, name+"."+st.Field(j).Tag.Get("toml"))
		}
	}
	return keys
}

func TestParseVolumeOptions(t *testing.T) {
	for spec, want := range map[string]Volume{
		"/a:/b":      {HostPath: "/a", ContainerPath: "/b"},
		"/a:/b:ro":   {HostPath: "/a", ContainerPath: "/b", ReadOnly: true},
		"/a:/b:z":    {HostPath: "/a", ContainerPath: "/b", Relabel: "z"},
		"/a:/b:ro,Z": {HostPath: "/a", ContainerPath: "/b", ReadOnly: true, Relabel: "Z"},
		"/a:/b:Z,rw": {HostPath: "/a", ContainerPath: "/b", Relabel: "Z"},
	} {
		if got, err := ParseVolume(spec); err != nil || got != want {
			t.Errorf("%s: %+v, %v", spec, got, err)
		}
	}
	for _, bad := range []string{"/a:/b:z,Z", "/a:/b:shared", "/a:/b:ro,ro"} {
		if _, err := ParseVolume(bad); err == nil {
			t.Errorf("%s was accepted", bad)
		}
	}
}

// TestDeviceAndInterfaceNames accepts what bare metal needs: a MAC
// address for the interface, stable device names for the disks.
func TestDeviceAndInterfaceNames(t *testing.T) {
	src := "[network]\ninterface = \"52:54:00:12:34:56\"\n[storage]\nstate_disk = \"PARTLABEL=berth-state\"\n" +
		"data_device = \"/dev/disk/by-id/nvme-Samsung_SSD_980_S64DNX0R123456\"\nmetadata_device = \"LABEL=meta\"\n[image]\nkernel = \"generic\"\n"
	c, err := Parse("berth.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if c.Network.Interface != "52:54:00:12:34:56" || c.Image.Kernel != KernelGeneric {
		t.Errorf("interface %q, kernel %q", c.Network.Interface, c.Image.Kernel)
	}
	if got := c.PoolConfig(nil).MetadataDevice; got != "/dev/disk/by-label/meta" {
		t.Errorf("metadata_device LABEL=meta opens %q", got)
	}
}
