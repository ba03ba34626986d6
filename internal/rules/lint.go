package rules

import (
	"fmt"
	"strings"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/query"
)

// DefaultBroadShare is the share of a rule's alerts that suppressions may
// hide before LintBroad warns.
const DefaultBroadShare = 0.5

// Warning is a lint finding. Suppression is the index of the suppression
// it is about, -1 for the rule as a whole.
type Warning struct {
	Rule        string
	Suppression int
	Message     string
}

func (w Warning) String() string {
	if w.Suppression < 0 {
		return w.Rule + ": " + w.Message
	}
	return fmt.Sprintf("%s: suppressions[%d]: %s", w.Rule, w.Suppression, w.Message)
}

// perEvent are fields whose value is new for (nearly) every event or
// process: a suppression keyed on them matches the one event it was
// written from and never again (pids are recycled, so worse: a stranger
// later). Raw Windows names are included.
var perEvent = map[string]string{
	"_id": "the event id", "event_time": "the event time", "timestamp": "the event time",
	"_insert_time": "the insert time", "pid": "a process id (recycled)", "ppid": "a process id (recycled)",
	"record_number": "the record number", "src_port": "an ephemeral port",
	"header.id": "the audit serial", "header.sequenceId": "the audit sequence", "header.timestamp": "the event time",
	"ProcessId": "a process id (recycled)", "ProcessGuid": "a process GUID", "SourceProcessId": "a process id (recycled)",
	"SourceProcessGUID": "a process GUID", "SourceProcessGuid": "a process GUID", "TargetProcessId": "a process id (recycled)",
	"TargetProcessGUID": "a process GUID", "TargetProcessGuid": "a process GUID", "ParentProcessId": "a process id (recycled)",
	"ParentProcessGuid": "a process GUID", "LogonGuid": "a logon GUID", "TargetLogonId": "a logon id",
	"eventID": "the CloudTrail event id", "requestID": "the request id", "eventTime": "the event time",
}

// perHost are fields that name one host: a suppression keyed on them
// stops applying when the host is replaced and misses its siblings.
var perHost = map[string]bool{"agent_id": true, "instance_id": true, "hostname": true}

// specific are fields narrow enough to pin down what a suppression
// excuses: the exact command line, files, peers, parent, container image,
// API call or principal. exe, user, command, event_type and the like are
// coarse: many unrelated activities share them.
var specific = map[string]bool{
	"arguments": true, "args": true, "path": true, "cwd": true, "parent_exe": true, "container_image": true,
	"dst_ip": true, "src_ip": true, "dst_port": true, "event_name": true, "user_arn": true, "user_agent": true,
	"tty": true, "session": true, "auid": true,
}

// Lint checks a rule's suppressions against Threat Stack's advice: never
// key a suppression on pid, ppid, event_time, timestamp, _id (id) or other
// per-event values; do not tie it to one host (agent_id, instance_id,
// hostname); do not make it broad (user = 'root' AND command = 'ps'): each
// way of matching it must pin a specific field (arguments, args, path,
// cwd, parent_exe, dst_ip, ..., or a raw field), not only coarse ones such
// as event_type, exe, command, user. It also warns on aggregating by a
// per-event field. Suppressions that do not parse are reported as such.
func Lint(r *Rule) []Warning {
	var ws []Warning
	warn := func(i int, format string, args ...any) {
		ws = append(ws, Warning{Rule: r.Name, Suppression: i, Message: fmt.Sprintf(format, args...)})
	}
	for i, s := range r.Suppressions {
		n, err := query.Parse(s)
		if err != nil {
			warn(i, "does not parse: %v", err)
			continue
		}
		for _, c := range comparisons(n) {
			name := canonical(c.Field.Name)
			if what, ok := perEvent[name]; ok {
				warn(i, "keyed on %s, %s: it matches only the event it was written from", c.Field.Name, what)
			} else if name == "session" && !unsetSession(c) {
				warn(i, "keyed on session, a login session id: it ends with the login (only the unset session 4294967295 lasts)")
			} else if perHost[name] {
				warn(i, "keyed on %s: it applies to that one host only, and stops when the host is replaced; key on what runs instead", c.Field.Name)
			}
		}
		if !narrow(n) {
			warn(i, "too broad: it can match on coarse fields alone (%s); add the exact arguments, path, cwd, parent_exe or peer", strings.Join(query.Fields(n), ", "))
		}
	}
	for _, f := range r.Aggregate {
		if what, ok := perEvent[canonical(f)]; ok {
			warn(-1, "aggregate on %s, %s: every event becomes its own alert", f, what)
		}
	}
	return ws
}

// LintBroad warns when a rule's suppressions hide more than share (<= 0:
// DefaultBroadShare) of its total matching events in a backtest; nil
// otherwise. It leaves Rule empty for the caller to fill.
func LintBroad(total, suppressed int, share float64) *Warning {
	if share <= 0 {
		share = DefaultBroadShare
	}
	if total <= 0 || float64(suppressed) <= share*float64(total) {
		return nil
	}
	return &Warning{Suppression: -1, Message: fmt.Sprintf("suppressions hide %d of %d matching events (%.0f%%, above %.0f%%): they are too broad or the rule is too noisy",
		suppressed, total, 100*float64(suppressed)/float64(total), 100*share)}
}

// canonical is a field's catalog name when it has one, else the name.
func canonical(name string) string {
	if f, ok := event.Lookup(name); ok {
		return f.Name
	}
	return name
}

func comparisons(n query.Node) []*query.Compare {
	var out []*query.Compare
	query.Inspect(n, func(n query.Node) bool {
		if c, ok := n.(*query.Compare); ok {
			out = append(out, c)
		}
		return true
	})
	return out
}

func unsetSession(c *query.Compare) bool {
	if c.Op != query.OpEq && c.Op != query.OpIn {
		return false
	}
	for _, v := range c.Values {
		if v.Value != "4294967295" && v.Value != "-1" {
			return false
		}
	}
	return true
}

// narrow reports whether every way of satisfying n constrains a specific
// field positively: a comparison on a specific or raw field (other than
// != and = null), AND of anything with a narrow side, OR of narrow sides.
// NOT never narrows.
func narrow(n query.Node) bool {
	switch n := n.(type) {
	case *query.Binary:
		if n.Op == query.And {
			return narrow(n.X) || narrow(n.Y)
		}
		return narrow(n.X) && narrow(n.Y)
	case *query.Compare:
		if n.Op == query.OpNe {
			return false
		}
		for _, v := range n.Values {
			if v.Kind == query.LitNull || (v.Value == "" && n.Op != query.OpEq && n.Op != query.OpIn) {
				return false
			}
		}
		name := canonical(n.Field.Name)
		if _, ok := perEvent[name]; ok || perHost[name] {
			return false // reported on their own
		}
		if specific[name] {
			return true
		}
		_, typed := event.Lookup(name)
		return !typed // a raw field: specific to its source
	}
	return false
}
