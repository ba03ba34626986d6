package datadir

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spoor-dev/spoor/internal/engine"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/query"
	"github.com/spoor-dev/spoor/internal/sqlquote"
)

// DefaultFields are shown when a tabular answer names no fields.
var DefaultFields = []string{"event_time", "hostname", "event_type", "user", "exe", "arguments"}

// SearchRequest is one filter-language search.
type SearchRequest struct {
	Query    string // filter language; "" matches everything
	From, To int64  // epoch ms, inclusive
	Fields   []string
	Limit    int  // 0: no limit
	Desc     bool // newest first
	// After continues a search from the NextCursor of its previous page.
	After string
}

// Search is a running search. With no Fields every row is a whole event;
// read it with Event, otherwise with Row.
type Search struct {
	*engine.Rows
	Columns []string
	Full    bool

	limit, read int
	more        bool // rows beyond the limit remain
	peeked      bool
	lastT       int64
	lastID      string
}

// cursor names the last row of a page: its event time and _id, the sort key.
func encodeCursor(t int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t, 10) + ":" + id))
}

func decodeCursor(c string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		if ts, id, ok := strings.Cut(string(b), ":"); ok {
			if t, err := strconv.ParseInt(ts, 10, 64); err == nil {
				return t, id, nil
			}
		}
	}
	return 0, "", fmt.Errorf("bad cursor %q: pass the cursor of the previous page as it came", c)
}

// Next advances to the next row of the page. Past the page's last row it
// looks one row further (Search asks for one more than the limit), so that
// More knows whether another page follows.
func (s *Search) Next() bool {
	if s.limit > 0 && s.read >= s.limit {
		if !s.peeked {
			s.peeked, s.more = true, s.Rows.Next()
		}
		return false
	}
	if !s.Rows.Next() {
		return false
	}
	s.read++
	return true
}

// More reports whether rows beyond the page's limit remain. Call it after
// the rows.
func (s *Search) More() bool { return s.more }

// NextCursor returns the cursor of the next page, or "" when this page is
// the last. Call it after the rows.
func (s *Search) NextCursor() string {
	if !s.more {
		return ""
	}
	return encodeCursor(s.lastT, s.lastID)
}

// Row reads the current row's columns into vals (len(Columns) of them).
func (s *Search) Row(vals []any) error {
	ptrs := make([]any, len(vals)+2)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	ptrs[len(vals)], ptrs[len(vals)+1] = &s.lastT, &s.lastID
	return s.Scan(ptrs...)
}

// Search runs a filter-language query over org's events. A bad query
// returns a *query.Error carrying the query text (for a caret).
func (d *DB) Search(ctx context.Context, org string, r SearchRequest) (*Search, error) {
	limit := r.Limit
	if r.Limit > 0 {
		r.Limit++ // one row more tells whether a next page follows (Next)
	}
	p, err := searchSQL(r)
	if err != nil {
		return nil, err
	}
	rows, err := d.Query(ctx, org, p.from, p.to, p.sql, p.args...)
	if err != nil {
		return nil, err
	}
	return &Search{Rows: rows, Columns: p.cols, Full: len(r.Fields) == 0, limit: limit}, nil
}

// Count returns how many events a search matches, whatever its limit, so
// a cut answer can say how much it left out.
func (d *DB) Count(ctx context.Context, org string, r SearchRequest) (int64, error) {
	r.Fields, r.Limit, r.After = []string{"_id"}, 0, ""
	p, err := searchSQL(r)
	if err != nil {
		return 0, err
	}
	rows, err := d.Query(ctx, org, p.from, p.to, "SELECT count(*) FROM ("+p.sql+")", p.args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	var n int64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, err
		}
	}
	return n, rows.Err()
}

// ExportSearch writes a search's answer to a Parquet file and returns its
// path; the caller removes it. Without fields every column is written.
func (d *DB) ExportSearch(ctx context.Context, org string, r SearchRequest) (string, error) {
	p, err := searchSQL(r)
	if err != nil {
		return "", err
	}
	return d.export(ctx, org, p.from, p.to, "SELECT * EXCLUDE (__cursor_t, __cursor_id) FROM ("+p.sql+")", p.args...)
}

// ExportSQL checks a user's SQL and writes its answer to a Parquet file.
func (d *DB) ExportSQL(ctx context.Context, org string, from, to int64, query string) (string, error) {
	if err := d.Engine.Check(ctx, query); err != nil {
		return "", err
	}
	// On lines of its own, so that a trailing comment cannot swallow the rest.
	return d.export(ctx, org, from, to, "\n"+query+"\n")
}

func (d *DB) export(ctx context.Context, org string, from, to int64, q string, args ...any) (string, error) {
	dir := filepath.Join(d.Lake.LakeDir(), exportDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	path := filepath.Join(dir, fmt.Sprintf("answer-%x.parquet", rnd))
	rows, err := d.Query(ctx, org, from, to, "COPY ("+q+") TO '"+path+"' (FORMAT parquet, COMPRESSION zstd)", args...)
	if err != nil {
		os.Remove(path)
		return "", err
	}
	for rows.Next() {
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		os.Remove(path)
		return "", err
	}
	return path, nil
}

// exportDir, under the lake (the only place DuckDB may write), holds
// Parquet answers on their way to a client.
const exportDir = "export"

// searchPlan is a search compiled to SQL.
type searchPlan struct {
	sql      string
	args     []any
	cols     []string
	from, to int64
}

func searchSQL(r SearchRequest) (searchPlan, error) {
	where, args := "true", []any(nil)
	from, to := r.From, r.To
	if strings.TrimSpace(r.Query) != "" {
		n, err := query.Parse(r.Query)
		if err != nil {
			return searchPlan{}, err
		}
		s, err := query.ToSQL(n)
		if err != nil {
			return searchPlan{}, query.WithSource(err, r.Query)
		}
		where, args = s.Where, s.Args
		if lo, hi, ok := query.TimeBounds(n); ok {
			from, to = max(from, lo), min(to, hi)
		}
	}
	if from > to {
		from, to = 0, -1 // nothing can match; still run, for the columns
	}
	cols, exprs, err := selectList(r.Fields)
	if err != nil {
		return searchPlan{}, err
	}
	// The sort key rides along unseen, for the next page's cursor.
	exprs = append(exprs, `epoch_ms(event_time) AS "__cursor_t"`, `"_id" AS "__cursor_id"`)
	q := "SELECT " + strings.Join(exprs, ", ") + " FROM events_full WHERE (" + where + ")" +
		" AND event_time >= make_timestamp(CAST(? AS BIGINT)) AND event_time <= make_timestamp(CAST(? AS BIGINT))"
	args = append(args, clampMicros(from), clampMicros(to))
	order, after := "ASC", ">"
	if r.Desc {
		order, after = "DESC", "<"
	}
	if r.After != "" {
		t, id, err := decodeCursor(r.After)
		if err != nil {
			return searchPlan{}, &query.Error{Msg: err.Error()}
		}
		q += " AND (event_time " + after + " make_timestamp(CAST(? AS BIGINT)) OR (event_time = make_timestamp(CAST(? AS BIGINT)) AND \"_id\" " + after + " ?))"
		args = append(args, t*1000, t*1000, id)
	}
	q += " ORDER BY event_time " + order + ", \"_id\" " + order
	if r.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", r.Limit)
	}
	return searchPlan{sql: q, args: args, cols: cols, from: max(from, 0), to: min(to, event.MaxTime)}, nil
}

func clampMicros(ms int64) int64 {
	ms = max(min(ms, event.MaxTime), -event.MaxTime)
	return ms * 1000
}

// selectList turns field names into SQL: typed fields are columns, other
// names are looked up in raw by their original name. No fields: everything.
func selectList(fields []string) (cols, exprs []string, err error) {
	if len(fields) == 0 {
		cols = engine.ViewColumns()
		cols = append(cols, engine.LiftedColumn)
		for _, c := range cols {
			exprs = append(exprs, sqlquote.Ident(c))
		}
		return cols, exprs, nil
	}
	for _, f := range fields {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if fd, ok := event.Lookup(f); ok {
			exprs = append(exprs, sqlquote.Ident(fd.Name)+" AS "+sqlquote.Ident(f))
		} else if f == event.RawColumn {
			exprs = append(exprs, "raw")
		} else {
			exprs = append(exprs, "json_extract(raw, "+sqlquote.String(sqlquote.JSONPointer(f))+") AS "+sqlquote.Ident(f))
		}
		cols = append(cols, f)
	}
	if len(cols) == 0 {
		return nil, nil, fmt.Errorf("no fields named")
	}
	return cols, exprs, nil
}

// Event reads the current row of a Full search into e.
func (s *Search) Event(e *event.Event) error {
	vals := make([]any, len(s.Columns))
	if err := s.Row(vals); err != nil {
		return err
	}
	return EventFromRow(s.Columns, vals, e)
}

// EventFromRow fills e from a row of the events_full view.
func EventFromRow(cols []string, vals []any, e *event.Event) error {
	*e = event.Event{}
	for i, c := range cols {
		v := vals[i]
		switch c {
		case event.RawColumn:
			switch x := v.(type) {
			case string:
				e.Raw = []byte(x)
			case []byte:
				e.Raw = x
			}
			continue
		case engine.LiftedColumn:
			if x, ok := v.(int64); ok {
				e.Lifted = uint64(x)
			}
			continue
		}
		f, ok := event.Lookup(c)
		if !ok || v == nil {
			continue
		}
		switch x := v.(type) {
		case string:
			e.SetString(f.ID, x)
		case int64:
			e.SetInt(f.ID, x)
		case int32:
			e.SetInt(f.ID, int64(x))
		case bool:
			e.SetBool(f.ID, x)
		case time.Time:
			e.SetInt(f.ID, x.UnixMilli())
		case []any:
			l := make([]string, 0, len(x))
			for _, s := range x {
				if s, ok := s.(string); ok {
					l = append(l, s)
				}
			}
			e.SetList(f.ID, l)
		default:
			return fmt.Errorf("column %s: unexpected %T", c, v)
		}
	}
	e.Lifted &= e.Set
	return nil
}
