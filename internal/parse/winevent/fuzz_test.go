package winevent

import (
	"bytes"
	"context"
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
	f.Add(b, false)
	f.Add(b, true)
	f.Add(b[:fileHeaderSize+chunkHdrSize+100], true)
	f.Fuzz(func(t *testing.T, in []byte, fix bool) {
		if fix && len(in) >= fileHeaderSize+chunkSize {
			// Let mutations reach the record parser past the checksums.
			in = bytes.Clone(in)
			fixCRCs(in[fileHeaderSize : fileHeaderSize+chunkSize])
		}
		var c collect
		if err := (Decoder{}).Decode(context.Background(), bytes.NewReader(in), &c); err != nil {
			return
		}
		for _, e := range c.events {
			checkEvent(t, e)
		}
	})
}
