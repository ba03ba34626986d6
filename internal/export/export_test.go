package export

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/engine"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/lake"
)

// The organizations of the test lake: one whose name would climb out of
// its directory, or out of a SQL string, if either took it as it is.
var testOrgs = []string{"acme", "../it's/..", "beta"}

const base = int64(1600362902289) // 2020-09-17T17:15:02.289Z

// fill stores events of org over three hours, four agents, with lifted
// fields, raw-only fields and per-host metadata. Each hour comes in two
// flushes (two parts, each sorted on its own, that only an ORDER BY puts
// in one order); the last hour stays in the head, unflushed, so the export
// reads head files too.
func fill(t testing.TB, db *datadir.DB, org string, perHour int) {
	t.Helper()
	norm := event.Normalizer{Org: org}
	ctx := context.Background()
	for h := range 3 {
		for half := range 2 {
			var evs []*event.Event
			for i := half; i < perHour; i += 2 {
				ms := base + int64(h)*3600_000 + int64((perHour-i)*997%3_500_000)
				line := fmt.Sprintf(`{"_id":"%s|%d|%d","agent_id":"agent-%d","event_time":%d,"event_type":"audit","pid":%d,`+
					`"args":["/bin/sh","-c","echo \"hi\" é"],"success":%t,"eventName":"Call%d","exe":"/usr/bin/x%d",`+
					`"tty":null,"weird":{"n":1.5,"s":"a\\b\u0001"},"agent_metadata":{"host":"h%d"}}`,
					org, h, i, i%4, ms, 100+i, i%2 == 0, i%3, i%5, i%4)
				e := new(event.Event)
				if err := norm.Normalize([]byte(line), e); err != nil {
					t.Fatal(err)
				}
				evs = append(evs, e)
			}
			if _, err := db.Lake.Append(ctx, evs); err != nil {
				t.Fatal(err)
			}
			if h < 2 {
				if err := db.Lake.Flush(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func openLake(t *testing.T, perHour int) *datadir.DB {
	t.Helper()
	ctx := context.Background()
	db, err := datadir.Open(ctx, t.TempDir(), datadir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(ctx) })
	for _, org := range testOrgs {
		fill(t, db, org, perHour)
	}
	return db
}

// recorder keeps the statements an export runs.
type recorder struct {
	*datadir.DB
	stmts []string
}

func (r *recorder) Query(ctx context.Context, org string, from, to int64, q string, args ...any) (*engine.Rows, error) {
	r.stmts = append(r.stmts, q)
	return r.DB.Query(ctx, org, from, to, q, args...)
}

func run(t *testing.T, db *datadir.DB, out string, force bool) Summary {
	t.Helper()
	return runWith(t, db, db, out, force)
}

func runWith(t *testing.T, db *datadir.DB, q Querier, out string, force bool) Summary {
	t.Helper()
	sum, err := Run(context.Background(), q, Options{Dir: out, Orgs: db.Lake.Orgs(), From: 0, To: event.MaxTime,
		Staging: filepath.Join(db.Lake.LakeDir(), "export"), Force: force})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// duck opens a plain DuckDB, as a user outside spoor would, with the
// export's view created by the DDL spoor prints.
func duck(t *testing.T, out string) *sql.DB {
	t.Helper()
	ddb, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ddb.Close() })
	ddl, err := DDL("duckdb", out, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ddb.Exec("SET TimeZone = 'UTC'; " + ddl); err != nil {
		t.Fatalf("%s: %v", ddl, err)
	}
	return ddb
}

// strs runs a query and prints each row, its values separated by tabs.
func strs(t *testing.T, rows *sql.Rows) []string {
	t.Helper()
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i, v := range vals {
			if i > 0 {
				b.WriteByte('\t')
			}
			fmt.Fprint(&b, v)
		}
		out = append(out, b.String())
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// ask runs a query on a plain DuckDB.
func ask(t *testing.T, ddb *sql.DB, q string, args ...any) []string {
	t.Helper()
	rows, err := ddb.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return strs(t, rows)
}

func spoorRows(t *testing.T, db *datadir.DB, org, q string) []string {
	t.Helper()
	rows, err := db.Query(context.Background(), org, 0, event.MaxTime, q)
	if err != nil {
		t.Fatal(err)
	}
	return strs(t, rows.Rows)
}

// The export of three organizations reads back through the DuckDB DDL
// spoor prints with the lake's counts per organization and hour, the same
// typed values and types, and raw as the whole original event; each
// organization's directory holds its events only, sorted by agent then
// time, in zstd Parquet with millisecond timestamps.
func TestExportReadsBackThroughDDL(t *testing.T) {
	db := openLake(t, 40)
	out := filepath.Join(t.TempDir(), "out")
	rec := &recorder{DB: db}
	sum := runWith(t, db, rec, out, false)
	// The organization travels in the scope, never in the SQL text.
	for _, s := range rec.stmts {
		for _, org := range testOrgs {
			if strings.Contains(s, org) {
				t.Fatalf("a statement names organization %q: %s", org, s)
			}
		}
	}
	if len(rec.stmts) != 3*(1+3) {
		t.Errorf("%d statements, want 12 (per organization: its hours, then a COPY an hour)", len(rec.stmts))
	}
	if sum.Orgs != 3 || sum.Events != 3*3*40 || sum.Files != 9 || sum.Bytes == 0 {
		t.Errorf("summary %+v, want 3 organizations, 360 events, 9 files", sum)
	}
	// Only events/ is left (no temporary directory), one directory per org.
	if ents, _ := os.ReadDir(out); len(ents) != 1 || ents[0].Name() != "events" {
		t.Errorf("the export root holds %v, want events/ only", ents)
	}
	ents, _ := os.ReadDir(filepath.Join(out, "events"))
	var dirs []string
	for _, e := range ents {
		dirs = append(dirs, e.Name())
	}
	want := []string{"organization_id=..%2Fit's%2F..", "organization_id=acme", "organization_id=beta"}
	if !slices.Equal(dirs, want) {
		t.Errorf("events/ holds %q, want %q", dirs, want)
	}
	if ents, _ := os.ReadDir(filepath.Join(db.Lake.LakeDir(), "export")); len(ents) != 0 {
		t.Errorf("the staging directory under the lake keeps %d entries", len(ents))
	}

	ddb := duck(t, out)
	for _, org := range testOrgs {
		got := ask(t, ddb, "SELECT date_key, count(*) FROM events WHERE organization_id = ? GROUP BY ALL ORDER BY 1", org)
		lakeCounts := spoorRows(t, db, org, "SELECT date_key, count(*) FROM events GROUP BY ALL ORDER BY 1")
		if len(got) != 3 || !slices.Equal(got, lakeCounts) {
			t.Errorf("%s: export counts per hour %q, lake %q", org, got, lakeCounts)
		}
		// Every typed value, as spoor's own view shows it.
		cols := "* EXCLUDE (raw)"
		exp := ask(t, ddb, "SELECT "+cols+" FROM events WHERE organization_id = ? ORDER BY _id", org)
		own := spoorRows(t, db, org, "SELECT "+cols+" FROM events ORDER BY _id")
		if !slices.Equal(exp, own) {
			t.Errorf("%s: typed columns differ\nexport %q\nlake   %q", org, first(exp), first(own))
		}
		checkRaw(t, db, ddb, org)
	}
	// The view has the columns and types of spoor's events view.
	exp := ask(t, ddb, "SELECT column_name, column_type FROM (DESCRIBE events)")
	own := spoorRows(t, db, "acme", "SELECT column_name, column_type FROM (DESCRIBE events)")
	if !slices.Equal(exp, own) {
		t.Errorf("export view columns\n%q\nspoor's events view\n%q", exp, own)
	}

	// Read without Hive partitioning, each org's files hold its own
	// events only, sorted, and no partition column.
	for _, org := range testOrgs {
		glob := filepath.Join(OrgDir(out, org), "*", "*.parquet")
		r := ask(t, ddb, `SELECT count(*), count(*) FILTER (WHERE NOT starts_with(_id, ? || '|')),
			count(*) FILTER (WHERE prev > agent_id || chr(1) || strftime(event_time, '%Y%m%d%H%M%S%g')) FROM (
			SELECT _id, agent_id, event_time, lag(agent_id || chr(1) || strftime(event_time, '%Y%m%d%H%M%S%g'))
				OVER (PARTITION BY filename ORDER BY file_row_number) AS prev
			FROM read_parquet(?, filename = true, file_row_number = true, hive_partitioning = false))`, org, glob)
		if len(r) != 1 || r[0] != "120\t0\t0" {
			t.Errorf("%s: files hold (events, of another org, out of order) %q, want 120, 0, 0", org, r)
		}
	}
	glob := filepath.Join(out, "events", "*", "*", "*.parquet")
	schema := ask(t, ddb, `SELECT DISTINCT name, coalesce(converted_type, '') FROM parquet_schema(?)
		WHERE name IN ('event_time', '_insert_time', 'timestamp', 'organization_id', 'date_key') ORDER BY 1`, glob)
	if want := []string{"_insert_time\tTIMESTAMP_MILLIS", "event_time\tTIMESTAMP_MILLIS", "timestamp\tTIMESTAMP_MILLIS"}; !slices.Equal(schema, want) {
		t.Errorf("file columns %q, want %q (and no partition column)", schema, want)
	}
	if c := ask(t, ddb, `SELECT DISTINCT compression FROM parquet_metadata(?)`, glob); !slices.Equal(c, []string{"ZSTD"}) {
		t.Errorf("compression %q, want ZSTD", c)
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// checkRaw compares each exported raw with the original spoor rebuilds.
func checkRaw(t *testing.T, db *datadir.DB, ddb *sql.DB, org string) {
	t.Helper()
	rows, err := ddb.Query("SELECT _id, raw FROM events WHERE organization_id = ?", org)
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]string{}
	for rows.Next() {
		var id, raw string
		if err := rows.Scan(&id, &raw); err != nil {
			t.Fatal(err)
		}
		exported[id] = raw
	}
	rows.Close()
	s, err := db.Search(context.Background(), org, datadir.SearchRequest{To: event.MaxTime})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	n := 0
	for s.Next() {
		var e event.Event
		if err := s.Event(&e); err != nil {
			t.Fatal(err)
		}
		n++
		id := e.Str[event.ID]
		if !sameJSON(t, exported[id], string(e.Original())) {
			t.Errorf("%s: raw of %s\nexported %s\noriginal %s", org, id, exported[id], e.Original())
			return
		}
	}
	if n != len(exported) || n == 0 {
		t.Errorf("%s: %d events in the lake, %d exported", org, n, len(exported))
	}
}

func sameJSON(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	for _, p := range []struct {
		s string
		v *any
	}{{a, &x}, {b, &y}} {
		d := json.NewDecoder(bytes.NewReader([]byte(p.s)))
		d.UseNumber()
		if err := d.Decode(p.v); err != nil {
			t.Errorf("not JSON: %s: %v", p.s, err)
			return false
		}
	}
	return reflect.DeepEqual(x, y)
}

// An existing export of an organization is refused, untouched, unless
// forced; forced, it is replaced whole.
func TestExportRefusesOverwriteUnlessForced(t *testing.T) {
	db := openLake(t, 5)
	out := t.TempDir()
	run(t, db, out, false)
	before, _ := filepath.Glob(filepath.Join(out, "events", "*", "*", "*.parquet"))
	_, err := Run(context.Background(), db, Options{Dir: out, Orgs: []string{"beta"}, To: event.MaxTime,
		Staging: filepath.Join(db.Lake.LakeDir(), "export")})
	var ex *ExistsError
	if !errors.As(err, &ex) || len(ex.Dirs) != 1 || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("a second export of beta: %v, want an ExistsError naming --force", err)
	}
	after, _ := filepath.Glob(filepath.Join(out, "events", "*", "*", "*.parquet"))
	if !slices.Equal(before, after) {
		t.Errorf("a refused export changed the files:\n%q\n%q", before, after)
	}
	sum := run(t, db, out, true)
	after, _ = filepath.Glob(filepath.Join(out, "events", "*", "*", "*.parquet"))
	if sum.Files != 9 || len(after) != 9 || slices.Equal(before, after) {
		t.Errorf("forced: %d files written, %d on disk (before %d), want 9 new ones", sum.Files, len(after), len(before))
	}
	if ents, _ := os.ReadDir(out); len(ents) != 1 {
		t.Errorf("the export root holds %v after a forced export, want events/ only", ents)
	}
}

// --since/--until export only the events in range, cutting hours at the
// bounds; an organization with none in range gets no directory.
func TestExportTimeRange(t *testing.T) {
	db := openLake(t, 10)
	out := t.TempDir()
	from, to := base+3600_000, base+2*3600_000-1 // the second hour (and a bit of the third's date_key span)
	sum, err := Run(context.Background(), db, Options{Dir: out, Orgs: []string{"acme", "nosuch"}, From: from, To: to,
		Staging: filepath.Join(db.Lake.LakeDir(), "export")})
	if err != nil {
		t.Fatal(err)
	}
	n := spoorRows(t, db, "acme", fmt.Sprintf("SELECT count(*) FROM events WHERE epoch_ms(event_time) BETWEEN %d AND %d", from, to))
	if sum.Orgs != 1 || fmt.Sprint(sum.Events) != n[0] {
		t.Errorf("summary %+v, want 1 organization and %s events", sum, n[0])
	}
	if _, err := os.Stat(OrgDir(out, "nosuch")); !os.IsNotExist(err) {
		t.Errorf("an organization without events got a directory: %v", err)
	}
}

// Whatever an organization is called, its export is one directory right
// under events/, and the name reads back.
func TestOrgDirIsOneElement(t *testing.T) {
	root := filepath.Join("/x", "out")
	names := []string{"", ".", "..", "../..", "a/b", `a\b`, "/", "x/../../y", "it's", "a=b", "%2F", "a b", "\x00\x01", "é/"}
	for i := range 200 {
		b := make([]byte, 1+i%7)
		for j := range b {
			const alphabet = "./\\%=':ab\x00"
			b[j] = alphabet[(i*7+j*3)%len(alphabet)]
		}
		names = append(names, string(b))
	}
	for _, org := range names {
		d := OrgDir(root, org)
		if filepath.Dir(d) != filepath.Join(root, "events") {
			t.Errorf("%q: %s is not right under events/", org, d)
			continue
		}
		v, ok := strings.CutPrefix(filepath.Base(d), "organization_id=")
		if !ok || (org != "" && lake.UnescapePathValue(v) != org) {
			t.Errorf("%q: directory %q does not read back", org, filepath.Base(d))
		}
	}
}

// failing fails the nth COPY an export runs, as a full disk would.
type failing struct {
	*datadir.DB
	n int
}

func (f *failing) Query(ctx context.Context, org string, from, to int64, q string, args ...any) (*engine.Rows, error) {
	if strings.HasPrefix(q, "COPY") {
		if f.n--; f.n == 0 {
			return nil, errors.New("no space left on device")
		}
	}
	return f.DB.Query(ctx, org, from, to, q, args...)
}

// An export that fails within an organization leaves the organizations
// before it whole and nothing of that one: no directory, no temporary
// files beside events/ or under the lake.
func TestExportFailureLeavesNoPartialOrganization(t *testing.T) {
	db := openLake(t, 5)
	out := t.TempDir()
	// The second organization's second hour fails (three hours each).
	_, err := Run(context.Background(), &failing{DB: db, n: 5}, Options{Dir: out, Orgs: db.Lake.Orgs(), To: event.MaxTime,
		Staging: filepath.Join(db.Lake.LakeDir(), "export")})
	orgs := db.Lake.Orgs()
	if err == nil || !strings.Contains(err.Error(), "no space left") || !strings.Contains(err.Error(), orgs[1]) {
		t.Fatalf("export: %v, want the failure naming organization %q", err, orgs[1])
	}
	files, _ := filepath.Glob(filepath.Join(OrgDir(out, orgs[0]), "*", "*.parquet"))
	if len(files) != 3 {
		t.Errorf("the organization exported before the failure has %d files, want 3", len(files))
	}
	for _, org := range orgs[1:] {
		if _, err := os.Stat(OrgDir(out, org)); !os.IsNotExist(err) {
			t.Errorf("%s has a directory after its export failed: %v", org, err)
		}
	}
	if ents, _ := os.ReadDir(out); len(ents) != 1 {
		t.Errorf("the export root holds %v, want events/ only", ents)
	}
	if ents, _ := os.ReadDir(filepath.Join(db.Lake.LakeDir(), "export")); len(ents) != 0 {
		t.Errorf("the staging directory keeps %d entries", len(ents))
	}
}
