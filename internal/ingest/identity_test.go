package ingest

import (
	"os"
	"path/filepath"
	"testing"
)

// The host is part of a source's identity: one audit.log (no node=) sent
// as host A and then as host B is two hosts' events, stored twice; sent as
// A again, the same _ids. An _id the record carries itself is kept.
func TestHostIsPartOfTheID(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "audit.log")
	if err := os.WriteFile(log, []byte(auditLines), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := filepath.Join(dir, "ts.json")
	if err := os.WriteFile(ts, []byte(`{"_id":"own-1","event_time":1600000000000,"exe":"/bin/x"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ids := func(host string) map[string]int {
		_, c := runFiles(t, Options{Host: host}, log, ts)
		return c.ids
	}
	a, b, again := ids("host-a"), ids("host-b"), ids("host-a")
	if len(a) != 2 || len(b) != 2 {
		t.Fatalf("ids %v and %v, want 2 events each", a, b)
	}
	for id := range a {
		if again[id] != 1 {
			t.Errorf("_id %s of host-a not derived again: %v", id, again)
		}
		if b[id] > 0 && id != "own-1" {
			t.Errorf("_id %s is both host-a's and host-b's", id)
		}
	}
	if a["own-1"] != 1 || b["own-1"] != 1 {
		t.Errorf("the record's own _id was not kept: %v, %v", a, b)
	}
}

// Records that carry nothing identifying them (no record number, no _id)
// are known by a hash of their content. Identical ones next to each other
// in an input are separate events (Sysmon logs two equal process accesses
// in one millisecond; OTRF's newer exports have no RecordNumber): each gets
// an _id of its own, and reading the input again gives the same _ids.
func TestIdenticalRecordsKeptApart(t *testing.T) {
	dir := t.TempDir()
	nx := `{"TimeCreated":"2020-10-18 10:56:11.127","SourceName":"Microsoft-Windows-Sysmon","EventID":10,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"WS5","SourceImage":"C:\\svchost.exe","GrantedAccess":"0x1000"}`
	ts := `{"event_time":1600000000000,"event_type":"audit","exe":"/bin/x"}`
	if err := os.WriteFile(filepath.Join(dir, "sysmon.json"), []byte(nx+"\n"+nx+"\n"+nx+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ts.json"), []byte(ts+"\n"+ts+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"sysmon.json", "ts.json"} {
		_, first := runFiles(t, Options{}, filepath.Join(dir, f))
		_, again := runFiles(t, Options{}, filepath.Join(dir, f))
		n := 0
		for id, k := range first.ids {
			n += k
			if k != 1 || again.ids[id] != 1 {
				t.Errorf("%s: _id %s given %d times, read again %d", f, id, k, again.ids[id])
			}
		}
		if n < 2 || len(first.ids) != n {
			t.Errorf("%s: %d events under %d _ids", f, n, len(first.ids))
		}
	}
}
