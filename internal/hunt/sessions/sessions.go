// Package sessions answers two forensic questions about one host: who
// logged on, from where and when (Sessions), and what they ran (Tree, the
// processes of a logon session or under one process, as a tree).
//
// A session is the kernel's audit session id (auditd ses, set at login
// with the auid) or a Windows logon id. It is opened by USER_LOGIN,
// USER_START or LOGIN records (auditd), login events (Threat Stack) and
// 4624 (Windows), closed by USER_END, USER_LOGOUT and CRED_DISP, logout
// events, 4634 and 4647. Processes are successful execve/execveat events
// and 4688, which carry the session of the process they start
// (TargetLogonId when set, else SubjectLogonId).
//
// Both analyses read the host's events in one scan and do the rest (the
// matching of children to parents, which must follow pid reuse) in Go.
package sessions

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/hunt"
)

// sessionExpr is the session an event belongs to. For a 4688 the ingest
// already put the new process's logon (TargetLogonId when Windows logs one,
// else the creator's SubjectLogonId) in the session column, so no query
// reads raw: reading it costs every scanned row its JSON.
const sessionExpr = `session`

// procCond selects process starts.
const procCond = `((event_type = 'audit' AND syscall IN ('execve', 'execveat') AND coalesce(success, true))
	OR (event_type = 'winsec' AND win_event_id = 4688))`

// hostCond selects one host by agent_id or hostname (two placeholders).
const hostCond = `(agent_id = ? OR hostname = ?)`

// switchCond selects the login records of programs that change user inside
// a session (sudo, su and their kin): PAM opens and closes a session of
// theirs under the login session's id, with the target user as acct. They
// neither open nor close the login session, nor name its user.
const switchCond = `regexp_matches(coalesce(exe, ''), '(^|/)(sudo|sudoedit|su|doas|runuser|pkexec)$')`

// sessionsSQL reads the host's logon, logoff and process events once.
//
// A session's own records are its logon and logoff records but those of
// sudo and su. Its end is the last own close by the process that opened it
// (the first own open's pid), or by any process when no own open is in the
// range (the session began before the log) or the close names none (4634).
// Its user is the login user (auid): the user of its own records (the
// acct of sshd's PAM records, Windows' TargetUserName) but auditd's LOGIN
// record, whose user is the process that set the loginuid (sshd, root);
// else the user of a process running as the auid; else any user seen.
const sessionsSQL = `
WITH e AS (
	SELECT event_time AS t, pid, user, src_ip, exe, arguments, ses, type, uid, auid,
		kind = 1 AS is_open, kind = 3 AS is_close, kind = 2 AS is_proc, kind IN (1, 3) AS is_own,
		arg_min(pid, t) FILTER (WHERE kind = 1) OVER (PARTITION BY ses) AS leader
	FROM (
		SELECT event_time, pid, user, src_ip, exe, arguments, ` + sessionExpr + ` AS ses, type, uid, auid,
			CASE
				WHEN event_type IN ('login', 'logout') AND ` + switchCond + ` THEN 4
				WHEN event_type = 'login' AND coalesce(type, '') NOT IN ('user_auth', 'user_acct', 'cred_acq', 'cred_refr', 'user_err') THEN 1
				WHEN event_type = 'logout' THEN 3
				WHEN event_type = 'winsec' AND win_event_id = 4624 THEN 1
				WHEN event_type = 'winsec' AND win_event_id IN (4634, 4647) THEN 3
				WHEN ` + procCond + ` THEN 2
				ELSE 0
			END AS kind
		FROM events
		WHERE ` + hostCond + `
			AND event_type IN ('login', 'logout', 'audit', 'winsec')
			AND (event_type <> 'audit' OR syscall IN ('execve', 'execveat'))
			AND (event_type <> 'winsec' OR win_event_id IN (4624, 4634, 4647, 4688))
	) x
	WHERE ses > 0 AND ses <> 4294967295 -- auditd's unset session
)
SELECT ses AS session,
	coalesce(arg_min(user, t) FILTER (WHERE is_own AND coalesce(type, '') <> 'login' AND user IS NOT NULL AND user <> ''),
		arg_min(user, t) FILTER (WHERE is_proc AND uid = auid AND user IS NOT NULL AND user <> ''),
		arg_min(user, t) FILTER (WHERE user IS NOT NULL AND user <> '')) AS user,
	coalesce(arg_min(src_ip, t) FILTER (WHERE is_open AND src_ip IS NOT NULL AND src_ip NOT IN ('', '?', '-')),
		arg_min(src_ip, t) FILTER (WHERE is_close AND src_ip IS NOT NULL AND src_ip NOT IN ('', '?', '-'))) AS src_ip,
	min(t) AS start,
	max(t) FILTER (WHERE is_close AND (leader IS NULL OR pid IS NULL OR pid = leader)) AS "end",
	count(*) FILTER (WHERE is_proc) AS processes,
	arg_min(coalesce(nullif(arguments, ''), exe), t) FILTER (WHERE is_proc) AS first_command
FROM e
GROUP BY ses
ORDER BY start, session`

// SessionColumns are the columns of Sessions' answer.
var SessionColumns = []string{"session", "user", "src_ip", "external", "start", "end", "processes", "first_command"}

// Sessions lists the logon sessions of host (an agent_id or a hostname) in
// [from, to] (epoch ms), ordered by start: session id, user, source
// address, whether that address is external (routable: not private,
// loopback, link-local, CGNAT or unique-local), start, end (nil while no
// close was seen), the number of processes started in it and the first
// one's command line.
//
// A session id that the host reuses within the range (auditd counts
// sessions from 1 after a reboot) is reported as one session.
func Sessions(ctx context.Context, db *datadir.DB, org string, host string, from, to int64) (hunt.Table, error) {
	if host == "" {
		return hunt.Table{}, errors.New("sessions: no host")
	}
	t, err := hunt.Query(ctx, db, org, from, to, sessionsSQL, host, host)
	if err != nil {
		return hunt.Table{}, fmt.Errorf("sessions of %s: %w", host, err)
	}
	out := hunt.Table{Columns: SessionColumns, Rows: make([][]any, 0, len(t.Rows))}
	for _, r := range t.Rows {
		src, _ := r[2].(string)
		out.Rows = append(out.Rows, []any{r[0], r[1], r[2], External(src), r[3], r[4], r[5], r[6]})
	}
	return out, nil
}

// nonExternal are the ranges an address outside of which is external.
var nonExternal = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("0.0.0.0/32"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
}

// External says whether ip is an address outside the private, loopback,
// link-local, shared (CGNAT), unique-local and unspecified ranges. What is
// not an IP address (a hostname, "?", "") is not external.
func External(ip string) bool {
	ip = strings.TrimSpace(ip)
	if i := strings.IndexByte(ip, '%'); i >= 0 { // zone
		ip = ip[:i]
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range nonExternal {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// asInt64 reads an integer column value.
func asInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int32:
		return int64(n), true
	case uint64:
		return int64(n), true
	case int:
		return int64(n), true
	}
	return 0, false
}

// asTime reads a timestamp column value.
func asTime(v any) time.Time {
	t, _ := v.(time.Time)
	return t
}
