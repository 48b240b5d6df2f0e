//go:build appliance

package tests

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth/qemu"
)

// TestStateAcrossReboot boots the default appliance (loopback pool) twice
// on one disk, and checks in the second boot what the first left:
//   - the first boot formats the blank disk and creates the pool; the
//     second finds both, and the data written on a thin device;
//   - the bridge's address allocations (the netconf package's
//     TestIPAMAcrossReboot, in two phases);
//   - containers: stopped ones are still in ps -a; always and
//     unless-stopped ones run again, except an unless-stopped one the user
//     stopped; a restart=no one stays exited, its log kept.
func TestStateAcrossReboot(t *testing.T) {
	parallel(t)
	bin := guestTestBinary(t, "berth/netconf")
	initrd := buildImageWith(t, "../examples/default.toml", false, map[string]string{"/tests/netconf.test": bin})
	disk := []qemu.Drive{{Path: sparseDisk(t, "state.img", 4<<30)}}
	ipam := func(vm *qemu.VM, phase string) {
		t.Helper()
		out, code, err := vm.Run("BERTH_TEST_PHASE="+phase+" /tests/netconf.test -test.run TestIPAMAcrossReboot -test.v 2>&1", 2*time.Minute)
		if err != nil || code != 0 || !strings.Contains(out, "--- PASS: TestIPAMAcrossReboot") {
			t.Errorf("IPAM phase %s (status %d, %v):\n%s", phase, code, err, out)
		}
	}

	vm := boot(t, initrd, `berth: ready`, qemu.Options{Drives: disk})
	for _, want := range []string{"formatting /dev/vda as the state disk", "state disk /dev/vda mounted on /var/lib/berth",
		"WARNING: the thin pool uses loopback files", "creating a new pool", "creating the base device (10240 MiB)"} {
		if !strings.Contains(vm.Log(), want) {
			t.Errorf("first boot: console lacks %q", want)
		}
	}
	run(t, vm, "berth storage create c1")
	run(t, vm, "p=$(berth storage activate c1) && mkdir -p /mnt/c1 && mount $p /mnt/c1 && echo persisted-data > /mnt/c1/file && umount /mnt/c1 && berth storage deactivate c1")
	info := run(t, vm, "berth info")
	for _, want := range []string{"Storage Driver: devicemapper", "Pool Name: berth-pool", "Pool Blocksize: 65.54kB",
		"Base Device Size: 10.74GB", "Backing Filesystem: ext4", "Data loop file: /var/lib/berth/devicemapper/data",
		"Metadata loop file: /var/lib/berth/devicemapper/metadata", "Data Space Total: 107.4GB", "Metadata Space Total: 2.147GB",
		"Thin Pool Minimum Free Space: 10.74GB", "Transaction Id: ", "Backing Filesystem Free: ", "Data Space Used:", "Data Space Available:",
		"Metadata Space Used:", "Metadata Space Available:"} {
		if !strings.Contains(info, want) {
			t.Errorf("berth info lacks %q:\n%s", want, info)
		}
	}
	ipam(vm, "1")
	run(t, vm, "berth run -d --name always --restart always busybox sleep 3600 >/dev/null")
	run(t, vm, "berth run -d --name unless --restart unless-stopped busybox sleep 3600 >/dev/null")
	run(t, vm, "berth run -d --name stopped --restart unless-stopped busybox sleep 3600 >/dev/null && berth stop -t 1 stopped >/dev/null")
	run(t, vm, "berth run --name once busybox echo done")
	shutdownWith(t, vm, "reboot", "berth: reboot: stopping all processes")

	vm = boot(t, initrd, `berth: ready`, qemu.Options{Drives: disk})
	for _, unwanted := range []string{"formatting", "creating a new pool", "creating the base device"} {
		if strings.Contains(vm.Log(), unwanted) {
			t.Errorf("second boot: console says %q", unwanted)
		}
	}
	ls := run(t, vm, "berth storage ls")
	if !regexp.MustCompile(`(?m)^c1\s+\d+\s+10.7\d*GB\s+base\s+false$`).MatchString(ls) {
		t.Errorf("berth storage ls after reboot:\n%s", ls)
	}
	out := run(t, vm, "p=$(berth storage activate c1) && mount $p /mnt && cat /mnt/file && umount /mnt")
	if strings.TrimSpace(out) != "persisted-data" {
		t.Errorf("after reboot the device holds %q", out)
	}
	ipam(vm, "2")
	eventually(t, vm, "berth inspect -f '{{.State.Status}}' always unless", time.Minute,
		func(out string) bool { return out == "running\nrunning" })
	for name, want := range map[string]string{"stopped": "exited", "once": "exited"} {
		if got := run(t, vm, "berth inspect -f '{{.State.Status}}' "+name); got != want {
			t.Errorf("%s is %q after the reboot, want %q", name, got, want)
		}
	}
	if out := run(t, vm, "berth logs once"); out != "done" {
		t.Errorf("the log of once after the reboot: %q", out)
	}
	shutdownWith(t, vm, "kill -INT 1", "berth: reboot: stopping all processes")
}

// foreignDisks makes two disks that hold data, random bytes and an ext4
// filesystem with another label, for a guest with the default config
// (state_disk auto) to boot with. untouched checks, once the guest is
// off, that berth said why it skipped each, kept its state in memory and
// wrote neither.
func foreignDisks(t *testing.T) (drives []qemu.Drive, untouched func(vm *qemu.VM)) {
	t.Helper()
	random := sparseDisk(t, "random.img", 64<<20)
	junk := make([]byte, 1<<20)
	rand.Read(junk)
	f, err := os.OpenFile(random, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(junk, 0)
	f.Close()
	other := sparseDisk(t, "other.img", 64<<20)
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-L", "precious", other).CombinedOutput(); err != nil {
		t.Fatalf("mkfs: %v %s", err, out)
	}
	before := []string{fileHash(t, random), fileHash(t, other)}
	return []qemu.Drive{{Path: random}, {Path: other}}, func(vm *qemu.VM) {
		t.Helper()
		for _, want := range []string{
			"skipping /dev/vda: it is neither blank nor labelled berth-state (berth never formats a disk with data on it)",
			"skipping /dev/vdb: it is neither blank nor labelled berth-state",
			"WARNING: no state disk; /var/lib/berth is in memory and nothing will persist",
		} {
			if !strings.Contains(vm.Log(), want) {
				t.Errorf("console lacks %q", want)
			}
		}
		if after := []string{fileHash(t, random), fileHash(t, other)}; after[0] != before[0] || after[1] != before[1] {
			t.Errorf("a foreign disk was written to")
		}
	}
}

func fileHash(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return string(sum[:])
}

// TestCrashConsistency kills QEMU (as a power cut would) in the middle of
// a loop creating snapshots on a pool on block devices, then boots again:
// the pool opens, berth's record agrees with the pool's own metadata, and
// thin_check (from Debian's thin-provisioning-tools) passes.
func TestCrashConsistency(t *testing.T) {
	parallel(t)
	initrd := buildImage(t, "testdata/blockdev.toml", false)
	state, data, meta := sparseDisk(t, "state.img", 1<<30), sparseDisk(t, "data.img", 2<<30), sparseDisk(t, "meta.img", 64<<20)
	drives := []qemu.Drive{{Path: state}, {Path: data}, {Path: meta}}

	vm := boot(t, initrd, `berth: ready`, qemu.Options{Drives: drives})
	if !strings.Contains(run(t, vm, "berth info"), "Data file: /dev/vdb") {
		t.Errorf("berth info does not show the data device")
	}
	if err := vm.Send("i=0; while berth storage create s$i; do echo made-s$i; i=$((i+1)); done\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := vm.Expect(`made-s6\r?\n`, cmdTimeout); err != nil {
		t.Fatal(err)
	}
	vm.Kill()
	vm.Wait(10 * time.Second)
	thinCheck(t, meta)

	vm = boot(t, initrd, `berth: ready`, qemu.Options{Drives: drives})
	if strings.Contains(vm.Log(), "FAILED") {
		t.Fatalf("a boot step failed after the crash")
	}
	ls := run(t, vm, "berth storage ls")
	t.Logf("after the crash:\n%s", ls)
	run(t, vm, "berth storage create after-crash && berth storage rm after-crash")
	if err := vm.Poweroff(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	thinCheck(t, meta)

	// berth's record (on the state disk) and the pool's metadata list the
	// same devices and the same transaction.
	poolIDs, poolTxn := thinDump(t, meta)
	record := readRecord(t, state)
	var recordIDs []int
	for _, d := range record.Devices {
		recordIDs = append(recordIDs, d.ID)
	}
	sort.Ints(recordIDs)
	if record.Intent != nil {
		t.Errorf("an intent is still open after recovery: %+v", record.Intent)
	}
	if strconv.Itoa(record.TransactionID) != poolTxn || !equalInts(recordIDs, poolIDs) {
		t.Errorf("record: transaction %d devices %v; pool: transaction %s devices %v", record.TransactionID, recordIDs, poolTxn, poolIDs)
	}
}

func thinCheck(t *testing.T, meta string) {
	t.Helper()
	if out, err := exec.Command("thin_check", meta).CombinedOutput(); err != nil {
		t.Fatalf("thin_check %s: %v\n%s", meta, err, out)
	}
}

// thinDump lists the device ids and the transaction id in pool metadata.
func thinDump(t *testing.T, meta string) ([]int, string) {
	t.Helper()
	out, err := exec.Command("thin_dump", meta).Output()
	if err != nil {
		t.Fatalf("thin_dump: %v", err)
	}
	var ids []int
	for _, m := range regexp.MustCompile(`<device dev_id="(\d+)"`).FindAllStringSubmatch(string(out), -1) {
		n, _ := strconv.Atoi(m[1])
		ids = append(ids, n)
	}
	sort.Ints(ids)
	txn := regexp.MustCompile(`transaction="(\d+)"`).FindStringSubmatch(string(out))
	if txn == nil {
		t.Fatalf("no transaction in thin_dump output")
	}
	return ids, txn[1]
}

// record is the part of berth's metadata.json the test compares.
type record struct {
	TransactionID int                         `json:"transaction_id"`
	Devices       map[string]struct{ ID int } `json:"devices"`
	Intent        *struct{ Op, Name string }  `json:"intent"`
}

// readRecord reads berth's metadata.json out of the state disk image.
func readRecord(t *testing.T, state string) record {
	t.Helper()
	out, err := exec.Command("debugfs", "-R", "cat /devicemapper/metadata.json", state).Output()
	if err != nil {
		t.Fatalf("debugfs: %v", err)
	}
	var r record
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("metadata.json: %v\n%s", err, out)
	}
	return r
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
