package thinpool

import (
	"testing"
)

func TestTargetsRoundTrip(t *testing.T) {
	targets := []Target{
		PoolTarget(2097152, Dev{253, 1}, Dev{7, 0}),
		ThinTarget(20971520, Dev{253, 2}, 42),
	}
	if got := targets[0].Params; got != "253:1 7:0 128 32768 2 skip_block_zeroing error_if_no_space" {
		t.Errorf("pool params %q", got)
	}
	if got := targets[1].Params; got != "253:2 42" {
		t.Errorf("thin params %q", got)
	}
	data, err := encodeTargets(targets)
	if err != nil {
		t.Fatal(err)
	}
	if len(data)%8 != 0 {
		t.Errorf("table of %d bytes is not 8-byte aligned", len(data))
	}
	// On load, next is relative to each spec; on status it is relative to
	// the data start. Rewrite the first next into the status form.
	first := int(data[20]) | int(data[21])<<8
	back, err := decodeTargets(data, 2)
	if err != nil {
		t.Fatal(err)
	}
	if first == 0 || len(back) != 2 || back[0] != targets[0] || back[1].Type != "thin" || back[1].Params != "253:2 42" {
		t.Errorf("decoded %+v", back)
	}
}

func TestParsePoolStatus(t *testing.T) {
	st, err := ParsePoolStatus("7 141/524288 1024/16384 - rw no_discard_passdown error_if_no_space - 393216")
	if err != nil {
		t.Fatal(err)
	}
	want := PoolStatus{TransactionID: 7, MetadataUsed: 141, MetadataTotal: 524288, DataUsed: 1024, DataTotal: 16384,
		Mode: "rw", ErrorIfNoSpace: true}
	if st != want {
		t.Errorf("got %+v, want %+v", st, want)
	}
	if p := st.DataFreePercent(); p < 93.7 || p > 93.8 {
		t.Errorf("free %.2f%%, want 93.75%%", p)
	}
	st, _ = ParsePoolStatus("3 10/20 30/40 - out_of_data_space discard_passdown queue_if_no_space needs_check")
	if st.Mode != "out_of_data_space" || !st.NeedsCheck || st.ErrorIfNoSpace {
		t.Errorf("got %+v", st)
	}
	if st, _ := ParsePoolStatus("Fail"); st.Mode != "fail" {
		t.Errorf("Fail parsed as %+v", st)
	}
	for _, bad := range []string{"", "1 2 3", "x 1/2 3/4 - rw a b c", "1 12 3/4 - rw a b c"} {
		if _, err := ParsePoolStatus(bad); err == nil {
			t.Errorf("ParsePoolStatus(%q) accepted", bad)
		}
	}
}

func TestMessages(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{msgCreateThin(7), "create_thin 7"},
		{msgCreateSnap(9, 1), "create_snap 9 1"},
		{msgDelete(9), "delete 9"},
		{msgSetTransactionID(4, 5), "set_transaction_id 4 5"},
	} {
		if tc.got != tc.want {
			t.Errorf("message %q, want %q", tc.got, tc.want)
		}
	}
	b := encodeMessage("delete 9")
	if len(b) != 8+len("delete 9")+1 || string(b[:8]) != "\x00\x00\x00\x00\x00\x00\x00\x00" || string(b[8:]) != "delete 9\x00" {
		t.Errorf("payload % x", b)
	}
}
