// Package timeline counts the events a filter matches per time bucket and
// event type, marks the buckets in which alerts started, and draws the
// answer as a stacked bar chart in SVG.
package timeline

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/hunt"
	"github.com/spoor-dev/spoor/internal/query"
)

// Columns of Run's table. alerts and alert_rules are set on the first row
// of a bucket only (0 and nil on its other rows), so they sum per table.
var Columns = []string{"bucket", "bucket_end", "event_type", "count", "alerts", "alert_rules"}

// MaxBuckets bounds the buckets of one timeline.
const MaxBuckets = 10_000

// steps are the bucket widths Run chooses from.
var steps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	24 * time.Hour, 2 * 24 * time.Hour, 7 * 24 * time.Hour, 30 * 24 * time.Hour,
}

// Bucket returns the width Run chooses for a span: the smallest round
// width that cuts it into at most about 60 buckets.
func Bucket(span time.Duration) time.Duration {
	for _, s := range steps {
		if span/s <= 60 {
			return s
		}
	}
	return 365 * 24 * time.Hour
}

// Run counts the events of org in [from, to] (epoch ms) that filter
// matches ("" matches all) per bucket (0: chosen for about 60 buckets over
// the matched events' span, see Bucket) and event_type, buckets aligned to
// multiples of their width since the epoch. The alerts that started in a
// bucket, on the hosts of the matched events, are counted in it and their
// rules listed. Rows come in time order.
func Run(ctx context.Context, db *datadir.DB, org string, filter string, from, to int64, bucket time.Duration) (hunt.Table, error) {
	if bucket < 0 || (bucket > 0 && bucket < time.Millisecond) {
		return hunt.Table{}, fmt.Errorf("bad bucket width %v", bucket)
	}
	where, args := "TRUE", []any(nil)
	if strings.TrimSpace(filter) != "" {
		s, err := query.ToSQLString(filter)
		if err != nil {
			return hunt.Table{}, err
		}
		where, args = s.Where, s.Args
	}
	tab := hunt.Table{Columns: Columns}
	span, err := hunt.Query(ctx, db, org, from, to,
		`SELECT min(epoch_ms(event_time)), max(epoch_ms(event_time)) FROM events WHERE `+where, args...)
	if err != nil {
		return hunt.Table{}, err
	}
	if len(span.Rows) == 0 || span.Rows[0][0] == nil {
		return tab, nil
	}
	lo, hi := span.Rows[0][0].(int64), span.Rows[0][1].(int64)
	if bucket == 0 {
		bucket = Bucket(time.Duration(hi-lo) * time.Millisecond)
	}
	b := bucket.Milliseconds()
	first, last := floorDiv(lo, b)*b, floorDiv(hi, b)*b
	if n := (last-first)/b + 1; n > MaxBuckets {
		return hunt.Table{}, fmt.Errorf("bucket %v makes %d buckets, more than %d", bucket, n, MaxBuckets)
	}
	counts, err := hunt.Query(ctx, db, org, from, to,
		`SELECT floor(epoch_ms(event_time) / ?)::BIGINT * ? AS b, coalesce(event_type, '') AS t, count(*)
		FROM events WHERE `+where+` GROUP BY ALL ORDER BY b, t`, append([]any{b, b}, args...)...)
	if err != nil {
		return hunt.Table{}, err
	}
	alerts, err := hunt.Query(ctx, db, org, from, to,
		`SELECT floor(epoch_ms(first_time) / ?)::BIGINT * ? AS b, rule FROM alerts
		WHERE epoch_ms(first_time) BETWEEN ? AND ?
		AND (coalesce(hostname, '') = '' OR hostname IN (SELECT DISTINCT hostname FROM events WHERE `+where+`))
		ORDER BY b, rule`, append([]any{b, b, first, last + b - 1}, args...)...)
	if err != nil {
		return hunt.Table{}, err
	}
	type marks struct {
		n     int64
		rules []string
	}
	byBucket := map[int64]*marks{}
	for _, r := range alerts.Rows {
		k := r[0].(int64)
		m := byBucket[k]
		if m == nil {
			m = &marks{}
			byBucket[k] = m
		}
		m.n++
		if rule, _ := r[1].(string); !slices.Contains(m.rules, rule) {
			m.rules = append(m.rules, rule)
		}
	}
	row := func(k int64, typ string, n int64, first bool) []any {
		var na int64
		var rules []string
		if m := byBucket[k]; m != nil && first {
			na, rules = m.n, m.rules
			delete(byBucket, k)
		}
		return []any{time.UnixMilli(k).UTC(), time.UnixMilli(k + b).UTC(), typ, n, na, rules}
	}
	// flush emits the alert-only buckets before k.
	flush := func(k int64) {
		var ks []int64
		for a := range byBucket {
			if a < k {
				ks = append(ks, a)
			}
		}
		slices.Sort(ks)
		for _, a := range ks {
			tab.Rows = append(tab.Rows, row(a, "", 0, true))
		}
	}
	prev := int64(-1 << 62)
	for _, r := range counts.Rows {
		k := r[0].(int64)
		flush(k)
		tab.Rows = append(tab.Rows, row(k, r[1].(string), r[2].(int64), k != prev))
		prev = k
	}
	flush(1 << 62)
	return tab, nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}
