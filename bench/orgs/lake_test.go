package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/duckdb/duckdb-go/v2"
)

// writeParts writes one Parquet file per entry of parts (its path under
// lake/events: its rows, as organization, day and hour) with DuckDB. Files
// of the per-organization layout carry no organization_id column: their
// path names it.
func writeParts(t *testing.T, dir string, withOrg bool, parts map[string][][3]string) {
	t.Helper()
	conn, err := duckdb.NewConnector("", nil)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	for rel, rows := range parts {
		path := filepath.Join(dir, "lake", "events", rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		values := ""
		for i, r := range rows {
			if i > 0 {
				values += ", "
			}
			values += fmt.Sprintf("('%s', 'agent', TIMESTAMP '%s %s:30:00')", r[0], r[1], r[2])
		}
		cols := "agent_id, event_time"
		if withOrg {
			cols = "organization_id, " + cols
		}
		q := fmt.Sprintf("COPY (SELECT %s FROM (VALUES %s) v(organization_id, agent_id, event_time)) TO '%s' (FORMAT parquet)", cols, values, path)
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// The parts holding each organization's events of a day are counted alike
// in the per-organization layout and in parts shared by organizations.
func TestMeasureLake(t *testing.T) {
	ctx := context.Background()
	check := func(name string, withOrg bool, parts map[string][][3]string, wantParts, wantDays int, want []int) {
		t.Helper()
		dir := t.TempDir()
		writeParts(t, dir, withOrg, parts)
		l, err := measureLake(ctx, dir, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if l.parts != wantParts || l.days != wantDays || !slices.Equal(l.perOrg, want) || l.bytes <= 0 {
			t.Errorf("%s: %d parts, %d days, per organization and day %v, %d bytes; want %d parts, %d days, %v",
				name, l.parts, l.days, l.perOrg, l.bytes, wantParts, wantDays, want)
		}
		// The same files again: the counts are kept, not read again.
		again, err := measureLake(ctx, dir, &l)
		if err != nil || !slices.Equal(again.perOrg, l.perOrg) || again.days != l.days {
			t.Errorf("%s: measured again %v, %d days (%v)", name, again.perOrg, again.days, err)
		}
	}
	// A part per organization and hour: a has 2 parts on day 1 and 1 on
	// day 2, b 1 on day 1.
	check("per organization", false, map[string][][3]string{
		"organization_id=a/date_key=2024-06-01-00/part-1.parquet": {{"a", "2024-06-01", "00"}},
		"organization_id=a/date_key=2024-06-01-05/part-2.parquet": {{"a", "2024-06-01", "05"}, {"a", "2024-06-01", "05"}},
		"organization_id=a/date_key=2024-06-02-00/part-3.parquet": {{"a", "2024-06-02", "00"}},
		"organization_id=b/date_key=2024-06-01-00/part-4.parquet": {{"b", "2024-06-01", "00"}},
	}, 4, 2, []int{1, 1, 2})
	// Shared parts of a day: a is in both of day 1's parts, b in one, c in
	// day 2's only.
	check("shared", true, map[string][][3]string{
		"day=2024-06-01/part-1.parquet": {{"a", "2024-06-01", "00"}, {"b", "2024-06-01", "03"}},
		"day=2024-06-01/part-2.parquet": {{"a", "2024-06-01", "07"}},
		"day=2024-06-02/part-3.parquet": {{"c", "2024-06-02", "01"}, {"c", "2024-06-02", "09"}},
	}, 3, 2, []int{1, 1, 2})
}

// Senders get whole organizations, or shares of one when there are fewer
// organizations than senders; no piece spans two organizations or exceeds
// its limit, and together they hold every line once.
func TestPieces(t *testing.T) {
	ds := &dataset{refs: make([]lineRef, 10), segs: []segment{{org: "a", from: 0, to: 7}, {org: "b", from: 7, to: 10}}}
	check := func(n, limit, wantPieces int) {
		t.Helper()
		ps := ds.pieces(n, limit)
		next := 0
		for _, p := range ps {
			s := ds.segs[0]
			if p.from >= 7 {
				s = ds.segs[1]
			}
			if p.from != next || p.to > s.to || p.org != s.org || (limit > 0 && p.to-p.from > limit) {
				t.Errorf("pieces(%d, %d): %+v after line %d", n, limit, p, next)
			}
			next = p.to
		}
		if next != 10 || len(ps) != wantPieces {
			t.Errorf("pieces(%d, %d) = %+v: want %d pieces over 10 lines", n, limit, ps, wantPieces)
		}
	}
	check(1, 0, 2)   // one per organization
	check(2, 0, 2)   // as many organizations as senders
	check(4, 0, 4)   // a: 4+3, b: 2+1
	check(1, 3, 4)   // a: 3+3+1, b: 3
	check(20, 0, 10) // no piece is empty
}
