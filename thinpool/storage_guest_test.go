//go:build guest

package thinpool

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testStorageConfig(dir string) Config {
	return Config{Name: "test-storage", Dir: dir, DataSize: 64 << 20, MetadataSize: 8 << 20, BaseSize: 64 << 20,
		MinFreePercent: 10, Mkfs: "/sbin/mkfs.ext4"}
}

// fill writes mib MiB of data straight onto the device of name.
func fill(t *testing.T, st *Storage, name string, mib int) {
	t.Helper()
	path, err := st.Activate(name)
	if err != nil {
		t.Fatal(err)
	}
	writeMiB(t, path, mib)
}

// TestStorageFloorGrowAndRecovery uses a loopback Storage beside the
// guest's own pool: the free space floor stops new devices, growing the
// pool lifts it, a change left half done is repaired at the next open, and
// a pool with a foreign metadata file is refused.
func TestStorageFloorGrowAndRecovery(t *testing.T) {
	dir := t.TempDir()
	cfg := testStorageConfig(dir)
	st, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Create("c1", ""); err != nil {
		t.Fatal(err)
	}
	fill(t, st, "c1", 60) // of 64 MiB
	if info, err := st.Info(); err != nil || info.DataUsed*100 < info.DataTotal*90 {
		t.Fatalf("after filling: %d of %d bytes used (%v); the test needs more than 90%%", info.DataUsed, info.DataTotal, err)
	}
	err = st.Create("c2", "")
	if err == nil || !strings.Contains(err.Error(), "free space floor") {
		t.Fatalf("creating a device in a full pool: %v, want the floor's error", err)
	}
	t.Logf("refused as expected: %v", err)

	if err := st.Grow(128 << 20); err != nil {
		t.Fatal(err)
	}
	info, err := st.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.DataTotal != 128<<20 {
		t.Errorf("data total %d after growing to 128 MiB", info.DataTotal)
	}
	if err := st.Create("c2", "c1"); err != nil {
		t.Fatalf("after growing: %v", err)
	}

	// Leave a snapshot half done, as a crash between create_snap and
	// set_transaction_id would: the pool has the device, the record only
	// the intent.
	m, _ := loadMetadata(st.metadataPath())
	id, _ := m.allocateID()
	m.Intent = &Intent{Op: "snapshot", Name: "half", ID: id, Origin: "c1", Size: 64 << 20, TransactionID: m.TransactionID + 1}
	if err := m.save(st.metadataPath()); err != nil {
		t.Fatal(err)
	}
	if err := st.pool.CreateSnapshot(id, m.Devices["c1"].ID, ""); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = Open(cfg)
	if err != nil {
		t.Fatalf("reopen after the half-done snapshot: %v", err)
	}
	m, _ = loadMetadata(st.metadataPath())
	if m.Intent != nil || m.Devices["half"] != nil {
		t.Errorf("after recovery: intent %+v, devices %v", m.Intent, m.Devices)
	}
	if err := st.pool.Delete(id); err == nil {
		t.Errorf("device %d is still in the pool after recovery", id)
	}
	stat, _ := st.pool.Status()
	if stat.TransactionID != m.TransactionID {
		t.Errorf("pool transaction %d, record %d", stat.TransactionID, m.TransactionID)
	}

	for _, name := range []string{"c1", "c2"} {
		if err := st.Remove(name); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Shutdown(); err != nil {
		t.Fatal(err)
	}
	st.Close()

	// A record that does not match the pool: refused, pool untouched.
	m.TransactionID += 5
	m.save(filepath.Join(dir, "metadata.json"))
	before, _ := os.ReadFile(filepath.Join(dir, "metadata"))
	if _, err := Open(cfg); err == nil || !strings.Contains(err.Error(), "does not belong to this pool") {
		t.Errorf("open with a foreign record: %v", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "metadata"))
	if string(before) != string(after) {
		t.Errorf("the pool's metadata changed although the record was refused")
	}
	ctl := control(t)
	ctl.Remove("test-storage")

	// Metadata that is not a pool at all is never formatted.
	os.WriteFile(filepath.Join(dir, "metadata"), []byte(strings.Repeat("not a pool ", 1000)), 0o600)
	os.Remove(filepath.Join(dir, "metadata.json"))
	if _, err := Open(cfg); err == nil || !strings.Contains(err.Error(), "not a thin pool") {
		t.Errorf("open over foreign metadata: %v", err)
	}
}
