// Package cluster compresses the events a filter matches into the distinct
// patterns of a text (the command line by default) once numbers, hex,
// UUIDs, addresses and random temporary names are normalised away, rare
// patterns first: what a host did once stands out from what it always does.
package cluster

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/hunt"
	"github.com/spoor-dev/spoor/internal/query"
)

// MaxPatterns caps the distinct patterns kept in memory; events of further
// patterns are counted in one overflow row.
const MaxPatterns = 100_000

// Overflow is the pattern of the row that counts the events of patterns
// beyond MaxPatterns.
const Overflow = "<overflow: more distinct patterns than the cap>"

// Columns of Run's table.
var Columns = []string{"pattern", "count", "hosts", "first_seen", "last_seen", "example", "example_event_id"}

// The text clustered when no field is named: the arguments when present,
// else the executable, else a message-like field (typed, then the raw
// message, then the event type). The raw text is costly to rebuild, so
// only the events without a typed text reach it.
const (
	defaultText  = `COALESCE(NULLIF(arguments, ''), NULLIF(exe, ''), NULLIF(summary, ''), NULLIF(event_name, ''))`
	fallbackText = `COALESCE(NULLIF(raw->>'message', ''), NULLIF(raw->>'msg', ''), event_type)`
)

type group struct {
	pattern     string
	count       int64
	hosts       map[string]struct{}
	first, last time.Time
	example     string
	exampleID   string
}

// Run clusters the events of org in [from, to] (epoch ms) that filter
// matches ("" matches all) by the pattern of field ("" for the default
// text). Its table has Columns, rarest pattern first.
func Run(ctx context.Context, db *datadir.DB, org string, filter string, from, to int64, field string) (hunt.Table, error) {
	return run(ctx, db, org, filter, from, to, field, MaxPatterns)
}

// run is Run with the pattern cap as a parameter, so tests can reach it.
func run(ctx context.Context, db *datadir.DB, org string, filter string, from, to int64, field string, maxPatterns int) (hunt.Table, error) {
	where, args := "TRUE", []any(nil)
	if strings.TrimSpace(filter) != "" {
		s, err := query.ToSQLString(filter)
		if err != nil {
			return hunt.Table{}, err
		}
		where, args = s.Where, s.Args
	}
	text, targs, err := textExpr(field)
	if err != nil {
		return hunt.Table{}, err
	}
	// DuckDB groups the identical texts per host; Go normalises each
	// distinct text once and merges them into patterns.
	src := `SELECT ` + text + ` AS t, hostname, event_time, _id FROM events WHERE (` + where + `)`
	qargs := append(targs, args...)
	if field == "" {
		src = `SELECT ` + defaultText + ` AS t, hostname, event_time, _id FROM events WHERE (` + where + `) AND ` + defaultText + ` IS NOT NULL
		UNION ALL SELECT ` + fallbackText + `, hostname, event_time, _id FROM events WHERE (` + where + `) AND ` + defaultText + ` IS NULL`
		qargs = append(slices.Clone(args), args...)
	}
	q := `SELECT t, hostname, count(*), min(event_time), max(event_time), arg_min(_id, event_time)
		FROM (` + src + `) WHERE t IS NOT NULL GROUP BY t, hostname`
	rows, err := db.Query(ctx, org, from, to, q, qargs...)
	if err != nil {
		return hunt.Table{}, err
	}
	defer rows.Close()
	groups := map[string]*group{}
	var over *group
	// A text comes once per host: remember its pattern (boundedly).
	seen := map[string]string{}
	for rows.Next() {
		var (
			t, id       string
			host        *string
			n           int64
			first, last time.Time
		)
		if err := rows.Scan(&t, &host, &n, &first, &last, &id); err != nil {
			return hunt.Table{}, fmt.Errorf("read row: %w", err)
		}
		p, ok := seen[t]
		if !ok {
			p = Pattern(t)
			if len(seen) >= 1<<16 {
				clear(seen)
			}
			seen[t] = p
		}
		g := groups[p]
		if g == nil {
			if len(groups) >= maxPatterns {
				if over == nil {
					over = &group{pattern: Overflow, hosts: map[string]struct{}{}}
				}
				g = over
			} else {
				g = &group{pattern: p, hosts: map[string]struct{}{}}
				groups[p] = g
			}
		}
		g.add(t, host, n, first.UTC(), last.UTC(), id)
	}
	if err := rows.Err(); err != nil {
		return hunt.Table{}, err
	}
	all := make([]*group, 0, len(groups)+1)
	for _, g := range groups {
		all = append(all, g)
	}
	slices.SortFunc(all, func(a, b *group) int {
		return cmp.Or(cmp.Compare(a.count, b.count), cmp.Compare(len(a.hosts), len(b.hosts)),
			a.first.Compare(b.first), cmp.Compare(a.pattern, b.pattern))
	})
	if over != nil {
		all = append(all, over)
	}
	tab := hunt.Table{Columns: Columns}
	for _, g := range all {
		tab.Rows = append(tab.Rows, []any{g.pattern, g.count, int64(len(g.hosts)), g.first, g.last, g.example, g.exampleID})
	}
	return tab, nil
}

func (g *group) add(t string, host *string, n int64, first, last time.Time, id string) {
	if g.count == 0 || first.Before(g.first) {
		g.first, g.example, g.exampleID = first, t, id
	}
	if g.count == 0 || last.After(g.last) {
		g.last = last
	}
	g.count += n
	if host != nil {
		g.hosts[*host] = struct{}{}
	}
}

// textExpr returns the SQL of the text to cluster: a typed column (lists
// joined by spaces), else a raw field by its original name.
func textExpr(field string) (string, []any, error) {
	if field == "" {
		return defaultText, nil, nil
	}
	if f, ok := event.Lookup(field); ok {
		col := `"` + f.Name + `"`
		switch f.Kind {
		case event.KindList:
			return "NULLIF(array_to_string(" + col + ", ' '), '')", nil, nil
		case event.KindTime:
			return "CAST(epoch_ms(" + col + ") AS VARCHAR)", nil, nil
		default:
			return "CAST(" + col + " AS VARCHAR)", nil, nil
		}
	}
	if strings.ContainsAny(field, "\x00") || field == "" {
		return "", nil, fmt.Errorf("bad field name %q", field)
	}
	ptr := "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(field)
	return "json_extract_string(raw, ?)", []any{ptr}, nil
}
