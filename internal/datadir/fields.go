package datadir

import (
	"context"
	"fmt"
	"github.com/spoor-dev/spoor/internal/sqlquote"
	"strings"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/query"
)

// A filter-language name that is not a typed field is looked up in raw, so
// a misspelt name (evnt_type) is not an error: it just finds nothing. The
// check below says so. It is exact, not sampled: a name is reported only
// when no event of the organization in the range has it in raw, found by
// one existence query per such name (LIMIT 1, so a name that exists costs a
// row group or two; one that does not costs a scan of raw over the range,
// narrowed first by a substring test, at most what the search itself
// reads). Typed fields and their aliases cost nothing: the catalog knows
// them.

// keySample bounds the events whose raw keys are read for suggestions.
const keySample = 5000

// UnknownFields returns a warning for each field of the filter-language
// query q that can match no event of org in [from, to] (epoch ms): not a
// typed field or alias, and a key of no event's raw object there. Each
// names the closest known name. A query that does not parse has none.
func (d *DB) UnknownFields(ctx context.Context, org string, from, to int64, q string) ([]string, error) {
	if strings.TrimSpace(q) == "" {
		return nil, nil
	}
	n, err := query.Parse(q)
	if err != nil {
		return nil, nil
	}
	if lo, hi, ok := query.TimeBounds(n); ok {
		from, to = max(from, lo), min(to, hi)
	}
	var missing []string
	for _, name := range query.Fields(n) {
		if _, typed := event.Lookup(name); typed || name == event.RawColumn {
			continue
		}
		found, err := d.exists(ctx, org, from, to, rawKeyTest(name))
		if err != nil {
			return nil, err
		}
		if !found {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil, nil
	}
	// With no event in the range at all, finding nothing says nothing.
	if some, err := d.exists(ctx, org, from, to, "true"); err != nil || !some {
		return nil, err
	}
	known, err := d.knownNames(ctx, org, from, to)
	if err != nil {
		return nil, err
	}
	var warnings []string
	for _, name := range missing {
		msg := fmt.Sprintf("no field %s: it is not a column, and no event searched has it in raw", name)
		if c := closest(name, known); c != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", c)
		}
		warnings = append(warnings, msg)
	}
	return warnings, nil
}

// rawKeyTest is SQL that holds when raw has the name as the filter language
// reads it: a top-level key, or for a dotted name the nested path.
func rawKeyTest(name string) string {
	test := "json_exists(raw, " + sqlquote.String(sqlquote.JSONPointer(name)) + ")"
	if parts := strings.Split(name, "."); len(parts) > 1 {
		test = "(" + test + " OR json_exists(raw, " + sqlquote.String(sqlquote.JSONPointer(parts...)) + "))"
	}
	// A cheap test first: the key's last part as JSON writes it, quoted.
	last := name[strings.LastIndex(name, ".")+1:]
	if plainKey(last) {
		test = "contains(raw, " + sqlquote.String(`"`+last+`"`) + ") AND " + test
	}
	return test
}

// plainKey reports whether k is written as itself inside a JSON string.
func plainKey(k string) bool {
	for _, r := range k {
		if !(r == '_' || r == '-' || r == ':' || r == '@' || r == '$' || r == ' ' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return k != ""
}

// exists reports whether some event of org in [from, to] satisfies cond.
func (d *DB) exists(ctx context.Context, org string, from, to int64, cond string) (bool, error) {
	rows, err := d.Query(ctx, org, from, to, "SELECT 1 FROM events WHERE "+cond+
		" AND event_time >= make_timestamp(CAST(? AS BIGINT)) AND event_time <= make_timestamp(CAST(? AS BIGINT)) LIMIT 1",
		clampMicros(from), clampMicros(to))
	if err != nil {
		return false, err
	}
	defer rows.Close()
	found := rows.Next()
	return found, rows.Err()
}

// knownNames are what a misspelt name is compared with: the typed fields,
// their aliases, and the raw keys of a sample of the range's events.
func (d *DB) knownNames(ctx context.Context, org string, from, to int64) ([]string, error) {
	var names []string
	for _, f := range event.Catalog() {
		names = append(names, f.Name)
		names = append(names, f.Aliases...)
	}
	rows, err := d.Query(ctx, org, from, to, fmt.Sprintf("SELECT DISTINCT unnest(json_keys(raw)) FROM (SELECT raw FROM events "+
		"WHERE event_time >= make_timestamp(CAST(? AS BIGINT)) AND event_time <= make_timestamp(CAST(? AS BIGINT)) LIMIT %d) ORDER BY 1", keySample),
		clampMicros(from), clampMicros(to))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		names = append(names, k)
	}
	return names, rows.Err()
}

// closest returns the known name nearest to name by edit distance (case
// folded), if near enough to be a slip: at most a third of its letters,
// and at least 1 or 2. Earlier names win ties: typed fields first.
func closest(name string, known []string) string {
	best, bestD := "", max(2, len(name)/3)+1
	for _, k := range known {
		if d := editDistance(strings.ToLower(name), strings.ToLower(k)); d < bestD && k != name {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is Levenshtein's distance between a and b, by bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
