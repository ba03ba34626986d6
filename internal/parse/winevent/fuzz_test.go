package winevent

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
)

func checkEvent(t *testing.T, e *event.Event) {
	t.Helper()
	if len(e.Raw) > event.MaxEventBytes || !jsonValid(e.Raw) || len(e.Raw) == 0 || e.Raw[0] != '{' {
		t.Fatalf("bad raw: %q", e.Raw)
	}
	if !e.Has(event.EventTime) || !e.Has(event.EventType) {
		t.Fatal("no event_time or event_type")
	}
}

func FuzzConvert(f *testing.F) {
	for _, name := range []string{"beat_4648.json", "beat_sysmon1.json", "dump_4648.json", "dump_sysmon1.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if files, _ := filepath.Glob(filepath.Join(nxlogDir, "*.zip")); len(files) > 0 {
		for _, z := range files[:1] {
			for _, l := range zipLines(f, z)[:40] {
				f.Add(l)
			}
		}
	}
	if files, _ := filepath.Glob(filepath.Join(regressionDir, "rules/windows/*/*/*.json")); len(files) > 0 {
		for _, p := range files[:min(len(files), 10)] {
			for _, r := range jsonRecords(f, p) {
				f.Add([]byte(r))
			}
		}
	}
	f.Add([]byte(`{"EventID":"0x10","Channel":"Security","Hostname":"h","EventTime":"2020-01-01 00:00:00","EventReceivedTime":"2020-01-01 01:00:00","@timestamp":"2020-01-01T05:00:00Z"}`))
	f.Fuzz(func(t *testing.T, v []byte) {
		var e event.Event
		err := Convert(v, &e)
		if err != nil {
			var re *event.RejectError
			if !errors.As(err, &re) {
				t.Fatalf("not a RejectError: %v", err)
			}
			return
		}
		checkEvent(t, &e)
		if !Looks(v) {
			t.Fatal("converted but Looks is false")
		}
	})
}

// FuzzEVTX mutates the used part of a real chunk; the harness puts it
// back in a file (the real file header, the chunk padded to 64 KiB) and,
// when fix is set, recomputes the checksums so the mutation reaches the
// binary XML reader. A second copy of the chunk follows, unmutated, which
// must always be read.
func FuzzEVTX(f *testing.F) {
	var small string
	if files, _ := filepath.Glob(filepath.Join(regressionDir, "rules/windows/process_creation/proc_creation_win_findstr_recon_everyone/*.evtx")); len(files) > 0 {
		small = files[0]
	}
	if small == "" {
		f.Skip("no regression .evtx to seed from")
	}
	b, err := os.ReadFile(small)
	if err != nil {
		f.Fatal(err)
	}
	header, good := b[:fileHeaderSize], b[fileHeaderSize:fileHeaderSize+chunkSize]
	var want collect
	if err := (Decoder{}).Decode(context.Background(), bytes.NewReader(b), &want); err != nil || len(want.events) == 0 {
		f.Fatalf("seed file: %v, %d events", err, len(want.events))
	}
	used := good[:binary.LittleEndian.Uint32(good[0x30:])]
	f.Add(bytes.Clone(used), false)
	f.Add(bytes.Clone(used), true)
	f.Add(bytes.Clone(used[:chunkHdrSize+100]), true)
	f.Fuzz(func(t *testing.T, chunk []byte, fix bool) {
		if len(chunk) > chunkSize {
			chunk = chunk[:chunkSize]
		}
		in := append(bytes.Clone(header), chunk...)
		in = append(in, make([]byte, chunkSize-len(chunk))...)
		if fix && len(chunk) >= chunkHdrSize {
			fixCRCs(in[fileHeaderSize:])
		}
		in = append(in, good...)
		var c collect
		if err := (Decoder{}).Decode(context.Background(), bytes.NewReader(in), &c); err != nil {
			t.Fatal(err)
		}
		for _, e := range c.events {
			checkEvent(t, e)
		}
		if len(c.events) < len(want.events) {
			t.Fatalf("%d events, the good chunk alone has %d", len(c.events), len(want.events))
		}
	})
}
