// Package network answers two questions about network telemetry: who
// talked to an address (Talkers) and where a host connected to, the
// external destinations first (Connections).
package network

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/hunt"
)

// MaxAddrs bounds the distinct addresses a CIDR of Talkers may match.
const MaxAddrs = 10_000

// TalkersColumns are the columns of Talkers' table.
var TalkersColumns = []string{"hostname", "agent_id", "addr", "direction", "ports", "exes", "first_seen", "last_seen", "count"}

// ConnectionsColumns are the columns of Connections' table.
var ConnectionsColumns = []string{"dst_ip", "dst_port", "external", "exes", "count", "first_seen", "last_seen"}

// peer is the other end of an event: the destination of an outbound
// connection, the source of an inbound one, the source address of a
// login, logout or cloud API call.
const peer = `CASE WHEN event_type = 'network' AND direction = 'inbound' THEN src_ip
	WHEN event_type = 'network' THEN dst_ip ELSE src_ip END`

// Talkers lists, per host, who talked to addr (an IP address, or a CIDR
// prefix such as 10.0.1.0/24) in [from, to] (epoch ms): the network events
// with addr at the other end (direction outbound: the host connected to
// it; inbound: it connected to the host) and the logins, logouts and
// other events whose source address it was (direction: their event type).
// ports lists the destination ports, the services used. Rows come by
// first_seen.
func Talkers(ctx context.Context, db *datadir.DB, org, addr string, from, to int64) (hunt.Table, error) {
	addrs, err := match(ctx, db, org, addr, from, to)
	if err != nil {
		return hunt.Table{}, err
	}
	tab := hunt.Table{Columns: TalkersColumns}
	if len(addrs) == 0 {
		return tab, nil
	}
	ph := strings.Repeat("?, ", len(addrs))
	ph = ph[:len(ph)-2]
	args := make([]any, len(addrs))
	for i, a := range addrs {
		args[i] = a
	}
	q := `SELECT coalesce(hostname, ''), coalesce(agent_id, ''), p,
		CASE WHEN event_type = 'network' THEN coalesce(direction, 'outbound') ELSE event_type END AS dir,
		list(DISTINCT dst_port) FILTER (WHERE dst_port IS NOT NULL),
		list(DISTINCT exe) FILTER (WHERE exe IS NOT NULL AND exe != ''),
		min(event_time) AS f, max(event_time), count(*)
		FROM (SELECT *, ` + peer + ` AS p FROM events WHERE (src_ip IN (` + ph + `) OR dst_ip IN (` + ph + `)))
		WHERE p IN (` + ph + `)
		GROUP BY ALL ORDER BY f, 1, 3, 4`
	res, err := hunt.Query(ctx, db, org, from, to, q, slices.Concat(args, args, args)...)
	if err != nil {
		return hunt.Table{}, err
	}
	for _, r := range res.Rows {
		tab.Rows = append(tab.Rows, []any{r[0], r[1], r[2], r[3], ports(r[4]), strs(r[5]), utc(r[6]), utc(r[7]), r[8]})
	}
	return tab, nil
}

// match returns the addresses addr stands for: itself, or the addresses
// in the prefix seen at either end of org's events in the time range.
func match(ctx context.Context, db *datadir.DB, org, addr string, from, to int64) ([]string, error) {
	addr = strings.TrimSpace(addr)
	if !strings.Contains(addr, "/") {
		a, err := netip.ParseAddr(addr)
		if err != nil {
			return nil, fmt.Errorf("bad address %q", addr)
		}
		return []string{a.String()}, nil
	}
	p, err := netip.ParsePrefix(addr)
	if err != nil {
		return nil, fmt.Errorf("bad address prefix %q", addr)
	}
	p = p.Masked()
	// Distinct addresses are few next to events: list them and keep the
	// ones in the prefix.
	res, err := hunt.Query(ctx, db, org, from, to,
		`SELECT DISTINCT a FROM (SELECT src_ip AS a FROM events WHERE src_ip IS NOT NULL
		UNION SELECT dst_ip FROM events WHERE dst_ip IS NOT NULL)`)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range res.Rows {
		s, _ := r[0].(string)
		if a, err := netip.ParseAddr(s); err == nil && p.Contains(a.Unmap()) {
			out = append(out, s)
			if len(out) > MaxAddrs {
				return nil, fmt.Errorf("prefix %s matches more than %d addresses", p, MaxAddrs)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// Connections lists the outbound connections of host (a hostname or an
// agent_id) in [from, to] (epoch ms) grouped by destination address and
// port: the external destinations (see External) first, then by first
// connection.
func Connections(ctx context.Context, db *datadir.DB, org, host string, from, to int64) (hunt.Table, error) {
	if host == "" {
		return hunt.Table{}, fmt.Errorf("no host")
	}
	res, err := hunt.Query(ctx, db, org, from, to,
		`SELECT dst_ip, dst_port, list(DISTINCT exe) FILTER (WHERE exe IS NOT NULL AND exe != ''),
		count(*), min(event_time), max(event_time)
		FROM events WHERE event_type = 'network' AND (hostname = ? OR agent_id = ?)
		AND coalesce(direction, 'outbound') != 'inbound' AND dst_ip IS NOT NULL
		GROUP BY ALL`, host, host)
	if err != nil {
		return hunt.Table{}, err
	}
	tab := hunt.Table{Columns: ConnectionsColumns}
	for _, r := range res.Rows {
		ip, _ := r[0].(string)
		tab.Rows = append(tab.Rows, []any{ip, toInt(r[1]), External(ip), strs(r[2]), r[3], utc(r[4]), utc(r[5])})
	}
	slices.SortFunc(tab.Rows, func(a, b []any) int {
		ea, eb := a[2].(bool), b[2].(bool)
		if ea != eb {
			if ea {
				return -1
			}
			return 1
		}
		return cmp.Or(a[5].(time.Time).Compare(b[5].(time.Time)), cmp.Compare(a[0].(string), b[0].(string)),
			cmp.Compare(a[1].(int64), b[1].(int64)))
	})
	return tab, nil
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// External says ip is a routable address outside the fleet: not private
// (RFC 1918, fc00::/7), loopback, link-local (169.254.0.0/16, fe80::/10),
// CGNAT (100.64.0.0/10), multicast, broadcast or unspecified. What does not
// parse as an address counts as external.
func External(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return true
	}
	a = a.Unmap()
	return !(a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsMulticast() || a.IsUnspecified() || cgnat.Contains(a) || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}))
}

// ports turns a DuckDB list of ports into sorted strings.
func ports(v any) []string {
	l, _ := v.([]any)
	ns := make([]int64, 0, len(l))
	for _, x := range l {
		ns = append(ns, toInt(x))
	}
	slices.Sort(ns)
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = strconv.FormatInt(n, 10)
	}
	return out
}

// strs turns a DuckDB list of strings into a sorted slice.
func strs(v any) []string {
	out := hunt.Strings(v)
	slices.Sort(out)
	return out
}

func toInt(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int32:
		return int64(n)
	case int16:
		return int64(n)
	case int8:
		return int64(n)
	case uint16:
		return int64(n)
	case uint32:
		return int64(n)
	case int:
		return int64(n)
	}
	return 0
}

func utc(v any) any {
	if t, ok := v.(time.Time); ok {
		return t.UTC()
	}
	return v
}
