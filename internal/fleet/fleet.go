// Package fleet lists an organization's agents as the lake knows them: when
// each was last heard from, the version, lag, spool and losses of its last
// health event (agent_health), the host metadata of its last host_metadata
// event, and whether it has gone silent. Hosts known only from imported
// files (no health event ever) are listed too, with what their events say.
package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/hunt"
)

// DefaultSilentAfter is three of the agent's one-minute health intervals.
const DefaultSilentAfter = 3 * time.Minute

// Statuses of an agent.
const (
	StatusOK       = "ok"       // heard from within SilentAfter
	StatusSilent   = "silent"   // an agent (it sent health events) not heard from for longer
	StatusImported = "imported" // never sent a health event: events from files or another collector
)

// Options configure Agents.
type Options struct {
	// SilentAfter: an agent whose last event reached the server longer ago
	// is silent. 0: DefaultSilentAfter.
	SilentAfter time.Duration
	// Now is the time silence is measured at; zero: time.Now.
	Now time.Time
}

// Columns are the columns of Agents' answer.
var Columns = []string{"agent_id", "hostname", "status", "last_seen", "last_event_time", "events",
	"agent_version", "started_at", "last_health", "lag_ms", "spool_bytes", "spool_events", "last_send",
	"lost_total", "losses", "os_version", "kernel", "instance_id", "instance_type", "cloud_provider",
	"account_id", "region", "private_ip", "public_ip"}

// keyedSQL selects the events of agents and hosts, keyed by agent_id, or
// by host name for events without one. Each use below scans events
// itself, so only health and metadata events carry their raw text along
// (a CTE used three times would be materialized with raw for every event).
const keyedSQL = `SELECT CASE WHEN nullif(agent_id, '') IS NULL THEN 'host:' || hostname ELSE agent_id END AS k,
		nullif(agent_id, '') AS agent_id, nullif(hostname, '') AS hostname, event_time, _insert_time, raw,
		os_version, kernel, instance_id, cloud_provider, account_id, private_ip, public_ip
	FROM events
	WHERE (nullif(agent_id, '') IS NOT NULL OR nullif(hostname, '') IS NOT NULL)`

// agentsSQL gathers, per agent (or per host name for events without an
// agent_id), the last arrival and event time, the last health event and
// the last host metadata. last_seen is the server's clock (_insert_time),
// so an agent with a wrong clock is not taken for silent or alive.
const agentsSQL = `
WITH seen AS (
	SELECT k, any_value(agent_id) AS agent_id,
		arg_max(hostname, event_time) FILTER (WHERE hostname IS NOT NULL) AS hostname,
		epoch_ms(max(_insert_time)) AS last_seen, epoch_ms(max(event_time)) AS last_event,
		count(*) AS events,
		-- hosts from files: what their latest event with host fields says
		arg_max({'os_version': os_version, 'kernel': kernel, 'instance_id': instance_id,
			'cloud_provider': cloud_provider, 'account_id': account_id, 'private_ip': private_ip,
			'public_ip': public_ip}, event_time)
			FILTER (WHERE os_version IS NOT NULL OR kernel IS NOT NULL OR instance_id IS NOT NULL
				OR cloud_provider IS NOT NULL OR account_id IS NOT NULL OR private_ip IS NOT NULL OR public_ip IS NOT NULL) AS c
	FROM (` + keyedSQL + `) GROUP BY k
), health AS (
	SELECT k, arg_max(CAST(raw AS VARCHAR), event_time) AS h, epoch_ms(max(event_time)) AS t
	FROM (` + keyedSQL + ` AND event_type = 'host' AND type = 'agent_health') GROUP BY k
), meta AS (
	SELECT k, arg_max(CAST(raw AS VARCHAR), event_time) AS m,
		arg_max({'os_version': os_version, 'kernel': kernel, 'instance_id': instance_id,
			'cloud_provider': cloud_provider, 'account_id': account_id, 'private_ip': private_ip,
			'public_ip': public_ip}, event_time) AS c
	FROM (` + keyedSQL + ` AND event_type = 'host' AND type = 'host_metadata') GROUP BY k
)
SELECT s.agent_id, s.hostname, s.last_seen, s.last_event, s.events,
	h.h ->> 'agent_version', TRY_CAST(h.h ->> 'started_at' AS BIGINT), h.t,
	TRY_CAST(h.h ->> 'lag_ms' AS BIGINT), TRY_CAST(h.h ->> 'spool_bytes' AS BIGINT),
	TRY_CAST(h.h ->> 'spool_events' AS BIGINT), TRY_CAST(h.h ->> 'last_send' AS BIGINT),
	TRY_CAST(h.h ->> 'lost_total' AS BIGINT), CAST(h.h -> 'losses' AS VARCHAR),
	coalesce(m.c.os_version, s.c.os_version), coalesce(m.c.kernel, s.c.kernel),
	coalesce(m.c.instance_id, s.c.instance_id), m.m ->> 'instance_type',
	coalesce(m.c.cloud_provider, s.c.cloud_provider), coalesce(m.c.account_id, s.c.account_id),
	m.m ->> 'region', coalesce(m.c.private_ip, s.c.private_ip), coalesce(m.c.public_ip, s.c.public_ip),
	h.h IS NOT NULL AS has_health
FROM seen s LEFT JOIN health h USING (k) LEFT JOIN meta m USING (k)
ORDER BY s.hostname NULLS LAST, s.agent_id`

// Agents lists org's agents and hosts, silent ones first, then by host
// name. Times are UTC time.Time; losses maps a reason to its count.
func Agents(ctx context.Context, db *datadir.DB, org string, opts Options) (hunt.Table, error) {
	if opts.SilentAfter <= 0 {
		opts.SilentAfter = DefaultSilentAfter
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	t, err := hunt.Query(ctx, db, org, 0, event.MaxTime, agentsSQL)
	if err != nil {
		return hunt.Table{}, fmt.Errorf("agents: %w", err)
	}
	out := hunt.Table{Columns: Columns, Rows: make([][]any, 0, len(t.Rows))}
	var silent, rest [][]any
	now := opts.Now.UnixMilli()
	for _, r := range t.Rows {
		agentID, _ := r[0].(string)
		var id any = agentID
		if agentID == "" {
			id = nil
		}
		lastSeen, _ := r[2].(int64)
		status := StatusImported
		if hasHealth, _ := r[23].(bool); hasHealth {
			status = StatusOK
			if now-lastSeen > opts.SilentAfter.Milliseconds() {
				status = StatusSilent
			}
		}
		row := []any{id, r[1], status, asTime(r[2]), asTime(r[3]), r[4],
			r[5], asTime(r[6]), asTime(r[7]), r[8], r[9], r[10], asTime(r[11]), r[12], losses(r[13]),
			r[14], r[15], r[16], r[17], r[18], r[19], r[20], r[21], r[22]}
		if status == StatusSilent {
			silent = append(silent, row)
		} else {
			rest = append(rest, row)
		}
	}
	out.Rows = append(append(out.Rows, silent...), rest...)
	return out, nil
}

// asTime turns epoch ms into a UTC time; nil stays nil.
func asTime(v any) any {
	if ms, ok := v.(int64); ok {
		return time.UnixMilli(ms).UTC()
	}
	return v
}

// losses decodes the health event's losses object; nil when absent.
func losses(v any) any {
	s, ok := v.(string)
	if !ok || s == "" {
		return nil
	}
	var m map[string]any // counts, as render prints a map[string]any as JSON
	if json.Unmarshal([]byte(s), &m) != nil {
		return nil
	}
	for k, v := range m {
		if f, ok := v.(float64); ok && f == float64(int64(f)) {
			m[k] = int64(f)
		}
	}
	return m
}
