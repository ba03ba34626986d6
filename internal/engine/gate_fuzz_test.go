package engine

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/engine/gatetest"
)

// fuzzLake is one two-organization lake and engine for a whole fuzz run.
var fuzzLake struct {
	once sync.Once
	l    twoOrgLake
	e    *Engine
	err  error
}

// gateForms are the pieces FuzzGate builds statements from: the table
// references and the shapes around them that the attack corpus uses.
func gateForms(l twoOrgLake) (refs, shapes []string) {
	glob := l.dir + "/events/*/*/*.parquet"
	refs = []string{
		"events", "alerts", "EVENTS", `"events"`, "еvents", "events_full", "pg_settings", "duckdb_views()",
		`"` + glob + `"`, "'" + glob + "'", `"` + l.partB + `"`, "'" + l.partB + "'",
		"read_parquet('" + glob + "')", "parquet_scan('" + l.partB + "')", "read_text('" + l.partB + "')",
		"read_blob('" + glob + "')", "glob('" + l.dir + "/*')", "range(3)", "unnest([1, 2])", "x", "t",
		"temp.main.events", "(SELECT * FROM events)", "(FROM '" + l.partB + "')", "query_table('events')",
	}
	// {R} is a table reference, {N} a CTE name.
	shapes = []string{
		"SELECT * FROM {R}",
		"WITH {N} AS (SELECT * FROM {R}) SELECT * FROM {N}",
		"WITH {N} AS (SELECT * FROM {N}) SELECT * FROM {R}",
		"WITH RECURSIVE {N} AS (SELECT * FROM {R} UNION ALL SELECT * FROM {N}) SELECT * FROM {N} LIMIT 3",
		"WITH a AS (WITH {N} AS (SELECT * FROM {R}) SELECT * FROM {N}) SELECT * FROM a",
		"WITH a AS (SELECT * FROM {N}), {N} AS (SELECT * FROM {R}) SELECT * FROM a",
		"SELECT (SELECT string_agg(CAST(COLUMNS(*) AS VARCHAR), ',') FROM {R}) AS v",
		"SELECT * FROM events WHERE exe IN (SELECT exe FROM {R})",
		"SELECT exe FROM events UNION ALL SELECT exe FROM {R}",
		"SELECT * FROM events, LATERAL (SELECT * FROM {R}) x",
		"SELECT * FROM (SELECT * FROM {R}) PIVOT (count(*) FOR exe IN ('x'))",
		"SELECT * FROM events e JOIN {R} r ON true",
		"SELECT * FROM /* c */ {R} -- c",
		"DESCRIBE SELECT * FROM {R}",
		"SUMMARIZE SELECT * FROM {R}",
		"SELECT 1; SELECT * FROM {R}",
		"FROM {R}",
	}
	return refs, shapes
}

// FuzzGate builds statements from the attack forms (recipe picks a shape, a
// CTE name and table references) and also runs arbitrary text: no
// statement the gate lets through answers a row of the other organization.
func FuzzGate(f *testing.F) {
	fuzzLake.once.Do(func() {
		fuzzLake.l = newTwoOrgLake(&onceTB{})
		fuzzLake.e, fuzzLake.err = Open(context.Background(), Options{AllowedDir: fuzzLake.l.dir, Timeout: 5 * time.Second})
	})
	if fuzzLake.err != nil {
		f.Fatal(fuzzLake.err)
	}
	l, e := fuzzLake.l, fuzzLake.e
	refs, shapes := gateForms(l)
	for i := range shapes {
		f.Add([]byte{byte(i), 0, byte(i % len(refs))}, "")
		f.Add([]byte{byte(i), 8, 9}, "")
	}
	for _, a := range gatetest.Attacks(l.paths()) {
		f.Add([]byte{}, a.SQL)
	}
	names := []string{"x", "events", `"` + l.dir + "/events/*/*/*.parquet" + `"`, "pg_settings", "еvents", "t"}
	f.Fuzz(func(t *testing.T, recipe []byte, text string) {
		stmts := []string{text}
		if len(recipe) >= 3 {
			s := shapes[int(recipe[0])%len(shapes)]
			s = strings.ReplaceAll(s, "{N}", names[int(recipe[1])%len(names)])
			for i := 2; strings.Contains(s, "{R}"); i++ {
				s = strings.Replace(s, "{R}", refs[int(recipe[i%len(recipe)])%len(refs)], 1)
			}
			stmts = append(stmts, s)
		}
		for _, q := range stmts {
			if len(q) > 4096 {
				continue
			}
			out, err := readAll(context.Background(), e, l.scopeA(), q)
			if err != nil {
				if strings.Contains(err.Error(), victimMarker) {
					t.Fatalf("the error shows orgB's data: %v\n%s", err, q)
				}
				continue
			}
			for _, m := range []string{victimMarker, "b-host", "orgB"} {
				// A statement may spell a marker itself: that is no leak.
				if strings.Contains(out, m) && !strings.Contains(q, m) {
					t.Fatalf("answered orgB's rows: %.300q\n%s", out, q)
				}
			}
		}
	})
}

// onceTB gives newTwoOrgLake what it needs outside a test's lifetime: the
// fuzz engine lives for the whole process.
type onceTB struct{ testing.TB }

func (onceTB) Helper() {}
func (onceTB) TempDir() string {
	d, err := mkTemp()
	if err != nil {
		panic(err)
	}
	return d
}
func (onceTB) Fatal(args ...any) { panic(args) }

func mkTemp() (string, error) { return os.MkdirTemp("", "spoor-gate-fuzz-") }
