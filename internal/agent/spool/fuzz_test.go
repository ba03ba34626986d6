package spool

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
)

// frame renders one record as internal/wal frames it, for seeds.
func frame(payload []byte) []byte {
	hdr := make([]byte, 12, 12+len(payload))
	copy(hdr, "spw\x01")
	binary.LittleEndian.PutUint32(hdr[4:], uint32(len(payload)))
	tab := crc32.MakeTable(crc32.Castagnoli)
	binary.LittleEndian.PutUint32(hdr[8:], crc32.Update(crc32.Checksum(hdr[:8], tab), tab, payload))
	return append(hdr, payload...)
}

// FuzzSpool opens a spool whose two segments and meta.json are arbitrary
// bytes: it must neither fail nor hold more than its record limit, read
// what it finds once, and then take and give back new events intact.
func FuzzSpool(f *testing.F) {
	rec := append(make([]byte, 8), `{"_id":"x"}`...)
	good := append(frame(rec), frame(rec)...)
	f.Add(good, []byte{}, []byte(`{"version":1,"ack":{"Segment":1,"Offset":0},"has_ack":true}`))
	f.Add(good[:len(good)-3], frame(rec), []byte(`{"version":1,"floor":{"Segment":2,"Offset":0},"dropped":7}`))
	f.Add([]byte("spw\x01\xff\xff\xff\x7f"), []byte{0, 0, 0, 0}, []byte(`{"version":1,"ack":{"Segment":9,"Offset":-1}}`))
	f.Add(good, good, []byte(`not json`))
	f.Fuzz(func(t *testing.T, seg1, seg2, metaText []byte) {
		dir := t.TempDir()
		for name, b := range map[string][]byte{"00000001.wal": seg1, "00000002.wal": seg2, metaFile: metaText} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		const limit = 1 << 10
		s, err := Open(dir, Options{MaxRecordBytes: limit, MaxBytes: 1 << 20})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		defer s.Close()
		seen := 0
		for {
			recs, err := s.Read(16, 4<<10)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if len(recs) == 0 {
				break
			}
			for _, r := range recs {
				if len(r.Data) > limit {
					t.Fatalf("read a %d-byte event past the %d-byte limit", len(r.Data), limit)
				}
			}
			seen += len(recs)
			if seen > len(seg1)+len(seg2) {
				t.Fatalf("read %d events out of %d bytes", seen, len(seg1)+len(seg2))
			}
			if err := s.Ack(recs[len(recs)-1].Pos, len(recs)); err != nil {
				t.Fatal(err)
			}
		}
		want := [][]byte{[]byte(`{"a":1}`), []byte(`{"b":2}`)}
		if _, err := s.Append(context.Background(), want); err != nil {
			t.Fatalf("append after repair: %v", err)
		}
		recs, err := s.Read(16, 4<<10)
		if err != nil || len(recs) != 2 || string(recs[0].Data) != `{"a":1}` || string(recs[1].Data) != `{"b":2}` {
			t.Fatalf("after repair read %d records (%v), want the 2 appended", len(recs), err)
		}
	})
}
