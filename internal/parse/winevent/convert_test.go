package winevent

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
)

func convertFile(t *testing.T, name string) *event.Event {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if !Looks(b) {
		t.Fatalf("%s: Looks false", name)
	}
	e := new(event.Event)
	if err := Convert(b, e); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return e
}

// TestWinlogbeatMatchesDump: a Winlogbeat record and the evtx_dump record
// of the same event give the same typed fields, but summary that only
// Winlogbeat has (_subtype comes from the task number in evtx_dump).
func TestWinlogbeatMatchesDump(t *testing.T) {
	for _, pair := range [][2]string{{"beat_4648.json", "dump_4648.json"}, {"beat_sysmon1.json", "dump_sysmon1.json"}} {
		beat, dump := convertFile(t, pair[0]), convertFile(t, pair[1])
		for _, f := range event.Catalog() {
			if f.ID == event.Summary {
				continue
			}
			bv, bok := beat.Value(f.ID)
			dv, dok := dump.Value(f.ID)
			if bok != dok || bv.String() != dv.String() {
				t.Errorf("%s: %s: winlogbeat %v (%v), evtx_dump %v (%v)", pair[0], f.Name, bv, bok, dv, dok)
			}
		}
		if !beat.Has(event.Summary) || !beat.Has(event.Subtype) {
			t.Errorf("%s: no summary or _subtype", pair[0])
		}
		br, dr := rawMap(t, beat), rawMap(t, dump)
		for _, k := range []string{"EventID", "Channel", "Computer", "Provider", "EventRecordID", "ExecutionProcessID", "SubjectUserName", "ProcessId", "Image", "LogonId"} {
			if strings.TrimLeft(strings.ToLower(fmtAny(br[k])), "{") != strings.TrimLeft(strings.ToLower(fmtAny(dr[k])), "{") {
				t.Errorf("%s: raw %s: winlogbeat %v, evtx_dump %v", pair[0], k, br[k], dr[k])
			}
		}
	}
	// The typed fields themselves.
	e := convertFile(t, "dump_4648.json")
	want := map[event.FieldID]string{
		event.EventType: "winsec", event.WinEventID: "4648", event.RecordNumber: "7001", event.Hostname: "ws01.corp.example",
		event.Exe: `C:\Windows\System32\runas.exe`, event.Command: "runas.exe", event.PID: "6700",
		event.User: "admin", event.Domain: "CORP", event.Session: "255914", event.SrcIP: "10.1.2.3", event.SrcPort: "49152",
		event.Success: "true", event.EventTime: "2024-03-05T10:11:12.345Z",
	}
	checkStrings(t, e, want)
	e = convertFile(t, "beat_sysmon1.json")
	checkStrings(t, e, map[event.FieldID]string{
		event.EventType: "sysmon", event.PID: "2764", event.PPID: "10048", event.Exe: `C:\Windows\System32\taskmgr.exe`,
		event.Command: "taskmgr.exe", event.Arguments: `"C:\Windows\system32\taskmgr.exe" /4`, event.ParentExe: `C:\Windows\explorer.exe`,
		event.User: "alice", event.Domain: "CORP", event.Session: "5413603", event.Summary: "Process Create:",
		event.Subtype: "Process Create (rule: ProcessCreate)", event.EventTime: "2024-03-05T10:12:00.001Z",
	})
	if e.Has(event.Success) {
		t.Error("a Sysmon event has success")
	}
}

func fmtAny(v any) string {
	if v == nil {
		return "<nil>"
	}
	b := new(bytes.Buffer)
	b.WriteString(strings.TrimSpace(strings.Trim(strings.TrimSpace(toString(v)), `"`)))
	return b.String()
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	default:
		return strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(jsonText(x), "\n", ""), " ", ""))
	}
}

func checkStrings(t *testing.T, e *event.Event, want map[event.FieldID]string) {
	t.Helper()
	for id, w := range want {
		v, ok := e.Value(id)
		if !ok {
			t.Errorf("%s absent, want %q", event.Get(id).Name, w)
			continue
		}
		got := v.String()
		if id == event.EventTime {
			got = e.Time().Format("2006-01-02T15:04:05.000Z")
		}
		if got != w {
			t.Errorf("%s = %q, want %q", event.Get(id).Name, got, w)
		}
	}
}

// TestConvertConcurrent converts the same records from several goroutines
// (run it with -race) and checks each gives what it gives alone.
func TestConvertConcurrent(t *testing.T) {
	var recs [][]byte
	for _, n := range []string{"beat_4648.json", "beat_sysmon1.json", "dump_4648.json", "dump_sysmon1.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, b)
	}
	want := make([]string, len(recs))
	for i, r := range recs {
		var e event.Event
		if err := Convert(r, &e); err != nil {
			t.Fatal(err)
		}
		want[i] = string(e.Raw) + e.Str[event.User] + e.Str[event.Exe]
	}
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func() {
			for i := 0; i < 200; i++ {
				j := (i + g) % len(recs)
				var e event.Event
				if err := Convert(recs[j], &e); err != nil {
					done <- err
					return
				}
				if got := string(e.Raw) + e.Str[event.User] + e.Str[event.Exe]; got != want[j] {
					done <- fmt.Errorf("record %d differs under concurrency", j)
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
