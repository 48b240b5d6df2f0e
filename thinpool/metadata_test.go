package thinpool

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestPlanAtEveryCrashPoint walks a create, a snapshot and a delete through
// each point where a crash can stop them, and checks that plan brings the
// record and the pool back in step.
func TestPlanAtEveryCrashPoint(t *testing.T) {
	base := func() *Metadata {
		m := newMetadata()
		m.TransactionID = 4
		m.Devices["base"] = &ThinDevice{ID: 1, Size: 10 << 30, Ready: true}
		return m
	}
	for _, tc := range []struct {
		name    string
		intent  *Intent
		poolTxn uint64
		want    recovery
		devices []string // device names after recovery
		txn     uint64
	}{
		{"no intent, in step", nil, 4, recovery{}, []string{"base"}, 4},
		{"create: crashed before the kernel call", &Intent{Op: "create", Name: "c", ID: 2, TransactionID: 5}, 4,
			recovery{deleteID: 2, discard: true}, []string{"base"}, 4},
		{"create: crashed after the transaction id moved", &Intent{Op: "create", Name: "c", ID: 2, TransactionID: 5}, 5,
			recovery{commit: true, discard: true}, []string{"base", "c"}, 5},
		{"snapshot: crashed between create_snap and set_transaction_id", &Intent{Op: "snapshot", Name: "s", ID: 3, Origin: "base", TransactionID: 5}, 4,
			recovery{deleteID: 3, discard: true}, []string{"base"}, 4},
		{"delete: crashed before or after the kernel call", &Intent{Op: "delete", Name: "base", ID: 1, TransactionID: 5}, 4,
			recovery{deleteID: 1, moveTxn: true, commit: true, discard: true}, nil, 5},
		{"delete: crashed after the transaction id moved", &Intent{Op: "delete", Name: "base", ID: 1, TransactionID: 5}, 5,
			recovery{commit: true, discard: true}, nil, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base()
			m.Intent = tc.intent
			r, err := m.plan(tc.poolTxn)
			if err != nil {
				t.Fatal(err)
			}
			if r != tc.want {
				t.Fatalf("plan = %+v, want %+v", r, tc.want)
			}
			// Carry the plan out on the record as open does.
			if r.commit {
				m.apply(m.Intent)
			}
			if r.discard {
				m.Intent = nil
			}
			var names []string
			for n := range m.Devices {
				names = append(names, n)
			}
			sort.Strings(names)
			if strings.Join(names, ",") != strings.Join(tc.devices, ",") || m.TransactionID != tc.txn {
				t.Errorf("after recovery: devices %v txn %d, want %v txn %d", names, m.TransactionID, tc.devices, tc.txn)
			}
		})
	}
}

func TestPlanRefusesAForeignPool(t *testing.T) {
	m := newMetadata()
	m.TransactionID = 4
	if _, err := m.plan(9); err == nil || !strings.Contains(err.Error(), "does not belong to this pool") {
		t.Errorf("plan(9) = %v", err)
	}
	m.Intent = &Intent{Op: "create", Name: "x", ID: 2, TransactionID: 5}
	if _, err := m.plan(7); err == nil {
		t.Error("plan accepted a pool two transactions away")
	}
	m.Intent.TransactionID = 9
	if _, err := m.plan(4); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("plan with a wrong intent id = %v", err)
	}
}

func TestMetadataSaveLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "metadata.json")
	if m, err := loadMetadata(path); m != nil || err != nil {
		t.Fatalf("missing file: %v, %v", m, err)
	}
	m := newMetadata()
	m.Devices["base"] = &ThinDevice{ID: 1, Size: 1 << 30, Ready: true}
	m.Intent = &Intent{Op: "snapshot", Name: "c1", ID: 2, Origin: "base", TransactionID: 1}
	if err := m.save(path); err != nil {
		t.Fatal(err)
	}
	back, err := loadMetadata(path)
	if err != nil || back.Devices["base"].ID != 1 || back.Intent.Name != "c1" {
		t.Fatalf("loaded %+v, %v", back, err)
	}
	os.WriteFile(path, []byte("{not json"), 0o600)
	if _, err := loadMetadata(path); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("corrupt file: %v", err)
	}
}

func TestAllocateIDSkipsUsed(t *testing.T) {
	m := newMetadata()
	m.Devices["a"] = &ThinDevice{ID: 1}
	m.Devices["b"] = &ThinDevice{ID: 2}
	if id, _ := m.allocateID(); id != 3 {
		t.Errorf("allocated %d, want 3", id)
	}
	m.NextID = MaxDeviceID
	if id, _ := m.allocateID(); id != MaxDeviceID {
		t.Errorf("allocated %d, want %d", id, MaxDeviceID)
	}
	if id, _ := m.allocateID(); id != 3 {
		t.Errorf("after wrapping, allocated %d, want 3 (1 and 2 are used)", id)
	}
}
