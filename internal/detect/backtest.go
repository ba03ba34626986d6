package detect

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spoor-dev/spoor/internal/alert"
	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/query"
	"github.com/spoor-dev/spoor/internal/rules"
	"github.com/spoor-dev/spoor/internal/sqlquote"
)

// Backtest is what a rule would have done over stored history.
type Backtest struct {
	Rule       string           `json:"rule"`
	From       time.Time        `json:"from"`
	To         time.Time        `json:"to"`
	Matched    int64            `json:"matched"`    // events matching the filter
	Suppressed int64            `json:"suppressed"` // of those, hidden by a suppression
	Alerts     int64            `json:"alerts"`     // alerts it would have raised
	Hosts      []HostCount      `json:"hosts"`      // where, most first
	Samples    []map[string]any `json:"samples"`    // events it would have alerted on
	Hidden     []map[string]any `json:"suppressed_samples"`
	Warnings   []string         `json:"warnings"`
	Took       time.Duration    `json:"took_ns"`
}

// newBacktest is a backtest of the rule called name over [from, to] (epoch
// ms) with nothing found yet: its lists empty, not nil, so that its JSON
// holds [] where it found nothing.
func newBacktest(name string, from, to int64) *Backtest {
	return &Backtest{Rule: name, From: time.UnixMilli(from).UTC(), To: time.UnixMilli(min(to, 253402300799000)).UTC(),
		Hosts: []HostCount{}, Samples: []map[string]any{}, Hidden: []map[string]any{}, Warnings: []string{}}
}

// HostCount is one host's share of a backtest.
type HostCount struct {
	Hostname   string `json:"hostname"`
	Events     int64  `json:"events"`
	Suppressed int64  `json:"suppressed"`
}

// BroadShare is the share of a rule's alerts a suppression may hide
// before the backtest warns that it is too broad.
const BroadShare = 0.5

// RunBacktest runs a native rule (and its suppressions) over org's events
// in [from, to] (epoch ms) in SQL, without raising anything.
func RunBacktest(ctx context.Context, db *datadir.DB, org string, r *rules.Rule, from, to int64) (*Backtest, error) {
	start := time.Now()
	c, err := rules.Compile(r)
	if err != nil {
		return nil, err
	}
	where, args, err := filterSQL(r.Filter)
	if err != nil {
		return nil, fmt.Errorf("filter: %w", err)
	}
	if types := c.EventTypes(); len(types) > 0 {
		ph := strings.TrimSuffix(strings.Repeat("?, ", len(types)), ", ")
		where = "event_type IN (" + ph + ") AND (" + where + ")"
		targs := make([]any, len(types))
		for i, t := range types {
			targs[i] = t
		}
		args = append(targs, args...)
	}
	supp, sargs := "false", []any(nil)
	if len(r.Suppressions) > 0 {
		var parts []string
		for i, s := range r.Suppressions {
			w, a, err := filterSQL(s)
			if err != nil {
				return nil, fmt.Errorf("suppression %d: %w", i+1, err)
			}
			parts = append(parts, "("+w+")")
			sargs = append(sargs, a...)
		}
		supp = strings.Join(parts, " OR ")
	}
	window := r.Window
	if window <= 0 {
		window = time.Hour
	}
	group := groupSQL(r.Aggregate, "")
	if a := r.After; a != nil {
		// A sequence rule's match counts after After.Threshold events of
		// its After in its group within the window before it.
		aw, aargs, err := filterSQL(a.Filter)
		if err != nil {
			return nil, fmt.Errorf("after: %w", err)
		}
		where = fmt.Sprintf(`(%s) AND (SELECT count(*) FROM events p WHERE (%s) AND %s = %s
			AND p.event_time BETWEEN events.event_time - INTERVAL '%d milliseconds' AND events.event_time) >= %d`,
			where, aw, groupSQL(r.Aggregate, "p."), groupSQL(r.Aggregate, "events."), window.Milliseconds(), a.Threshold)
		args = append(args, aargs...)
	}
	// One scan: the matching events, whether a suppression hides each, its
	// group and window, are materialized once; the counts, the hosts and the
	// samples are read from that.
	threshold := max(r.Threshold, 1)
	// The alerts: the windows (fixed, aligned on the epoch) in which some
	// event has threshold events of its group in the window-length span
	// ending at it, as live detection opens them (alert.Observe); with a
	// threshold of one, or over alert.MaxSlidingThreshold, the windows
	// holding threshold events.
	alerts := fmt.Sprintf(`SELECT count(*) FROM (SELECT grp, win FROM m WHERE NOT hidden GROUP BY ALL HAVING count(*) >= %d)`, threshold)
	if threshold > 1 && threshold <= alert.MaxSlidingThreshold {
		alerts = fmt.Sprintf(`SELECT count(*) FROM (SELECT DISTINCT grp, win FROM (
			SELECT grp, win, count(*) OVER (PARTITION BY grp ORDER BY epoch_ms(event_time)
				RANGE BETWEEN %d PRECEDING AND CURRENT ROW) AS n
			FROM m WHERE NOT hidden) WHERE n >= %d)`, window.Milliseconds(), threshold)
	}
	q := fmt.Sprintf(`WITH m AS MATERIALIZED (
		SELECT _id, event_time, event_type, hostname, exe, arguments, "user", src_ip, dst_ip, event_name,
		       coalesce((%s), false) AS hidden, %s AS grp, epoch_ms(event_time) // %d AS win
		FROM events WHERE %s)
	SELECT (SELECT count(*) FROM m), (SELECT count(*) FROM m WHERE hidden),
		(%s),
		(SELECT CAST(to_json(list({'hostname': h, 'events': e, 'suppressed': s})) AS VARCHAR) FROM (
			SELECT coalesce(hostname, '') AS h, count(*) FILTER (WHERE NOT hidden) AS e, count(*) FILTER (WHERE hidden) AS s
			FROM m GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 20)),
		(SELECT CAST(to_json(list(x)) AS VARCHAR) FROM (SELECT m AS x FROM m WHERE NOT hidden LIMIT 5)),
		(SELECT CAST(to_json(list(x)) AS VARCHAR) FROM (SELECT m AS x FROM m WHERE hidden LIMIT 5))`,
		supp, group, window.Milliseconds(), where, alerts)
	all := append(append([]any{}, sargs...), args...)
	bt := newBacktest(r.Name, from, to)
	var hosts, shown, hidden sql.NullString
	if err := scanOne(ctx, db, org, from, to, q, all, &bt.Matched, &bt.Suppressed, &bt.Alerts, &hosts, &shown, &hidden); err != nil {
		return nil, err
	}
	for _, x := range []struct {
		text sql.NullString
		dst  any
	}{{hosts, &bt.Hosts}, {shown, &bt.Samples}, {hidden, &bt.Hidden}} {
		if x.text.Valid && x.text.String != "null" {
			if err := json.Unmarshal([]byte(x.text.String), x.dst); err != nil {
				return nil, fmt.Errorf("backtest answer: %w", err)
			}
		}
	}
	for _, m := range append(bt.Samples, bt.Hidden...) {
		delete(m, "hidden")
		delete(m, "grp")
		delete(m, "win")
	}
	for _, w := range rules.Lint(r) {
		bt.Warnings = append(bt.Warnings, w.Message)
	}
	// A misspelt field in the filter matches nothing, and says so.
	unknown, err := db.UnknownFields(ctx, org, from, to, r.Filter)
	if err != nil {
		return nil, err
	}
	bt.Warnings = append(bt.Warnings, unknown...)
	if bt.Matched > 0 {
		if w := rules.LintBroad(int(bt.Matched), int(bt.Suppressed), BroadShare); w != nil {
			bt.Warnings = append(bt.Warnings, w.Message)
		}
	}
	bt.Took = time.Since(start)
	return bt, nil
}

func filterSQL(f string) (string, []any, error) {
	s, err := query.ToSQLString(f)
	if err != nil {
		return "", nil, err
	}
	return s.Where, s.Args, nil
}

// fieldSQL is the SQL of a field of the table qualified by qual ("" or
// "alias."): its column when typed, else its value in raw by its original
// name.
func fieldSQL(qual, name string) string {
	if f, ok := event.Lookup(name); ok {
		return qual + sqlquote.Ident(f.Name)
	}
	return "json_extract_string(" + qual + "raw, " + sqlquote.String(sqlquote.JSONPointer(name)) + ")"
}

// groupSQL is the SQL of a rule's alert group: its aggregate fields'
// values joined.
func groupSQL(aggregate []string, qual string) string {
	if len(aggregate) == 0 {
		return "''"
	}
	var exprs []string
	for _, f := range aggregate {
		exprs = append(exprs, "coalesce(CAST("+fieldSQL(qual, f)+" AS VARCHAR), '')")
	}
	return strings.Join(exprs, " || '\x1f' || ")
}

func scanOne(ctx context.Context, db *datadir.DB, org string, from, to int64, q string, args []any, dst ...any) error {
	rows, err := db.Query(ctx, org, from, to, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return err
		}
	}
	return rows.Err()
}
