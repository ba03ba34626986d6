package lake

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// legacyLake writes a lake of the per-organization-and-hour layout, as an
// older spoor did: the current parts' rows without organization_id and
// date_key, under organization_id=ORG/date_key=HOUR/. It returns the
// events per organization.
func legacyLake(t *testing.T, dir string) map[string]int {
	t.Helper()
	ctx := context.Background()
	src := t.TempDir()
	s := openStore(t, src)
	want := map[string]int{"o1": 300, "o/2": 200}
	for org, n := range want {
		if _, err := s.Append(ctx, synth(t, org, n, 1600000000000, 1700000000000)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	cur := newPartSchema().schema
	old := parquet.Group{}
	for _, f := range cur.Fields() {
		if f.Name() != "organization_id" && f.Name() != "date_key" {
			old[f.Name()] = f
		}
	}
	oldSchema := parquet.NewSchema("event", old)
	conv, err := parquet.Convert(oldSchema, cur)
	if err != nil {
		t.Fatal(err)
	}
	// Split every current part by organization and hour.
	parts, _ := filepath.Glob(filepath.Join(src, lakeDir, eventsDir, "day=*", "*.parquet"))
	n := 0
	for _, p := range parts {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		r := parquet.NewGenericReader[partRow](f)
		rows := make([]partRow, 10000)
		k, _ := r.Read(rows)
		r.Close()
		f.Close()
		groups := map[[2]string][]partRow{}
		for _, row := range rows[:k] {
			key := [2]string{row.OrganizationId, row.DateKey}
			groups[key] = append(groups[key], row)
		}
		for key, rows := range groups {
			pdir := filepath.Join(dir, lakeDir, eventsDir, orgPrefix+escapePathValue(key[0]), datePrefix+key[1])
			if err := os.MkdirAll(pdir, 0o755); err != nil {
				t.Fatal(err)
			}
			out, err := os.Create(filepath.Join(pdir, fmt.Sprintf("part-01HZZZZZZZZZZZZZZZZZZZZZ%02d.parquet", n%100)))
			if err != nil {
				t.Fatal(err)
			}
			n++
			// Rows in the current schema, then projected onto the old one.
			buf := parquet.NewGenericBuffer[partRow](cur)
			buf.Write(rows)
			prows := make([]parquet.Row, len(rows))
			rr := buf.Rows()
			m, _ := rr.ReadRows(prows)
			rr.Close()
			if _, err := conv.Convert(prows[:m]); err != nil {
				t.Fatal(err)
			}
			w := parquet.NewWriter(out, oldSchema)
			if _, err := w.WriteRows(prows[:m]); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			out.Close()
		}
	}
	return want
}

// An older lake is migrated on open: every event once, in its own
// organization, in day parts; no directory of the older layout left.
func TestLegacyLayoutMigrated(t *testing.T) {
	dir := t.TempDir()
	want := legacyLake(t, dir)
	if old, _ := filepath.Glob(filepath.Join(dir, lakeDir, eventsDir, orgPrefix+"*", "*", "*.parquet")); len(old) < 4 {
		t.Fatalf("%d legacy parts written, want several", len(old))
	}
	s := openStore(t, dir)
	defer s.Close(context.Background())
	for org, n := range want {
		if got, d := count(t, s, org); got != int64(n) || d != int64(n) {
			t.Errorf("%s: %d events, %d distinct after migration; want %d once each", org, got, d, n)
		}
	}
	if old, _ := filepath.Glob(filepath.Join(dir, lakeDir, eventsDir, orgPrefix+"*")); len(old) != 0 {
		t.Errorf("older layout left after migration: %v", old)
	}
	// The migrated events dedupe as before: appending them again stores none.
	res, err := s.Append(context.Background(), synth(t, "o1", want["o1"], 1600000000000, 1700000000000))
	if err != nil || res.Stored != 0 {
		t.Errorf("appending the migrated events again: %+v, %v; want all duplicates", res, err)
	}
}

// TestMigrateCrashChild is the child of TestMigrationKilledAtEachStep: it
// opens the lake in $SPOOR_TEST_CRASH_DIR (which migrates it) and kills
// itself at step $SPOOR_TEST_CRASH_AT.
func TestMigrateCrashChild(t *testing.T) {
	n := 0
	fault, ok := crashAt(&n)
	if !ok {
		t.Skip("run by TestMigrationKilledAtEachStep")
	}
	s, err := Open(context.Background(), os.Getenv("SPOOR_TEST_CRASH_DIR"), Options{Fault: fault})
	if err != nil {
		t.Fatal(err)
	}
	s.Abandon()
	fmt.Printf("steps=%d\n", n)
}

// A migration killed at any of its steps leaves every event exactly once
// after the next open.
func TestMigrationKilledAtEachStep(t *testing.T) {
	template := t.TempDir()
	want := legacyLake(t, template)
	const child = "TestMigrateCrashChild"
	steps := childSteps(t, child, copyLake(t, template))
	if steps < 8 {
		t.Fatalf("%d migration steps seen, too few to test", steps)
	}
	// Every step of the first part's migration (each kind of step: mkdir,
	// create, journal, sync, remove, syncdir, unjournal) and of the end.
	for at := 1; at <= steps; at++ {
		if at > 10 && at < steps-2 {
			continue
		}
		dir := copyLake(t, template)
		killChild(t, child, dir, at)
		s := openStore(t, dir)
		for org, n := range want {
			if got, d := count(t, s, org); got != int64(n) || d != int64(n) {
				t.Fatalf("killed at step %d of %d: %s has %d events, %d distinct after reopening; want %d once each", at, steps, org, got, d, n)
			}
		}
		s.Close(context.Background())
	}
	t.Logf("killed a migration at steps of %d", steps)
}
