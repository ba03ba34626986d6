// Package logins answers the brute-force question: which source addresses
// tried to log on, as which accounts, how often they failed and whether
// they got in (a success after failures is the brute force that worked).
//
// A logon attempt is a record with a source address of: auditd USER_AUTH
// and USER_LOGIN (res=failed or success), Threat Stack login events, and
// Windows Security 4625 (failed) and 4624 (succeeded). sshd writes a
// USER_AUTH per password tried and one USER_LOGIN when the connection
// fails; that USER_LOGIN repeats the USER_AUTH failures of its process and
// is not counted again. A success is a USER_LOGIN or login event with
// success, or a 4624 (auditd's successful USER_AUTH is followed by the
// USER_LOGIN that counts).
package logins

import (
	"context"
	"fmt"
	"time"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/hunt"
	"github.com/spoor-dev/spoor/internal/hunt/sessions"
)

// Columns are the columns of Run's answer.
var Columns = []string{"src_ip", "external", "user", "failures", "successes", "first_seen", "last_seen",
	"succeeded_after_failures", "source_failures", "source_accounts", "hosts"}

// attemptsSQL selects logon attempts (outcome 'failure' or 'success') and
// sums them per source and account. %s is an extra condition on events.
//
// succeeded_after_failures is, for an account the source got into, the
// number of the source's failures (any account) before that account's
// first success; NULL when it got in without failing first or never.
const attemptsSQL = `
WITH a AS (
	SELECT event_time AS t, hostname, src_ip,
		-- sshd's successful USER_LOGIN names the account by uid only: take
		-- the acct its process authenticated
		coalesce(nullif(user, ''), max(nullif(user, '')) FILTER (WHERE type = 'user_auth') OVER (PARTITION BY hostname, pid), '?') AS user,
		CASE
			WHEN event_type = 'winsec' THEN CASE win_event_id WHEN 4624 THEN 'success' ELSE 'failure' END
			WHEN success = false AND type = 'user_login'
				AND bool_or(type = 'user_auth' AND success = false) OVER (PARTITION BY hostname, pid) THEN NULL
			WHEN success = false THEN 'failure'
			WHEN coalesce(type, 'user_login') = 'user_login' THEN 'success'
		END AS outcome
	FROM events
	WHERE src_ip IS NOT NULL AND src_ip NOT IN ('', '-', '?')
		AND ((event_type = 'login' AND (type IS NULL OR type IN ('user_auth', 'user_login')))
			OR (event_type = 'winsec' AND win_event_id IN (4624, 4625)))
		%s
), o AS (
	SELECT * FROM a WHERE outcome IS NOT NULL
), pair AS (
	SELECT src_ip, user,
		count(*) FILTER (WHERE outcome = 'failure') AS failures,
		count(*) FILTER (WHERE outcome = 'success') AS successes,
		min(t) AS first_seen, max(t) AS last_seen,
		min(t) FILTER (WHERE outcome = 'success') AS first_success,
		list(DISTINCT hostname ORDER BY hostname) FILTER (WHERE hostname IS NOT NULL) AS hosts
	FROM o GROUP BY src_ip, user
), src AS (
	SELECT src_ip, count(*) FILTER (WHERE outcome = 'failure') AS source_failures, count(DISTINCT user) AS source_accounts
	FROM o GROUP BY src_ip
)
SELECT p.src_ip, p.user, p.failures, p.successes, p.first_seen, p.last_seen,
	CASE WHEN p.first_success IS NOT NULL THEN nullif((SELECT count(*) FROM o
		WHERE o.src_ip = p.src_ip AND o.outcome = 'failure' AND o.t <= p.first_success), 0) END AS succeeded_after,
	s.source_failures, s.source_accounts, p.hosts
FROM pair p JOIN src s USING (src_ip)
ORDER BY s.source_failures DESC, p.src_ip, p.failures DESC, p.user`

// Run lists org's logon attempts in [from, to] (epoch ms), on host (an
// agent_id or a hostname) or the whole fleet when host is "": one row per
// source address and account with its failures and successes, first and
// last attempt, whether the source is external (sessions.External), the
// failures the source had before the account's first success
// (succeeded_after_failures, nil when none or no success), the source's
// failures and accounts over all accounts, and the hosts attempted. Rows
// come by the source's failures, most first.
func Run(ctx context.Context, db *datadir.DB, org, host string, from, to int64) (hunt.Table, error) {
	cond, args := "", []any(nil)
	if host != "" {
		cond, args = "AND (agent_id = ? OR hostname = ?)", []any{host, host}
	}
	t, err := hunt.Query(ctx, db, org, from, to, fmt.Sprintf(attemptsSQL, cond), args...)
	if err != nil {
		return hunt.Table{}, fmt.Errorf("logins: %w", err)
	}
	out := hunt.Table{Columns: Columns, Rows: make([][]any, 0, len(t.Rows))}
	for _, r := range t.Rows {
		src, _ := r[0].(string)
		out.Rows = append(out.Rows, []any{src, sessions.External(src), r[1], r[2], r[3], asTime(r[4]), asTime(r[5]),
			r[6], r[7], r[8], hunt.Strings(r[9])})
	}
	return out, nil
}

func asTime(v any) any {
	if t, ok := v.(time.Time); ok {
		return t.UTC()
	}
	return v
}
