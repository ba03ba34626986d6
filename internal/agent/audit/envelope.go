package audit

import (
	"strconv"
	"strings"

	"github.com/spoor-dev/spoor/internal/agent/source"
	"github.com/spoor-dev/spoor/internal/parse"
	"github.com/spoor-dev/spoor/internal/parse/auditd"
)

// output takes what the auditd decoder's first half (Group) finds: each
// audit event's records, put together by go-libaudit's reassembler, go to
// the agent as an audit envelope (auditd.EnvelopeKey), which the server
// decodes with the second half (auditd.Whole), the decoder `spoor ingest`
// runs on audit.log files. The host does no more than read and reassemble:
// coalescing and mapping cost seven times as much (BENCHMARKS.md, Agent).
//
// The envelope's _id is the one the decoder gives the event, which the
// agent makes its own (Agent.Emit); pid, the process's, lets the agent
// name its container.
type output struct{ g *grouper }

func (o output) Event(r auditd.Records) {
	g := o.g
	g.events++
	g.recs = source.AppendStrings(g.recs[:0], r.Lines)
	ev := source.Event{"_id": r.ID, "hostname": r.Host,
		source.EncodedKey: source.Encoded{{Key: auditd.EnvelopeKey, Value: g.recs}}}
	if pid := recordsPID(r.Lines); pid > 0 {
		ev["pid"] = pid
	}
	g.emit(ev)
}

func (o output) Reject(parse.Rejection) { o.g.rejects++ }

// recordsPID is the pid= of an event's records: its SYSCALL record's, or
// else the first record's that has one (user-space messages); 0 when none
// does.
func recordsPID(lines []string) int64 {
	var pid int64
	for _, l := range lines {
		i := strings.Index(l, " pid=")
		if i < 0 {
			continue
		}
		j := i + len(" pid=")
		k := j
		for k < len(l) && l[k] >= '0' && l[k] <= '9' {
			k++
		}
		n, err := strconv.ParseInt(l[j:k], 10, 64)
		if err != nil {
			continue
		}
		if strings.Contains(l[:i], "type=SYSCALL ") {
			return n
		}
		if pid == 0 {
			pid = n
		}
	}
	return pid
}
