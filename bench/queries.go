package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/render"
)

// Over this, a baseline query runs 3 times instead of -runs.
const slowBaseline = 2 * time.Minute

// maxMS is the latest time spoor accepts; with 0 it is the CLI's unbounded range.
const maxMS = 253402300799999

// queryRow is one query measured three ways.
type queryRow struct {
	name     string
	target   time.Duration
	spoor    string // the filter or SQL given to spoor
	cliCmd   string
	baseSQL  string
	cli      []time.Duration
	engine   []time.Duration
	base     []time.Duration
	baseWarm time.Duration
	baseNote string
	result   string // what every side returned, in a few words

	cliOut, engineOut, baseOut []string // normalised results
}

type querySide int

const (
	sideCLI querySide = iota
	sideEngine
	sideBase
)

// queries times the three queries through spoor's CLI, inside one open
// spoor engine and with DuckDB on the raw NDJSON, and checks they agree.
func (b *bench) queries(ctx context.Context) error {
	n, err := pickNeedle(b.raw)
	if err != nil {
		return err
	}
	b.rep.needle = n
	syscall.Sync()
	filter := fmt.Sprintf(`agent_id = "%s" AND event_time >= %d AND event_time <= %d`, n.agent, n.from, n.to)
	countSQL := "SELECT count(*) FROM events WHERE event_type = 'login'"
	topSQL := "SELECT exe, count(*) AS n FROM events GROUP BY exe ORDER BY n DESC LIMIT 20"
	qs := []*queryRow{
		{
			name: "needle", target: 50 * time.Millisecond, spoor: filter,
			cliCmd:  "spoor search --data DIR --format ndjson --limit 0 " + shellQuote(filter),
			baseSQL: fmt.Sprintf("SELECT _id FROM events WHERE agent_id = '%s' AND event_time >= epoch_ms(%d) AND event_time <= epoch_ms(%d) ORDER BY event_time, _id", n.agent, n.from, n.to),
		},
		{name: "count login", target: 200 * time.Millisecond, spoor: countSQL, cliCmd: "spoor sql --data DIR --format csv " + shellQuote(countSQL), baseSQL: countSQL},
		{name: "top exe", target: 500 * time.Millisecond, spoor: topSQL, cliCmd: "spoor sql --data DIR --format csv " + shellQuote(topSQL), baseSQL: topSQL},
	}
	b.rep.queries = qs
	runs := b.cfg.runs

	// 1. The CLI, process start included. Runs are interleaved across the
	// queries so a noisy moment does not land on one query alone; the
	// first round is the warm-up. SELECT 1 measures what every command
	// costs before its query: process start, opening the data dir, DuckDB.
	floor := &b.rep.cliFloor
	for round := 0; round <= runs; round++ {
		logf("queries, spoor CLI: round %d/%d%s", round, runs, warmupNote(round))
		r, err := runCmd(ctx, nil, b.spoor, "sql", "--data", b.data, "--format", "csv", "SELECT 1")
		if err != nil {
			return err
		}
		if round > 0 {
			*floor = append(*floor, r.wall)
		}
		for _, q := range qs {
			var args []string
			if q.name == "needle" {
				args = []string{"search", "--data", b.data, "--format", "ndjson", "--limit", "0", q.spoor}
			} else {
				args = []string{"sql", "--data", b.data, "--format", "csv", q.spoor}
			}
			r, err := runCmd(ctx, nil, b.spoor, args...)
			if err != nil {
				return err
			}
			if round > 0 {
				q.cli = append(q.cli, r.wall)
			}
			if q.cliOut, err = parseCLI(q.name, r.stdout); err != nil {
				return fmt.Errorf("%s: reading spoor's output: %w", q.name, err)
			}
		}
	}
	logf("  SELECT 1 (floor) %s; %s", ms(median(*floor)), summarize(qs, sideCLI))

	// 2. Inside one open engine, as a server runs them.
	logf("queries, spoor in engine: opening %s", b.data)
	db, err := datadir.Open(ctx, b.data, datadir.Options{})
	if err != nil {
		return err
	}
	org, err := db.DefaultOrg()
	if err != nil {
		db.Close(context.WithoutCancel(ctx))
		return err
	}
	b.rep.queryParts = len(db.Lake.Parts(org, 0, maxMS))
	for round := 0; round <= runs; round++ {
		logf("queries, spoor in engine: round %d/%d%s", round, runs, warmupNote(round))
		for _, q := range qs {
			t0 := time.Now()
			out, err := engineQuery(ctx, db, org, q)
			d := time.Since(t0)
			if err != nil {
				db.Close(context.WithoutCancel(ctx))
				return fmt.Errorf("%s in engine: %w", q.name, err)
			}
			if round > 0 {
				q.engine = append(q.engine, d)
			}
			q.engineOut = out
		}
	}
	if err := db.Close(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	logf("  %s", summarize(qs, sideEngine))

	// 3. DuckDB straight on the raw NDJSON.
	base, err := openDuck(ctx, b.cfg.threads, filepath.Join(b.dir, "duck-tmp"))
	if err != nil {
		return err
	}
	defer base.Close()
	view := fmt.Sprintf("CREATE VIEW events AS SELECT _id, agent_id, epoch_ms(event_time) AS event_time, event_type, exe FROM read_json(%s, format = 'newline_delimited', columns = {'_id': 'VARCHAR', 'agent_id': 'VARCHAR', 'event_time': 'BIGINT', 'event_type': 'VARCHAR', 'exe': 'VARCHAR'})", sqlQuote(b.raw))
	b.rep.baseView = strings.Replace(view, sqlQuote(b.raw), "'events.ndjson'", 1)
	if _, err := base.ExecContext(ctx, view); err != nil {
		return fmt.Errorf("baseline view: %w", err)
	}
	for _, q := range qs {
		logf("queries, DuckDB on raw NDJSON: %s, warm-up", q.name)
		t0 := time.Now()
		out, err := baseQuery(ctx, base, q)
		q.baseWarm = time.Since(t0)
		if err != nil {
			return fmt.Errorf("%s on raw NDJSON: %w", q.name, err)
		}
		q.baseOut = out
		n := runs
		if q.baseWarm > slowBaseline && runs > 3 {
			n = 3
			q.baseNote = fmt.Sprintf("the warm-up took %s (over %s): %d runs instead of %d", secs(q.baseWarm), secs(slowBaseline), n, runs)
		}
		for i := range n {
			logf("queries, DuckDB on raw NDJSON: %s, run %d/%d (the warm-up took %s)", q.name, i+1, n, ms(q.baseWarm))
			t0 := time.Now()
			if _, err := baseQuery(ctx, base, q); err != nil {
				return fmt.Errorf("%s on raw NDJSON: %w", q.name, err)
			}
			q.base = append(q.base, time.Since(t0))
		}
	}
	logf("  %s", summarize(qs, sideBase))
	dropDir(filepath.Join(b.dir, "duck-tmp"))

	// 4. The same answers everywhere.
	var bad []string
	for _, q := range qs {
		if msg := compare(q.name, q.baseOut, q.cliOut); msg != "" {
			bad = append(bad, q.name+": spoor CLI vs DuckDB on raw NDJSON: "+msg)
		}
		if msg := compare(q.name, q.baseOut, q.engineOut); msg != "" {
			bad = append(bad, q.name+": spoor in engine vs DuckDB on raw NDJSON: "+msg)
		}
		q.result = describe(q.name, q.baseOut)
	}
	if len(b.rep.queries[0].baseOut) == 0 {
		bad = append(bad, "needle: no event matched; the harness picked an agent and window from an event that should match")
	}
	if len(bad) > 0 {
		return mismatchError{bad}
	}
	logf("results agree: %s; %s; %s", qs[0].result, qs[1].result, qs[2].result)
	return nil
}

func warmupNote(round int) string {
	if round == 0 {
		return " (warm-up)"
	}
	return ""
}

func summarize(qs []*queryRow, side querySide) string {
	var parts []string
	for _, q := range qs {
		d := q.cli
		switch side {
		case sideEngine:
			d = q.engine
		case sideBase:
			d = q.base
		}
		parts = append(parts, q.name+" "+ms(median(d)))
	}
	return "medians: " + strings.Join(parts, ", ")
}

// engineQuery runs q inside an open data dir the way the CLI does after
// opening it: a search rendered as NDJSON, or SQL read to the last row.
func engineQuery(ctx context.Context, db *datadir.DB, org string, q *queryRow) ([]string, error) {
	if q.name == "needle" {
		s, err := db.Search(ctx, org, datadir.SearchRequest{Query: q.spoor, From: 0, To: maxMS})
		if err != nil {
			return nil, err
		}
		defer s.Close()
		var buf bytes.Buffer
		w, err := render.New("ndjson", &buf)
		if err != nil {
			return nil, err
		}
		if err := w.Header(s.Columns); err != nil {
			return nil, err
		}
		var e event.Event
		for s.Next() {
			if err := s.Event(&e); err != nil {
				return nil, err
			}
			if ok, err := render.WriteObject(w, e.Original()); err != nil {
				return nil, err
			} else if !ok {
				return nil, fmt.Errorf("event %d has no original object", e.Set)
			}
		}
		if err := s.Err(); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return parseCLI(q.name, buf.Bytes())
	}
	rows, err := db.UserQuery(ctx, org, 0, maxMS, q.spoor)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return readRows(rows.Rows)
}

// baseQuery runs q's baseline SQL over the raw NDJSON view.
func baseQuery(ctx context.Context, db *sql.DB, q *queryRow) ([]string, error) {
	defer heartbeat("DuckDB on raw NDJSON: " + q.name)()
	rows, err := db.QueryContext(ctx, q.baseSQL)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out, err := readRows(rows)
	if err != nil {
		return nil, err
	}
	if q.name == "needle" {
		sort.Strings(out)
	}
	return out, nil
}

// readRows renders every row as its values joined by tabs, NULL as "".
func readRows(rows *sql.Rows) ([]string, error) {
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var out []string
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		f := make([]string, len(vals))
		for i, v := range vals {
			if v != nil {
				f[i] = fmt.Sprint(v)
			}
		}
		out = append(out, strings.Join(f, "\t"))
	}
	return out, rows.Err()
}

// parseCLI normalises spoor's output: the sorted _id of each NDJSON event
// for the needle, else the CSV rows without the header, tab-joined.
func parseCLI(name string, out []byte) ([]string, error) {
	var res []string
	if name == "needle" {
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
		for sc.Scan() {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			var ev struct {
				ID string `json:"_id"`
			}
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				return nil, err
			}
			res = append(res, ev.ID)
		}
		sort.Strings(res)
		return res, sc.Err()
	}
	r := csv.NewReader(bytes.NewReader(out))
	r.FieldsPerRecord = -1
	for i := 0; ; i++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if i > 0 {
			res = append(res, strings.Join(rec, "\t"))
		}
	}
	return res, nil
}

// compare says how got differs from want, or "" when they agree. For the
// top-20, rows tied on the smallest count may be cut differently at the
// LIMIT: those are compared by number only.
func compare(name string, want, got []string) string {
	if name != "top exe" {
		if slices.Equal(want, got) {
			return ""
		}
		return fmt.Sprintf("want %s, got %s", clip(want), clip(got))
	}
	type row struct {
		exe string
		n   int64
	}
	parse := func(l []string) ([]row, error) {
		var rs []row
		for _, s := range l {
			exe, c, ok := strings.Cut(s, "\t")
			n, err := strconv.ParseInt(c, 10, 64)
			if !ok || err != nil {
				return nil, fmt.Errorf("bad row %q", s)
			}
			rs = append(rs, row{exe, n})
		}
		sort.Slice(rs, func(i, j int) bool {
			if rs[i].n != rs[j].n {
				return rs[i].n > rs[j].n
			}
			return rs[i].exe < rs[j].exe
		})
		return rs, nil
	}
	w, err1 := parse(want)
	g, err2 := parse(got)
	if err1 != nil || err2 != nil {
		return fmt.Sprintf("unreadable rows: %v %v", err1, err2)
	}
	if len(w) != len(g) {
		return fmt.Sprintf("%d rows, want %d: want %s, got %s", len(g), len(w), clip(want), clip(got))
	}
	if len(w) == 0 {
		return ""
	}
	last := w[len(w)-1].n
	for i := range w {
		if w[i].n != g[i].n || (w[i].n != last && w[i].exe != g[i].exe) {
			return fmt.Sprintf("row %d: want %q %d, got %q %d", i+1, w[i].exe, w[i].n, g[i].exe, g[i].n)
		}
	}
	return ""
}

func clip(l []string) string {
	s := strings.Join(l, " | ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return "[" + s + "]"
}

func describe(name string, out []string) string {
	switch name {
	case "needle":
		if len(out) == 1 {
			return "1 event"
		}
		return fmt.Sprintf("%d events", len(out))
	case "count login":
		if len(out) == 1 {
			return "count " + out[0]
		}
	case "top exe":
		if len(out) > 0 {
			exe, n, _ := strings.Cut(out[0], "\t")
			if exe == "" {
				exe = "NULL"
			}
			return fmt.Sprintf("%d rows, first %s %s", len(out), exe, n)
		}
	}
	return fmt.Sprintf("%d rows", len(out))
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= 10*time.Millisecond:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.1f ms", float64(d)/1e6)
}

func secs(d time.Duration) string { return fmt.Sprintf("%.0f s", d.Seconds()) }
