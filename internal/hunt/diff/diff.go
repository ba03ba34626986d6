// Package diff answers seed 000's question, "what did this host do that it
// never did before?": it compares a host's activity in a window with its own
// baseline (or with another host) and lists, per category, the items that
// are new in the window (or, on request, gone from it): executables,
// normalised command lines, users, parent → child executables, outbound
// destinations, listening ports, login sources and writes to sensitive
// paths. Each item carries its first sighting, an example event and on how
// many hosts of the organization it was seen: rare is suspicious.
package diff

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/hunt"
	"github.com/spoor-dev/spoor/internal/sqlquote"
)

// The categories of items, in the order they are reported.
const (
	Executables = "executable"   // exe of a process start
	Commands    = "command"      // exe and its normalised arguments
	Users       = "user"         // user of any event
	ParentChild = "parent_child" // parent exe -> exe of a process start
	Outbound    = "outbound"     // dst_ip:dst_port of an outbound connection
	Listening   = "listening"    // protocol/port a connection came in to
	Logins      = "login_source" // source address of a login
	Files       = "file"         // a sensitive path written
)

// Categories lists every category, in report order.
var Categories = []string{Executables, Commands, Users, ParentChild, Outbound, Listening, Logins, Files}

// Options say what to compare.
type Options struct {
	// Host is the host to examine: its agent_id or hostname.
	Host string
	// AgainstHost, when set, is compared with instead of Host's own
	// baseline; its events in [BaselineFrom, BaselineTo] count, or in the
	// window when no baseline range is given.
	AgainstHost string
	// BaselineFrom..BaselineTo and WindowFrom..WindowTo are inclusive
	// ranges in epoch milliseconds.
	BaselineFrom, BaselineTo int64
	WindowFrom, WindowTo     int64
	// Categories limits the report; nil means all.
	Categories []string
	// Disappeared also lists items of the baseline absent from the window,
	// with status "gone".
	Disappeared bool
}

// Columns of the answer. fleet_hosts counts the organization's hosts with
// the item in the baseline or window time (a parent -> child pair counts
// the hosts that ran the child).
var Columns = []string{"category", "item", "first_seen", "count", "example_event_id", "fleet_hosts", "status"}

// normRules rewrite the variable parts of a command line. They are RE2, so
// Go and DuckDB apply them alike; replacements hold no group references.
var normRules = []struct{ re, repl string }{
	{`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`, "<uuid>"},
	// random names under temporary directories: mktemp's tmp.XXXXXX and
	// names with two digits or more
	{`/tmp/` + randName, "/tmp/<rand>"},
	{`/var/tmp/` + randName, "/var/tmp/<rand>"},
	{`/dev/shm/` + randName, "/dev/shm/<rand>"},
	{`\b0[xX][0-9a-fA-F]+\b`, "<hex>"},
	{`\b[0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*[0-9][0-9a-fA-F]*\b|\b[0-9a-fA-F]*[0-9][0-9a-fA-F]*[a-fA-F][0-9a-fA-F]*\b`, "<hex>"},
	{`\b[0-9]+\b`, "<n>"},
}

// randName is a temporary file's random name: mktemp's tmp.XXXXXX, or a
// name with two digits or more.
const randName = `(?:tmp[._-][A-Za-z0-9_.-]+|[A-Za-z_.-]*[0-9][A-Za-z_.-]*[0-9][A-Za-z0-9_.-]*)`

var normRes = func() []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(normRules))
	for i, r := range normRules {
		out[i] = regexp.MustCompile(r.re)
	}
	return out
}()

// NormalizeArgs rewrites the parts of a command line that vary from run to
// run (uuids, hex and decimal numbers, random names under /tmp, /var/tmp
// and /dev/shm) to placeholders, so that runs of the same command compare
// equal. Hex needs a digit and a letter a-f, or a 0x prefix, so words stay.
func NormalizeArgs(s string) string {
	for i, re := range normRes {
		s = re.ReplaceAllLiteralString(s, normRules[i].repl)
	}
	return s
}

// normSQL is NormalizeArgs in DuckDB over the SQL expression x.
func normSQL(x string) string {
	for _, r := range normRules {
		x = fmt.Sprintf("regexp_replace(%s, %s, %s, 'g')", x, sqlquote.String(r.re), sqlquote.String(r.repl))
	}
	return x
}

// sensitivePaths are the path prefixes whose writes are reported.
const sensitivePaths = `^(/tmp/|/var/tmp/|/dev/shm/|/etc/cron|/var/spool/cron/|/etc/systemd/|/lib/systemd/system/|/usr/lib/systemd/system/|/run/systemd/system/|/etc/init\.d/|/etc/rc\.local|/etc/passwd|/etc/shadow|/etc/group|/etc/sudoers|/etc/ld\.so\.preload|/etc/profile|/root/\.ssh/|/home/[^/]+/\.ssh/|/root/\.bashrc|/home/[^/]+/\.bashrc|/home/[^/]+/\.config/systemd/)`

// itemsSQL selects (category, item, _id, agent_id, event_time, w, b) from
// relation src for the categories cats.
func itemsSQL(src string, cats []string) string {
	procs := fmt.Sprintf(`(SELECT * FROM %s WHERE exe IS NOT NULL AND (syscall = 'execve' OR (event_type = 'sysmon' AND win_event_id = 1) OR (event_type = 'winsec' AND win_event_id = 4688)))`, src)
	cols := "_id, agent_id, event_time, w, b"
	// k1 and k2 are the column values an item comes from (exe, user,
	// dst_ip, ...) so the fleet scan can be pruned to them.
	var parts []string
	for _, c := range cats {
		switch c {
		case Executables:
			parts = append(parts, fmt.Sprintf(`SELECT '%s' AS category, exe AS item, exe AS k1, NULL::VARCHAR AS k2, %s FROM %s`, c, cols, procs))
		case Commands:
			parts = append(parts, fmt.Sprintf(`SELECT '%s', exe || ' ' || %s, exe, NULL, %s FROM %s`, c, normSQL("coalesce(arguments, '')"), cols, procs))
		case Users:
			parts = append(parts, fmt.Sprintf(`SELECT '%s', "user", "user", NULL, %s FROM %s WHERE "user" IS NOT NULL AND "user" <> ''`, c, cols, src))
		case ParentChild:
			// Linux audit has no parent_exe: the parent is the latest
			// earlier event of the same host whose pid is the ppid.
			parts = append(parts, fmt.Sprintf(`SELECT '%s', coalesce(c.parent_exe, p.exe) || ' -> ' || c.exe, c.exe, coalesce(c.parent_exe, p.exe), c._id, c.agent_id, c.event_time, c.w, c.b
  FROM %s c ASOF LEFT JOIN (SELECT agent_id, pid, event_time, exe FROM %s WHERE pid IS NOT NULL AND exe IS NOT NULL) p
    ON c.agent_id = p.agent_id AND c.ppid = p.pid AND c.event_time > p.event_time
  WHERE coalesce(c.parent_exe, p.exe) IS NOT NULL`, c, procs, src))
		case Outbound:
			parts = append(parts, fmt.Sprintf(`SELECT '%s', dst_ip || ':' || coalesce(CAST(dst_port AS VARCHAR), ''), dst_ip, NULL, %s FROM %s
  WHERE event_type = 'network' AND dst_ip IS NOT NULL AND dst_ip <> '' AND (direction IS NULL OR direction NOT IN ('inbound', 'listen'))`, c, cols, src))
		case Listening:
			parts = append(parts, fmt.Sprintf(`SELECT '%s', coalesce(protocol, '') || '/' || CAST(coalesce(dst_port, src_port) AS VARCHAR), NULL, NULL, %s FROM %s
  WHERE ((event_type = 'network' AND direction IN ('inbound', 'listen')) OR syscall IN ('bind', 'listen')) AND coalesce(dst_port, src_port) IS NOT NULL`, c, cols, src))
		case Logins:
			parts = append(parts, fmt.Sprintf(`SELECT '%s', src_ip, src_ip, NULL, %s FROM %s WHERE event_type = 'login' AND src_ip IS NOT NULL AND src_ip <> ''`, c, cols, src))
		case Files:
			parts = append(parts, fmt.Sprintf(`SELECT '%s', p, NULL, NULL, %s FROM (SELECT unnest(path) AS p, %s FROM %s WHERE event_type = 'file') WHERE regexp_matches(p, '%s')`, c, cols, cols, src, sensitivePaths))
		}
	}
	if len(parts) == 0 {
		parts = []string{"SELECT NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, NULL::VARCHAR, NULL::TIMESTAMP, false, false WHERE false"}
	}
	return "SELECT * FROM (" + strings.Join(parts, "\nUNION ALL ") + ") AS t(category, item, k1, k2, _id, agent_id, event_time, w, b)"
}

// Run lists what is new in o's window and absent from the baseline.
func Run(ctx context.Context, db *datadir.DB, org string, o Options) (hunt.Table, error) {
	if o.Host == "" {
		return hunt.Table{}, errors.New("diff: no host")
	}
	if o.WindowTo < o.WindowFrom {
		return hunt.Table{}, errors.New("diff: window ends before it starts")
	}
	against := o.Host
	bFrom, bTo := o.BaselineFrom, o.BaselineTo
	if o.AgainstHost != "" {
		against = o.AgainstHost
		if bFrom == 0 && bTo == 0 {
			bFrom, bTo = o.WindowFrom, o.WindowTo
		}
	} else if bFrom == 0 && bTo == 0 {
		return hunt.Table{}, errors.New("diff: no baseline range and no host to compare with")
	}
	if bTo < bFrom {
		return hunt.Table{}, errors.New("diff: baseline ends before it starts")
	}
	cats := o.Categories
	if len(cats) == 0 {
		cats = Categories
	}
	for _, c := range cats {
		if !slices.Contains(Categories, c) {
			return hunt.Table{}, fmt.Errorf("diff: unknown category %q (have %s)", c, strings.Join(Categories, ", "))
		}
	}
	q := diffSQL(cats, o.Disappeared)
	from, to := min(o.WindowFrom, bFrom), max(o.WindowTo, bTo)
	host, err := agentID(ctx, db, org, o.Host, o.WindowFrom, o.WindowTo)
	if err != nil {
		return hunt.Table{}, err
	}
	if against == o.Host {
		against = host
	} else if against, err = agentID(ctx, db, org, against, bFrom, bTo); err != nil {
		return hunt.Table{}, err
	}
	t, err := hunt.Query(ctx, db, org, from, to, q, host, against, o.WindowFrom, o.WindowTo, bFrom, bTo)
	if err != nil {
		return hunt.Table{}, fmt.Errorf("diff: %w", err)
	}
	return t, nil
}

var uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// agentID resolves a host named by hostname to its agent_id, so the scans
// filter on agent_id, the column parts are sorted by. A host that looks
// like an agent_id is taken as one; an unknown one is returned unchanged.
func agentID(ctx context.Context, db *datadir.DB, org, host string, from, to int64) (string, error) {
	if uuidRe.MatchString(host) {
		return host, nil
	}
	t, err := hunt.Query(ctx, db, org, from, to, `SELECT DISTINCT agent_id FROM events WHERE hostname = $1 OR agent_id = $1 LIMIT 2`, host)
	if err != nil {
		return "", fmt.Errorf("diff: find host %s: %w", host, err)
	}
	switch len(t.Rows) {
	case 0:
		return host, nil
	case 1:
		s, _ := t.Rows[0][0].(string)
		return s, nil
	}
	return "", fmt.Errorf("diff: hostname %s names more than one agent; give the agent_id", host)
}

// diffSQL builds the statement. Parameters: $1 host, $2 baseline host
// (agent_ids),
// $3..$4 window, $5..$6 baseline (epoch ms). It reads the events view
// twice: once for the two hosts, once (pruned to the new items' values) for
// the fleet count.
func diffSQL(cats []string, gone bool) string {
	status := `wn > 0 AND bn = 0`
	if gone {
		status += ` OR bn > 0 AND wn = 0`
	}
	order := "CASE category"
	for i, c := range Categories {
		order += fmt.Sprintf(" WHEN '%s' THEN %d", c, i)
	}
	order += " END"
	return `WITH
ev AS MATERIALIZED (
  SELECT _id, agent_id, event_time, event_type, syscall, win_event_id, exe, arguments, "user", parent_exe, pid, ppid,
         dst_ip, dst_port, src_ip, src_port, protocol, direction, path,
         (agent_id = $1 AND event_time BETWEEN make_timestamp($3 * 1000) AND make_timestamp($4 * 1000)) AS w,
         (agent_id = $2 AND event_time BETWEEN make_timestamp($5 * 1000) AND make_timestamp($6 * 1000)) AS b
  FROM events
  WHERE agent_id IN ($1, $2)
),
hev AS (SELECT * FROM ev WHERE w OR b),
items AS (
` + itemsSQL("hev", cats) + `
),
agg AS (
  SELECT category, item, any_value(k1) AS k1, any_value(k2) AS k2,
         count(*) FILTER (WHERE w) AS wn, count(*) FILTER (WHERE b) AS bn,
         min(event_time) FILTER (WHERE w) AS wfirst, min(event_time) FILTER (WHERE b) AS bfirst,
         arg_min(_id, event_time) FILTER (WHERE w) AS wid, arg_min(_id, event_time) FILTER (WHERE b) AS bid
  FROM items WHERE item IS NOT NULL GROUP BY ALL
),
found AS (SELECT * FROM agg WHERE ` + status + `),
fev AS (
  SELECT _id, agent_id, event_time, event_type, syscall, win_event_id, exe, arguments, "user", parent_exe, pid, ppid,
         dst_ip, dst_port, src_ip, src_port, protocol, direction, path, true AS w, false AS b
  FROM events
  WHERE exe IN (SELECT k1 FROM found WHERE category IN ('executable', 'command', 'parent_child'))
     OR "user" IN (SELECT k1 FROM found WHERE category = 'user')
     OR dst_ip IN (SELECT k1 FROM found WHERE category = 'outbound')
     OR src_ip IN (SELECT k1 FROM found WHERE category = 'login_source')
     OR (event_type = 'network' AND direction IN ('inbound', 'listen') AND EXISTS (SELECT 1 FROM found WHERE category = 'listening'))
     OR syscall IN ('bind', 'listen')
     OR (event_type = 'file' AND EXISTS (SELECT 1 FROM found WHERE category = 'file'))
),
fleet AS (
  SELECT x.category, x.item, count(DISTINCT x.agent_id) AS hosts FROM (
` + itemsSQL("fev", slices.DeleteFunc(slices.Clone(cats), func(c string) bool { return c == ParentChild })) + `
  ) x SEMI JOIN found USING (category, item) GROUP BY ALL
  UNION ALL
  -- a pair's prevalence is its child's: finding every host's parents
  -- would mean reading the fleet's process starts
  SELECT f.category, f.item, count(DISTINCT e.agent_id)
  FROM found f JOIN fev e ON f.category = 'parent_child' AND e.exe = f.k1
  GROUP BY ALL
)
SELECT f.category, f.item,
       CASE WHEN f.wn > 0 THEN f.wfirst ELSE f.bfirst END AS first_seen,
       CASE WHEN f.wn > 0 THEN f.wn ELSE f.bn END AS count,
       CASE WHEN f.wn > 0 THEN f.wid ELSE f.bid END AS example_event_id,
       coalesce(fl.hosts, 0) AS fleet_hosts,
       CASE WHEN f.wn > 0 THEN 'new' ELSE 'gone' END AS status
FROM found f LEFT JOIN fleet fl USING (category, item)
ORDER BY status DESC, ` + strings.ReplaceAll(order, "category", "f.category") + `, first_seen, f.item`
}
