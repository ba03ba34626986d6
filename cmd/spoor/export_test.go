package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// spoor export writes every organization, reports each on stderr and the
// whole on stdout, refuses a second export without --force, and the
// DuckDB table spoor lake ddl prints reads it back; s3:// and an unknown
// organization or engine are bad usage.
func TestExportCommand(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "fleet.ndjson")
	var lines strings.Builder
	for i, org := range []string{"acme", "beta/..", "acme", "it's"} {
		lines.WriteString(`{"_id":"e` + string(rune('0'+i)) + `","organization_id":"` + org + `","agent_id":"a","event_time":` +
			[]string{"1600362902289", "1600362902290", "1600366502289", "1600362902291"}[i] + `,"event_type":"audit","exe":"/bin/x"}` + "\n")
	}
	if err := os.WriteFile(file, []byte(lines.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	ingestInto(t, data, file)
	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	o := exportOptions{data: dataFlags{Dir: data}, to: out}
	if err := runExport(context.Background(), o, &stdout, &stderr); err != nil {
		t.Fatalf("export: %v\n%s", err, stderr.String())
	}
	if s := stdout.String(); !strings.Contains(s, "exported 3 organizations, 4 events in 4 files (") {
		t.Errorf("summary:\n%s", s)
	}
	for _, w := range []string{"organization 1 of 3, acme: 2 events in 2 files", "organization 2 of 3, beta/..: 1 event in 1 file", "organization 3 of 3, it's: 1 event"} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("progress lacks %q:\n%s", w, stderr.String())
		}
	}
	if err := runExport(context.Background(), o, &stdout, &stderr); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("a second export: %v, want a refusal naming --force", err)
	}
	o.force, o.orgs = true, []string{"acme"}
	if err := runExport(context.Background(), o, &stdout, &stderr); err != nil {
		t.Errorf("a forced export of acme: %v", err)
	}

	var ddl bytes.Buffer
	if err := runLakeDDL(ddlOptions{engine: "duckdb", location: out}, &ddl); err != nil {
		t.Fatal(err)
	}
	ddb, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer ddb.Close()
	if _, err := ddb.Exec(ddl.String()); err != nil {
		t.Fatalf("%s: %v", ddl.String(), err)
	}
	var got string
	if err := ddb.QueryRow("SELECT string_agg(organization_id || ':' || _id, ' ' ORDER BY _id) FROM events").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want := "acme:e0 beta/..:e1 acme:e2 it's:e3"; got != want {
		t.Errorf("the export reads back as %q, want %q", got, want)
	}

	for _, args := range [][]string{
		{"export", "--data", data, "--to", "s3://bucket/prefix"},
		{"export", "--data", data, "--to", out, "--org", "nosuch"},
		{"export", "--data", data},
		{"lake", "ddl", "--engine", "hive"},
		{"lake", "ddl", "--engine", "trino", "--table", "events"},
	} {
		if code := run(args); code != 2 {
			t.Errorf("spoor %q: exit %d, want 2", args, code)
		}
	}
	if code := run([]string{"export", "--data", data, "--to", out}); code != 1 {
		t.Errorf("an export over an earlier one: exit %d, want 1", code)
	}
}
