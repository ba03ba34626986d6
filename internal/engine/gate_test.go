package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/engine/gatetest"
)

// twoOrgLake writes a lake of two organizations the way the lake lays them
// out, with a plain DuckDB that has no lockdown: one day part shared by
// both, sorted by organization (docs/lake.md), so only the events view's
// organization filter keeps orgB's rows out. orgB's rows carry markers that
// must never reach orgA's answers.
type twoOrgLake struct {
	dir          string
	partA, partB string // the same shared part
	journalB     string
}

const victimMarker = "b-secret"

func newTwoOrgLake(t testing.TB) twoOrgLake {
	t.Helper()
	dir := t.TempDir()
	l := twoOrgLake{dir: dir}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p := filepath.Join(dir, "events", "day=2020-09-17", "part-01.parquet")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	rows := func(org, exe, host string) string {
		return fmt.Sprintf(`SELECT '%s-id-' || i AS _id, '%s' AS organization_id, '2020-09-17-17' AS date_key, '%s-agent' AS agent_id,
			make_timestamp(1600362902289000 + i * 1000000) AS event_time, 'audit' AS event_type, '%s' AS hostname, '%s' AS exe,
			['-c', '%s'] AS args, '{"Marker":"%s"}' AS raw, CAST(0 AS BIGINT) AS _lifted FROM range(20) t(i)`, org, org, host, host, exe, exe, exe)
	}
	q := fmt.Sprintf(`COPY (%s UNION ALL %s ORDER BY organization_id, agent_id, event_time) TO '%s' (FORMAT parquet)`,
		rows("orgA", "/usr/bin/a-own", "a-host"), rows("orgB", "/usr/bin/"+victimMarker, "b-host"), p)
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
	l.partA, l.partB = p, p
	l.journalB = filepath.Join(dir, "alerts", "organization_id=orgB", "alerts.jsonl")
	if err := os.MkdirAll(filepath.Dir(l.journalB), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(l.journalB, []byte(`{"alert":{"alert_id":"x","title":"`+victimMarker+`","version":1}}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l twoOrgLake) scopeA() Scope {
	return Scope{Org: "orgA", Files: []string{l.partA}, CheckColumns: true}
}

func (l twoOrgLake) paths() gatetest.Paths {
	return gatetest.Paths{Lake: l.dir, VictimOrg: "orgB", Part: l.partB, Journal: l.journalB}
}

// readAll runs a user statement and returns its rows rendered as text.
func readAll(ctx context.Context, e *Engine, s Scope, q string) (string, error) {
	rows, err := e.UserQuery(ctx, s, q)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var b strings.Builder
	b.WriteString(strings.Join(cols, ",") + "\n")
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		fmt.Fprintln(&b, vals...)
	}
	return b.String(), rows.Err()
}

// body is an answer without its header line.
func body(out string) string { _, rest, _ := strings.Cut(out, "\n"); return rest }

// Every attack of the corpus is refused as the user's fault, or answers
// orgA's rows only.
func TestGateRefusesEveryWayAcrossOrganizations(t *testing.T) {
	l := newTwoOrgLake(t)
	e := openEngine(t, Options{AllowedDir: l.dir})
	ctx := context.Background()
	for _, a := range gatetest.Attacks(l.paths()) {
		out, err := readAll(ctx, e, l.scopeA(), a.SQL)
		var se *SQLError
		switch {
		case a.Refuse && err == nil:
			t.Errorf("%s: ran and answered %.200q; want it refused\n%s", a.Name, out, a.SQL)
		case a.Refuse && !errors.As(err, &se):
			t.Errorf("%s: %v is not a SQLError (the user's fault)", a.Name, err)
		case !a.Refuse && err != nil:
			t.Errorf("%s: refused: %v\n%s", a.Name, err, a.SQL)
		case !a.Refuse && (strings.Contains(body(out), victimMarker) || strings.Contains(body(out), "b-host")):
			t.Errorf("%s: answered orgB's rows: %.300q", a.Name, out)
		case !a.Refuse && !strings.Contains(out, "orgA"):
			t.Errorf("%s: answered no row of orgA: %.300q", a.Name, out)
		}
		if err != nil && strings.Contains(err.Error(), victimMarker) {
			t.Errorf("%s: the error shows orgB's data: %v", a.Name, err)
		}
	}
}

// A refusal names the reference it refused.
func TestGateNamesTheReference(t *testing.T) {
	l := newTwoOrgLake(t)
	e := openEngine(t, Options{AllowedDir: l.dir})
	for q, want := range map[string]string{
		`WITH "x.parquet" AS (SELECT * FROM "x.parquet") SELECT * FROM "x.parquet"`: `"x.parquet"`,
		`SELECT * FROM pg_settings`:                                    `pg_settings`,
		`SELECT * FROM read_text('/etc/passwd')`:                       `read_text`,
		`SELECT current_setting('threads')`:                            `current_setting`,
		`SELECT exe FROM events, secrets`:                              `secrets`,
		`SELECT pg_get_viewdef(0)`:                                     `pg_get_viewdef`,
		`SELECT 1; SELECT 2`:                                           `2 statements`,
		`DELETE FROM events`:                                           `SELECT`,
		`SELECT * FROM events AT (VERSION => 1)`:                       `AT`,
		`WITH a AS (SELECT * FROM b), b AS (SELECT 1) SELECT * FROM a`: `"b"`,
	} {
		_, err := e.UserQuery(context.Background(), l.scopeA(), q)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error naming %s", q, err, want)
		}
	}
}

// Each layer stands on its own: the sandbox's binder alone refuses every
// attack that names a file of the lake, even one the parser layer passed.
func TestGateSandboxAloneRefusesFiles(t *testing.T) {
	l := newTwoOrgLake(t)
	e := openEngine(t, Options{AllowedDir: l.dir})
	ctx := context.Background()
	n := 0
	for _, a := range gatetest.Attacks(l.paths()) {
		if !a.Refuse || a.NameOnly || !strings.Contains(a.SQL, l.dir) {
			continue
		}
		var js string
		if err := e.db.QueryRowContext(ctx, "SELECT CAST(json_serialize_sql(?::VARCHAR) AS VARCHAR)", a.SQL).Scan(&js); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(js, `"error":true`) || strings.Count(js, `"node"`) == 0 {
			continue // not one SELECT: the parser refuses it before any binding
		}
		n++
		err := mustSandbox(t, e).check(ctx, a.SQL)
		var se *SQLError
		if !errors.As(err, &se) {
			t.Errorf("%s: the sandbox passed it (%v)\n%s", a.Name, err, a.SQL)
		}
	}
	if n < 20 {
		t.Fatalf("only %d attacks on files reached the sandbox; the corpus lost its file attacks", n)
	}
}

// The parser layer alone refuses what the sandbox cannot see: functions
// that read settings, and names that bind to the catalog.
func TestGateParserAloneRefusesSettings(t *testing.T) {
	e := openEngine(t, Options{})
	for _, q := range []string{
		"SELECT current_setting('allowed_directories')",
		"WITH pg_settings AS (SELECT * FROM pg_settings) SELECT * FROM pg_settings",
		"SELECT * FROM events WHERE exe = getvariable('x')",
		`WITH "a.parquet" AS (SELECT * FROM "a.parquet") SELECT * FROM "a.parquet"`,
	} {
		var js string
		if err := e.db.QueryRow("SELECT CAST(json_serialize_sql(?::VARCHAR) AS VARCHAR)", q).Scan(&js); err != nil {
			t.Fatal(err)
		}
		var se *SQLError
		if err := checkSerialized(js); !errors.As(err, &se) {
			t.Errorf("%s: the parser layer passed it (%v)", q, err)
		}
	}
}

func mustSandbox(t testing.TB, e *Engine) *sandbox {
	t.Helper()
	sb, err := e.sandbox()
	if err != nil {
		t.Fatal(err)
	}
	return sb
}
