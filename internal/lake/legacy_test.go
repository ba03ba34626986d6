package lake

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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

const migrateCrashEnv = "SPOOR_TEST_MIGRATE_CRASH_AT"

// TestMigrateCrashChild is the child of TestMigrationKilledAtEachStep: it
// opens the lake in $SPOOR_TEST_MIGRATE_DIR (which migrates it) and kills
// itself at step $SPOOR_TEST_MIGRATE_CRASH_AT.
func TestMigrateCrashChild(t *testing.T) {
	at, err := strconv.Atoi(os.Getenv(migrateCrashEnv))
	if err != nil {
		t.Skip("run by TestMigrationKilledAtEachStep")
	}
	n := 0
	s, err := Open(context.Background(), os.Getenv("SPOOR_TEST_MIGRATE_DIR"), Options{Fault: func(op, path string) error {
		if compactionSteps(op) {
			if n++; n == at {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {}
			}
		}
		return nil
	}})
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
	child := func(dir string, at int) (string, error) {
		c := exec.Command(os.Args[0], "-test.run=^TestMigrateCrashChild$", "-test.count=1")
		c.Env = append(os.Environ(), migrateCrashEnv+"="+strconv.Itoa(at), "SPOOR_TEST_MIGRATE_DIR="+dir)
		out, err := c.CombinedOutput()
		return string(out), err
	}
	fresh := func() string {
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS(template)); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	out, err := child(fresh(), 1<<30)
	if err != nil {
		t.Fatalf("migration without a crash: %v\n%s", err, out)
	}
	var steps int
	if i := strings.Index(out, "steps="); i < 0 {
		t.Fatalf("child printed no step count:\n%s", out)
	} else {
		fmt.Sscanf(out[i:], "steps=%d", &steps)
	}
	if steps < 8 {
		t.Fatalf("%d migration steps seen, too few to test", steps)
	}
	// Every step of the first part's migration (each kind of step: mkdir,
	// create, journal, sync, remove, syncdir, unjournal) and of the end.
	for at := 1; at <= steps; at++ {
		if at > 10 && at < steps-2 {
			continue
		}
		dir := fresh()
		out, err := child(dir, at)
		if ee, ok := err.(*exec.ExitError); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("step %d: child was not killed: %v\n%s", at, err, out)
		}
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
