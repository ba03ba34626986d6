package engine

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func openEngine(t testing.TB, opts Options) *Engine {
	t.Helper()
	if opts.AllowedDir == "" {
		opts.AllowedDir = t.TempDir()
	}
	e, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// User SQL is one SELECT over events and alerts: no files, no other
// databases, no settings.
func TestUserSQLLockdown(t *testing.T) {
	e := openEngine(t, Options{})
	ctx := context.Background()
	secret := filepath.Join(t.TempDir(), "secret.csv")
	if err := os.WriteFile(secret, []byte("a,b\n1,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	refused := []string{
		"SELECT * FROM read_csv('/etc/passwd')",
		"SELECT * FROM read_csv_auto('" + secret + "')",
		"SELECT * FROM '/etc/passwd'",
		"SELECT * FROM read_text('/etc/passwd')",
		"SELECT * FROM read_parquet('/tmp/*.parquet')",
		"SELECT * FROM glob('/*')",
		"ATTACH '/tmp/x.duckdb' AS x",
		"SET enable_external_access = true",
		"SET memory_limit = '100GB'",
		"RESET lock_configuration",
		"PRAGMA database_list",
		"COPY (SELECT 1) TO '/tmp/out.csv'",
		"EXPORT DATABASE '/tmp/dump'",
		"INSTALL httpfs",
		"LOAD httpfs",
		"CREATE TABLE t AS SELECT 1",
		"SELECT current_setting('allowed_directories')",
		"SELECT getenv('HOME')",
		"SELECT * FROM duckdb_settings()",
		"SELECT * FROM main.events",
		"SELECT * FROM other_table",
		"SELECT 1; SELECT 2",
		"WITH x AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM x",
		"SELECT (SELECT count(*) FROM read_csv('/etc/passwd'))",
		"SELECT * FROM query('SELECT 1')",
		"",
	}
	for _, q := range refused {
		rows, err := e.UserQuery(ctx, Scope{Org: "o"}, q)
		if err == nil {
			rows.Close()
			t.Errorf("%q ran; want it refused", q)
			continue
		}
		var se *SQLError
		if !errors.As(err, &se) {
			t.Errorf("%q: %v is not a SQLError (the user's fault)", q, err)
		}
	}
	allowed := []string{
		"SELECT count(*) FROM events",
		"SELECT * FROM alerts",
		"WITH e AS (SELECT exe FROM events) SELECT exe, count(*) FROM e GROUP BY exe",
		"SELECT a.exe FROM events a JOIN events b ON a.\"_id\" = b.\"_id\" WHERE a.raw->>'x' = '1'",
	}
	for _, q := range allowed {
		rows, err := e.UserQuery(ctx, Scope{Org: "o"}, q)
		if err != nil {
			t.Errorf("%q refused: %v", q, err)
			continue
		}
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			t.Errorf("%q: %v", q, err)
		}
		rows.Close()
	}
}

// Even SQL that slips past the check cannot read outside the lake: DuckDB's
// own external access is off.
func TestEngineReadsOnlyTheLake(t *testing.T) {
	e := openEngine(t, Options{})
	rows, err := e.Query(context.Background(), Scope{Org: "o"}, "SELECT * FROM read_csv('/etc/passwd')")
	if err == nil {
		rows.Close()
		t.Fatal("trusted path read /etc/passwd")
	}
	if !strings.Contains(err.Error(), "disabled") && !strings.Contains(err.Error(), "Permission") && !strings.Contains(err.Error(), "not allowed") {
		t.Errorf("unexpected error: %v", err)
	}
}

func TestQueryTimeout(t *testing.T) {
	e := openEngine(t, Options{Timeout: 200 * time.Millisecond})
	start := time.Now()
	rows, err := e.Query(context.Background(), Scope{Org: "o"}, "SELECT count(*) FROM range(10000000000) a, range(1000) b")
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
	}
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("timeout took %v to take effect", d)
	}
}

func TestMemoryLimit(t *testing.T) {
	e := openEngine(t, Options{MemoryLimit: "64MB"})
	rows, err := e.Query(context.Background(), Scope{Org: "o"}, "SELECT list(range) FROM range(100000000)")
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
	}
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "memory") {
		t.Fatalf("got %v, want an out-of-memory error under a 64MB limit", err)
	}
}

// A scope answers exactly its organization's rows of a part both
// organizations share, directly and through CTEs; a scope of another name
// over the same part sees none of them.
func TestScopeFixesOrganization(t *testing.T) {
	l := newTwoOrgLake(t)
	e := openEngine(t, Options{AllowedDir: l.dir})
	ctx := context.Background()
	scopeB := Scope{Org: "orgB", Files: []string{l.partB}, CheckColumns: true}
	// Every row of one organization's part: 20 ids, its host and exe.
	want := func(org, host, exe string) string {
		var b strings.Builder
		for i := range 20 {
			fmt.Fprintf(&b, "%s-id-%d %s %s\n", org, i, host, exe)
		}
		return b.String()
	}
	wantA, wantB := want("orgA", "a-host", "/usr/bin/a-own"), want("orgB", "b-host", "/usr/bin/"+victimMarker)
	for _, q := range []string{
		"SELECT _id, hostname, exe FROM events ORDER BY event_time",
		"WITH mine AS (SELECT * FROM events) SELECT _id, hostname, exe FROM mine ORDER BY event_time",
		"WITH events AS (SELECT * FROM events) SELECT _id, hostname, exe FROM events ORDER BY event_time",
		"WITH a AS (WITH b AS (SELECT * FROM events) SELECT * FROM b) SELECT _id, hostname, exe FROM a ORDER BY event_time",
		"WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 1) SELECT _id, hostname, exe FROM events, r ORDER BY event_time",
	} {
		for _, c := range []struct {
			s    Scope
			want string
		}{{l.scopeA(), wantA}, {scopeB, wantB}} {
			out, err := readAll(ctx, e, c.s, q)
			if err != nil {
				t.Errorf("%s: %s: %v", c.s.Org, q, err)
				continue
			}
			if body(out) != c.want {
				t.Errorf("%s: %s:\n%s\nwant exactly its own 20 rows:\n%s", c.s.Org, q, body(out), c.want)
			}
		}
	}
	// The shared part read under the name o'1: none of its rows are o'1's;
	// the alerts say o'1, not orgB.
	s := Scope{Org: "o'1", Files: []string{l.partB}, CheckColumns: true, AlertFiles: []string{l.journalB}, Alerts: true}
	out, err := readAll(ctx, e, s, "SELECT DISTINCT organization_id FROM events UNION ALL SELECT DISTINCT organization_id FROM alerts")
	if err != nil {
		t.Fatal(err)
	}
	if body(out) != "o'1\n" {
		t.Errorf("organization_id of the scope's events and alerts: %q, want o'1 once (from its alerts; no events)", body(out))
	}
	// A scope without files is empty, and well typed, though the lake holds
	// parts of its organization.
	out, err = readAll(ctx, e, Scope{Org: "orgA"}, "SELECT organization_id FROM events UNION ALL SELECT organization_id FROM alerts")
	if err != nil || body(out) != "" {
		t.Errorf("empty scope: %q, %v", out, err)
	}
}

// The alerts view is bound only for statements that read it: a statement
// over events does not touch the alert journals (here a journal that is not
// there, which binding would trip on), and a connection that bound one
// organization's alerts for an earlier statement leaves no view behind for
// the next.
func TestAlertsViewOnlyWhenRead(t *testing.T) {
	l := newTwoOrgLake(t)
	e := openEngine(t, Options{AllowedDir: l.dir, Threads: 1})
	ctx := context.Background()
	gone := Scope{Org: "orgA", Files: []string{l.partA}, CheckColumns: true, AlertFiles: []string{filepath.Join(l.dir, "alerts", "gone.jsonl")}}
	for _, q := range []string{"SELECT 1", "SELECT count(*) FROM events", "SELECT 'alerts' AS a FROM events LIMIT 1"} {
		if _, err := readAll(ctx, e, gone, q); err != nil {
			t.Errorf("%s: %v (a statement that reads no alerts bound their view)", q, err)
		}
	}
	if _, err := readAll(ctx, e, gone, "SELECT count(*) FROM alerts"); err == nil {
		t.Error("a statement over alerts ran without its journal")
	}
	for _, q := range []string{"SELECT count(*) FROM alerts", "WITH a AS (SELECT * FROM ALERTS) SELECT count(*) FROM a",
		"SELECT (SELECT count(*) FROM alerts) FROM events LIMIT 1", "DESCRIBE SELECT * FROM alerts"} {
		st, err := e.Gate(ctx, q)
		if err != nil || !st.ReadsAlerts() {
			t.Errorf("%s: reads alerts %v, %v", q, st.ReadsAlerts(), err)
		}
	}
	// orgB's alerts on the engine's (only) connection, then orgA's trusted
	// SQL naming alerts without binding them: no view of orgB is left.
	sb := Scope{Org: "orgB", Files: []string{l.partB}, CheckColumns: true, AlertFiles: []string{l.journalB}}
	if _, err := readAll(ctx, e, sb, "SELECT count(*) FROM alerts"); err != nil {
		t.Fatal(err)
	}
	rows, err := e.Query(ctx, l.scopeA(), "SELECT count(*) FROM alerts")
	if err == nil {
		rows.Close()
		t.Error("an unbound alerts view answered: a connection kept another scope's view")
	}
}
