package sweep

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
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

// windowsPath says whether a path is a Windows one (a drive or a
// backslash).
func windowsPath(v string) bool {
	return strings.Contains(v, `\`) || (len(v) > 2 && v[1] == ':' && (v[2] == '\\' || v[2] == '/'))
}

// rawForm is how a value appears inside raw JSON text: escaped, lowercase.
func rawForm(v string) string {
	b, _ := json.Marshal(v)
	return strings.ToLower(string(b[1 : len(b)-1]))
}

// cidrPrefixes returns the text prefixes IPv4 addresses of p start with:
// "10." for 10.0.0.0/8, "192.168.1.0" (whole, exact) for a /32, and for a
// length that is no multiple of 8 every value of the partial octet.
func cidrPrefixes(p netip.Prefix) (prefixes, exact []string) {
	b := p.Masked().Addr().As4()
	k, r := p.Bits()/8, p.Bits()%8
	var heads []string
	head := ""
	for i := 0; i < k; i++ {
		head += strconv.Itoa(int(b[i])) + "."
	}
	if r == 0 {
		heads = []string{head}
	} else {
		k++
		for v := int(b[k-1]); v < int(b[k-1])+1<<(8-r); v++ {
			heads = append(heads, head+strconv.Itoa(v)+".")
		}
	}
	for _, h := range heads {
		if k == 4 {
			exact = append(exact, strings.TrimSuffix(h, "."))
		} else {
			prefixes = append(prefixes, h)
		}
	}
	return prefixes, exact
}

// rawTypes are the event types whose raw is searched: Linux audit,
// network and login events keep every field an IoC can match in typed
// columns, and raw is the costly column to search.
const rawTypes = `event_type NOT IN ('audit', 'network', 'login', 'logout')`

// kindFields says which fields each kind is matched against.
const kindFields = `('sha256', 'raw'), ('sha1', 'raw'), ('md5', 'raw'), ('ip', 'src_ip'), ('ip', 'dst_ip'),
  ('cidr', 'src_ip'), ('cidr', 'dst_ip'), ('domain', 'raw'), ('domain', 'arguments'),
  ('path', 'exe'), ('path', 'parent_exe'), ('path', 'path'), ('path', 'raw'),
  ('filename', 'exe'), ('filename', 'path'), ('cmdline', 'arguments')`

// Run sweeps org's events in [from, to] (epoch ms) for the IoCs and
// reports the hits by host and IoC: where it matched (fields, comma
// separated), first and last sighting and the number of events. Matching
// is case-insensitive: paths against exe, parent_exe, path and raw; file
// names against the base name of exe and path; hashes against raw; IPs
// and IPv4 networks against src_ip and dst_ip; domains against raw and
// arguments; substrings against arguments. raw is searched in events
// other than Linux audit, network and login ones (Windows, Sysmon, file,
// CloudTrail, ...). Events are read once: a prefilter of a few regular
// expressions over all IoCs selects candidates, which are then matched
// IoC by IoC.
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
		ipRes   []string // over src_ip, dst_ip
	)
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	for _, i := range iocs {
		var lo, hi int64
		v := i.Value
		switch i.Kind {
		case SHA256, SHA1, MD5, Domain, Path, FileName, Cmdline:
			v = strings.ToLower(v)
		}
		q := regexp.QuoteMeta(v)
		rq := regexp.QuoteMeta(rawForm(v))
		switch i.Kind {
		case SHA256, SHA1, MD5:
			rawRes = append(rawRes, rq)
		case IP:
			a, err := netip.ParseAddr(v)
			if err != nil {
				return hunt.Table{}, fmt.Errorf("sweep: ioc %s: not an address", i)
			}
			v = a.Unmap().String()
			ipRes = append(ipRes, "^"+regexp.QuoteMeta(v)+"$")
		case CIDR:
			p, err := netip.ParsePrefix(v)
			if err != nil || !p.Addr().Is4() {
				return hunt.Table{}, fmt.Errorf("sweep: ioc %s: only IPv4 networks are supported", i)
			}
			p = p.Masked()
			b := p.Addr().As4()
			lo = int64(b[0])<<24 | int64(b[1])<<16 | int64(b[2])<<8 | int64(b[3])
			hi = lo + (int64(1) << (32 - p.Bits())) - 1
			pre, exact := cidrPrefixes(p)
			for _, x := range pre {
				ipRes = append(ipRes, "^"+regexp.QuoteMeta(x))
			}
			for _, x := range exact {
				ipRes = append(ipRes, "^"+regexp.QuoteMeta(x)+"$")
			}
		case Domain:
			rawRes = append(rawRes, rq)
			argRes = append(argRes, q)
		case Path:
			nameRes = append(nameRes, "^"+q+"$")
			if windowsPath(v) {
				// Windows paths also live in raw (TargetFilename,
				// ImageLoaded...); Linux paths are in exe, parent_exe and path.
				rawRes = append(rawRes, rq)
			}
		case FileName:
			nameRes = append(nameRes, `(^|[/\\])`+q+"$")
		case Cmdline:
			argRes = append(argRes, q)
		default:
			return hunt.Table{}, fmt.Errorf("sweep: ioc %s: unknown kind", i)
		}
		vals = append(vals, fmt.Sprintf("(%s, %s, %s, %s, %s::BIGINT, %s::BIGINT)",
			arg(i.String()), arg(i.Kind), arg(v), arg(rawForm(v)), arg(lo), arg(hi)))
	}
	var pre []string
	if len(nameRes) > 0 {
		re := arg("(?im)" + strings.Join(nameRes, "|"))
		pre = append(pre, fmt.Sprintf("regexp_matches(exe, %[1]s) OR regexp_matches(parent_exe, %[1]s) OR regexp_matches(array_to_string(path, chr(10)), %[1]s)", re))
	}
	if len(rawRes) > 0 {
		pre = append(pre, fmt.Sprintf("(%s AND regexp_matches(raw, %s))", rawTypes, arg("(?i)"+strings.Join(rawRes, "|"))))
	}
	if len(argRes) > 0 {
		pre = append(pre, fmt.Sprintf("regexp_matches(arguments, %s)", arg("(?i)"+strings.Join(argRes, "|"))))
	}
	if len(ipRes) > 0 {
		pre = append(pre, fmt.Sprintf("regexp_matches(src_ip, %[1]s) OR regexp_matches(dst_ip, %[1]s)", arg(strings.Join(ipRes, "|"))))
	}
	// raw is the costly column (every scanned row's JSON): read only when
	// an IoC needs it.
	rawCol := "CASE WHEN " + rawTypes + " THEN lower(raw) END AS raw"
	if len(rawRes) == 0 {
		rawCol = "CAST(NULL AS VARCHAR) AS raw"
	}
	q := `WITH
i(ioc, kind, v, rawv, lo, hi) AS (VALUES ` + strings.Join(vals, ",\n  ") + `),
kf(kind, field) AS (VALUES ` + kindFields + `),
ev AS MATERIALIZED (
  SELECT _id, hostname, agent_id, event_time, lower(exe) AS exe, lower(parent_exe) AS parent_exe,
         string_split(lower(array_to_string(path, chr(10))), chr(10)) AS path, src_ip, dst_ip, lower(arguments) AS arguments,
         ` + rawCol + `
  FROM events
  WHERE ` + strings.Join(pre, "\n     OR ") + `
),
m AS (
  SELECT e._id, e.hostname, e.agent_id, e.event_time, i.ioc, i.kind, kf.field
  FROM ev e CROSS JOIN (i JOIN kf USING (kind))
  WHERE CASE
    WHEN i.kind IN ('sha256', 'sha1', 'md5') THEN contains(e.raw, i.rawv)
    WHEN i.kind = 'ip' THEN CASE kf.field WHEN 'src_ip' THEN e.src_ip = i.v ELSE e.dst_ip = i.v END
    WHEN i.kind = 'cidr' THEN (CASE kf.field WHEN 'src_ip' THEN ` + ipInt("e.src_ip") + ` ELSE ` + ipInt("e.dst_ip") + ` END) BETWEEN i.lo AND i.hi
    WHEN i.kind = 'domain' THEN CASE kf.field WHEN 'raw' THEN contains(e.raw, i.rawv) ELSE contains(e.arguments, i.v) END
    WHEN i.kind = 'path' THEN CASE kf.field WHEN 'exe' THEN e.exe = i.v WHEN 'parent_exe' THEN e.parent_exe = i.v
                                            WHEN 'path' THEN list_contains(e.path, i.v) ELSE contains(e.raw, i.rawv) END
    WHEN i.kind = 'filename' THEN CASE kf.field WHEN 'exe' THEN regexp_extract(e.exe, '[^/\\]*$') = i.v
                                   ELSE list_contains(string_split(regexp_replace(array_to_string(e.path, chr(10)), '[^\n]*[/\\]', '', 'g'), chr(10)), i.v) END
    WHEN i.kind = 'cmdline' THEN contains(e.arguments, i.v)
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
