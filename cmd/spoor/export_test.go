package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
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
	// An organization named twice is exported once.
	stdout.Reset()
	twice := exportOptions{data: dataFlags{Dir: data}, to: filepath.Join(dir, "out2"), orgs: []string{"acme", "acme"}}
	if err := runExport(context.Background(), twice, &stdout, &stderr); err != nil || !strings.Contains(stdout.String(), "exported 1 organization, 2 events") {
		t.Errorf("--org acme --org acme: %v\n%s", err, stdout.String())
	}
	o.force, o.orgs = true, []string{"acme"}
	if err := runExport(context.Background(), o, &stdout, &stderr); err != nil {
		t.Errorf("a forced export of acme: %v", err)
	}

	ddb := duckOver(t, out)
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

// On real telemetry (CloudTrail, Sysmon and Security as spoor ships them)
// and a generated fleet of Threat Stack events (whose typed fields the
// lake keeps out of raw), each exported raw is the whole original event
// that spoor search --format ndjson prints, key for key and value for value.
func TestExportRawIsTheOriginal(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	fleet := filepath.Join(dir, "fleet.ndjson")
	if code := run([]string{"gen", "--hosts", "3", "--rate", "5", "--start", "2020-09-13", "--days", "1", "--scenarios", "none", "--out", fleet}); code != 0 {
		t.Fatalf("gen: exit %d", code)
	}
	var b bytes.Buffer
	if err := runIngest(context.Background(), ingestOptions{data: dataFlags{Dir: data, Org: "acme"}, format: "auto"}, []string{fleet,
		"../../internal/demodata/data/cloudtrail", "../../internal/demodata/data/windows/cmd_lsass_memory_dumpert_syscalls.zip"}, &b, &b); err != nil {
		t.Fatalf("ingest: %v\n%s", err, b.String())
	}
	out := filepath.Join(dir, "out")
	if err := runExport(context.Background(), exportOptions{data: dataFlags{Dir: data}, to: out}, &b, &b); err != nil {
		t.Fatalf("export: %v\n%s", err, b.String())
	}
	b.Reset()
	if err := runSearch(context.Background(), searchOptions{data: dataFlags{Dir: data}, format: "ndjson", stderr: &b}, `_id != null`, &b); err != nil {
		t.Fatal(err)
	}
	// Search answers in event_time, then _id order; an original may have
	// no _id of its own (spoor derived one), so rows pair by that order.
	var originals []any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		originals = append(originals, decodeJSON(t, line))
	}
	rows, err := duckOver(t, out).Query("SELECT raw, event_type FROM events ORDER BY event_time, _id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n, kinds := 0, map[string]bool{}
	for rows.Next() {
		var raw, kind string
		if err := rows.Scan(&raw, &kind); err != nil {
			t.Fatal(err)
		}
		if n >= len(originals) {
			t.Fatalf("more events exported than the lake's %d", len(originals))
		}
		if got := decodeJSON(t, raw); !reflect.DeepEqual(got, originals[n]) {
			t.Fatalf("raw of event %d\nexported %s\noriginal %v", n, raw, originals[n])
		}
		n++
		kinds[kind] = true
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(originals) || len(kinds) < 6 {
		t.Errorf("%d events exported of types %v, %d in the lake", n, kinds, len(originals))
	}
}

func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, s)
	}
	return v
}

// duckOver opens a plain DuckDB with the events view spoor lake ddl
// prints for the export at out, as a user outside spoor would.
func duckOver(t *testing.T, out string) *sql.DB {
	t.Helper()
	var ddl bytes.Buffer
	if err := runLakeDDL(ddlOptions{engine: "duckdb", location: out}, &ddl); err != nil {
		t.Fatal(err)
	}
	ddb, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ddb.Close() })
	if _, err := ddb.Exec(ddl.String()); err != nil {
		t.Fatalf("%s: %v", ddl.String(), err)
	}
	return ddb
}
