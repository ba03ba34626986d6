package fim

import (
	"testing"
)

// FuzzRecord feeds the baseline's record decoder arbitrary bytes: it must
// never panic, and whatever it accepts must encode and decode to the same
// record.
func FuzzRecord(f *testing.F) {
	seeds := []Record{
		{Kind: KindFile, Size: 5, Mtime: 1e18, Ctime: 1e18 + 1, Mode: 0o4755, UID: 0, GID: 0, Dev: 2049, Ino: 42,
			Hashed: true, SHA256: [32]byte{1, 2, 3}},
		{Kind: KindFile, Size: 1 << 40, Skipped: true},
		{Kind: KindDir, Mode: 0o755, UID: 1000, GID: 1000},
		{Kind: KindSymlink, Link: "../usr/bin/true"},
		{Kind: KindOther, Mtime: -1},
	}
	for _, r := range seeds {
		f.Add(r.encode(nil))
	}
	f.Add([]byte{})
	f.Add([]byte{1, 3, 0, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		again, err := decodeRecord(r.encode(nil))
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v (%+v)", err, r)
		}
		if again != r {
			t.Fatalf("round trip changed the record: %+v, then %+v", r, again)
		}
	})
}

func TestRecordRoundTrip(t *testing.T) {
	r := Record{Kind: KindSymlink, Size: 9, Mtime: 123, Ctime: 456, Mode: 0o777, UID: 7, GID: 8, Dev: 9, Ino: 10, Link: "target"}
	got, err := decodeRecord(r.encode(nil))
	if err != nil || got != r {
		t.Fatalf("got %+v, %v; want %+v", got, err, r)
	}
	for _, bad := range [][]byte{nil, {2, 1, 0}, {1, 9, 0}, {1, 1, 4}, append(r.encode(nil), 0)} {
		if _, err := decodeRecord(bad); err == nil {
			t.Errorf("decodeRecord(%v) accepted", bad)
		}
	}
}
