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
	os.WriteFile(log, []byte(auditLines), 0o644)
	ts := filepath.Join(dir, "ts.json")
	os.WriteFile(ts, []byte(`{"_id":"own-1","event_time":1600000000000,"exe":"/bin/x"}`+"\n"), 0o644)
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
