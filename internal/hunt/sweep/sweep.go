package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/hunt"
)

// Columns of the answer.
var Columns = []string{"hostname", "agent_id", "ioc", "kind", "field", "first_seen", "last_seen", "count"}

// ipInt is the SQL for an IPv4 address column as an integer, NULL for
// anything else. DuckDB's inet extension is not bundled.
func ipInt(col string) string {
	return fmt.Sprintf(`(CASE WHEN regexp_full_match(%[1]s, '[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}') THEN
  TRY_CAST(split_part(%[1]s, '.', 1) AS BIGINT) * 16777216 + TRY_CAST(split_part(%[1]s, '.', 2) AS BIGINT) * 65536 +
  TRY_CAST(split_part(%[1]s, '.', 3) AS BIGINT) * 256 + TRY_CAST(split_part(%[1]s, '.', 4) AS BIGINT) END)`, col)
}

// rawForm is how a value appears inside raw JSON text: escaped, lowercase.
func rawForm(v string) string {
	b, _ := json.Marshal(v)
	return strings.ToLower(string(b[1 : len(b)-1]))
}

// Run sweeps org's events in [from, to] (epoch ms) for the IoCs and
// reports the hits by host and IoC: where it matched (fields, comma
// separated), first and last sighting and the number of events. Matching
// is case-insensitive: paths against exe, parent_exe, path and raw; file
// names against the base name of exe and path; hashes against raw; IPs
// and networks against src_ip and dst_ip; domains against raw and
// arguments; substrings against arguments. Events are read once: a
// prefilter on all IoCs selects candidates, which are then matched IoC by
// IoC.
func Run(ctx context.Context, db *datadir.DB, org string, iocs []IoC, from, to int64) (hunt.Table, error) {
	if len(iocs) == 0 {
		return hunt.Table{Columns: Columns}, nil
	}
	var (
		args    []any
		vals    []string
		nameRes []string // over exe, parent_exe, path lines
		rawRes  []string
		argRes  []string
		ips     []string
		cidrs   [][2]string // placeholders of lo, hi
	)
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	for _, i := range iocs {
		var lo, hi int64
		v := i.Value
		q := regexp.QuoteMeta(strings.ToLower(v))
		rq := regexp.QuoteMeta(rawForm(v))
		switch i.Kind {
		case SHA256, SHA1, MD5:
			v = strings.ToLower(v)
			rawRes = append(rawRes, rq)
		case IP:
			a, err := netip.ParseAddr(v)
			if err != nil {
				return hunt.Table{}, fmt.Errorf("sweep: ioc %s: not an address", i)
			}
			v = a.Unmap().String()
			ips = append(ips, v)
		case CIDR:
			p, err := netip.ParsePrefix(v)
			if err != nil || !p.Addr().Is4() {
				return hunt.Table{}, fmt.Errorf("sweep: ioc %s: only IPv4 networks are supported", i)
			}
			p = p.Masked()
			b := p.Addr().As4()
			lo = int64(b[0])<<24 | int64(b[1])<<16 | int64(b[2])<<8 | int64(b[3])
			hi = lo + (int64(1) << (32 - p.Bits())) - 1
		case Domain:
			v = strings.ToLower(v)
			rawRes = append(rawRes, rq)
			argRes = append(argRes, q)
		case Path:
			v = strings.ToLower(v)
			nameRes = append(nameRes, "^"+q+"$")
			rawRes = append(rawRes, rq)
		case FileName:
			v = strings.ToLower(v)
			nameRes = append(nameRes, `(^|[/\\])`+q+"$")
		case Cmdline:
			v = strings.ToLower(v)
			argRes = append(argRes, q)
		default:
			return hunt.Table{}, fmt.Errorf("sweep: ioc %s: unknown kind", i)
		}
		vals = append(vals, fmt.Sprintf("(%s, %s, %s, %s, %s::BIGINT, %s::BIGINT)",
			arg(i.String()), arg(i.Kind), arg(v), arg(rawForm(v)), arg(lo), arg(hi)))
		if i.Kind == CIDR {
			cidrs = append(cidrs, [2]string{arg(lo), arg(hi)})
		}
	}
	var pre []string
	if len(nameRes) > 0 {
		re := arg("(?im)" + strings.Join(nameRes, "|"))
		pre = append(pre, fmt.Sprintf("regexp_matches(exe, %[1]s) OR regexp_matches(parent_exe, %[1]s) OR regexp_matches(array_to_string(path, chr(10)), %[1]s)", re))
	}
	if len(rawRes) > 0 {
		pre = append(pre, fmt.Sprintf("regexp_matches(CAST(raw AS VARCHAR), %s)", arg("(?i)"+strings.Join(rawRes, "|"))))
	}
	if len(argRes) > 0 {
		pre = append(pre, fmt.Sprintf("regexp_matches(arguments, %s)", arg("(?i)"+strings.Join(argRes, "|"))))
	}
	if len(ips) > 0 {
		ph := make([]string, len(ips))
		for k, ip := range ips {
			ph[k] = arg(ip)
		}
		list := strings.Join(ph, ", ")
		pre = append(pre, fmt.Sprintf("src_ip IN (%[1]s) OR dst_ip IN (%[1]s)", list))
	}
	for _, col := range []string{"src_ip", "dst_ip"} {
		if len(cidrs) == 0 {
			break
		}
		var or []string
		for _, c := range cidrs {
			or = append(or, fmt.Sprintf("%s BETWEEN %s AND %s", ipInt(col), c[0], c[1]))
		}
		pre = append(pre, strings.Join(or, " OR "))
	}
	if len(pre) == 0 {
		return hunt.Table{}, errors.New("sweep: nothing to match")
	}
	q := `WITH
i(ioc, kind, v, rawv, lo, hi) AS (VALUES ` + strings.Join(vals, ",\n  ") + `),
ev AS MATERIALIZED (
  SELECT _id, hostname, agent_id, event_time, exe, parent_exe, path, src_ip, dst_ip, arguments, CAST(raw AS VARCHAR) AS raw
  FROM events
  WHERE ` + strings.Join(pre, "\n     OR ") + `
),
f(field) AS (VALUES ('exe'), ('parent_exe'), ('path'), ('src_ip'), ('dst_ip'), ('arguments'), ('raw')),
m AS (
  SELECT e._id, e.hostname, e.agent_id, e.event_time, i.ioc, i.kind, f.field
  FROM ev e CROSS JOIN i CROSS JOIN f
  WHERE CASE
    WHEN i.kind IN ('sha256', 'sha1', 'md5') THEN f.field = 'raw' AND contains(lower(e.raw), i.rawv)
    WHEN i.kind = 'ip' THEN (f.field = 'src_ip' AND e.src_ip = i.v) OR (f.field = 'dst_ip' AND e.dst_ip = i.v)
    WHEN i.kind = 'cidr' THEN (f.field = 'src_ip' AND ` + ipInt("e.src_ip") + ` BETWEEN i.lo AND i.hi)
                           OR (f.field = 'dst_ip' AND ` + ipInt("e.dst_ip") + ` BETWEEN i.lo AND i.hi)
    WHEN i.kind = 'domain' THEN (f.field = 'raw' AND contains(lower(e.raw), i.rawv)) OR (f.field = 'arguments' AND contains(lower(e.arguments), i.v))
    WHEN i.kind = 'path' THEN (f.field = 'exe' AND lower(e.exe) = i.v) OR (f.field = 'parent_exe' AND lower(e.parent_exe) = i.v)
                           OR (f.field = 'path' AND list_contains(string_split(lower(array_to_string(e.path, chr(10))), chr(10)), i.v))
                           OR (f.field = 'raw' AND contains(lower(e.raw), i.rawv))
    WHEN i.kind = 'filename' THEN (f.field = 'exe' AND lower(regexp_extract(e.exe, '[^/\\]*$')) = i.v)
                           OR (f.field = 'path' AND list_contains(string_split(regexp_replace(lower(array_to_string(e.path, chr(10))), '[^\n]*[/\\]', '', 'g'), chr(10)), i.v))
    WHEN i.kind = 'cmdline' THEN f.field = 'arguments' AND contains(lower(e.arguments), i.v)
    ELSE false END
)
SELECT max(hostname) AS hostname, agent_id, ioc, any_value(kind) AS kind, string_agg(DISTINCT field, ',' ORDER BY field) AS field,
       min(event_time) AS first_seen, max(event_time) AS last_seen, count(DISTINCT _id) AS count
FROM m GROUP BY agent_id, ioc
ORDER BY first_seen, agent_id, ioc`
	t, err := hunt.Query(ctx, db, org, from, to, q, args...)
	if err != nil {
		return hunt.Table{}, fmt.Errorf("sweep: %w", err)
	}
	return t, nil
}
