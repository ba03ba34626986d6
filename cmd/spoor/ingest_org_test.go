package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `spoor ingest --org acme` stores every event under acme, whatever
// organization the events carry, as a token's organization wins over HTTP;
// the summary names the organization that received them. Without --org
// the events' own organizations are kept and named.
func TestIngestOrgFlagWins(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "fleet.ndjson")
	if err := os.WriteFile(file, []byte(`{"_id":"o1","organization_id":"other","agent_id":"a","event_time":1600362902289,"event_type":"audit"}
{"_id":"o2","organization_id":"other","agent_id":"a","event_time":1600362902290,"event_type":"audit"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	var b bytes.Buffer
	if err := runIngest(context.Background(), ingestOptions{data: dataFlags{Dir: data, Org: "acme"}, format: "auto"}, []string{file}, &b, &b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, "organizations: acme 2") {
		t.Errorf("summary does not name acme:\n%s", out)
	}
	b.Reset()
	if err := runSQL(context.Background(), sqlOptions{data: dataFlags{Dir: data, Org: "acme"}, format: "csv"}, "SELECT count(*) AS n FROM events", &b); err != nil || b.String() != "n\n2\n" {
		t.Errorf("acme holds %q (%v), want 2 events", b.String(), err)
	}
	data2 := filepath.Join(dir, "data2")
	if out := ingestInto(t, data2, file); !strings.Contains(out, "organizations: other 2") {
		t.Errorf("summary without --org does not name the events' organization:\n%s", out)
	}
}
