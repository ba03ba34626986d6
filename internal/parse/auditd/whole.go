package auditd

import (
	"strings"

	"github.com/elastic/go-libaudit/v2/auparse"

	"github.com/spoor-dev/spoor/internal/parse"
)

// Whole decodes audit events that arrive whole: the record lines of one
// event at a time, as spoor's agent groups and ships them (the lines that
// share one msg=audit(time:serial)), where Decode reads a log whose
// records its reassembler must put together. Each record is parsed,
// coalesced and mapped as Decode does it, and the records are cut into
// events where go-libaudit's reassembler cuts them: at another serial or
// host, at an EOE record, and after a record that completes an event
// (PROCTITLE, a user-space or daemon message, an anomaly). So the records
// of a log, grouped, give the events Decode gives for that log
// (TestWholeMatchesDecode holds it to that on the datasets).
//
// A Whole keeps scratch space and caches between calls; it is not safe for
// concurrent use.
type Whole struct {
	host        string
	requireHost bool
	st          run
	msgs        []*auparse.AuditMessage
}

// Whole returns a decoder of whole events with d's settings: Host names
// records that name no host of their own, RequireHost makes such records an
// error when Host is empty too, ReuseRaw is as for Decode.
func (d *Decoder) Whole() *Whole {
	return &Whole{host: d.Host, requireHost: d.RequireHost, st: run{mb: mapper{reuse: d.ReuseRaw}}}
}

// Decode decodes lines, the records of one audit event (or of a few, cut
// as the reassembler cuts them) read on host, which a record's node= field
// overrides ("" for the Decoder's Host). A record it cannot read is
// rejected through out, numbered by its place in lines from 1, and the rest
// are decoded. It returns out.Event's first error, or a *parse.NoHostError
// for a record that names no host when one is required.
func (w *Whole) Decode(host string, lines []string, out parse.Output) error {
	if host == "" {
		host = w.host
	}
	st := &w.st
	st.out, st.err = out, nil
	msgs := w.msgs[:0]
	var msgsHost string
	emit := func() {
		if len(msgs) > 0 {
			st.emit(msgsHost, msgs)
			clear(msgs)
			msgs = msgs[:0]
		}
	}
	for i, l := range lines {
		l = strings.TrimRight(l, "\r\n \t")
		if l == "" || strings.HasPrefix(l, "----") {
			continue
		}
		msg, h, _, rej := st.record(int64(i+1), l)
		if rej != nil {
			out.Reject(*rej)
			continue
		}
		if h == "" {
			h = host
			if h == "" && w.requireHost {
				emit()
				w.msgs = msgs
				if st.err != nil {
					return st.err
				}
				return &parse.NoHostError{Format: "raw auditd", Field: "node=", Line: int64(i + 1)}
			}
		}
		switch {
		case isDaemon(msg.RecordType):
			emit()
			st.emit(h, []*auparse.AuditMessage{msg})
			continue
		case msg.RecordType == auparse.AUDIT_EOE:
			emit()
			continue
		case len(msgs) > 0 && (msg.Sequence != msgs[0].Sequence || h != msgsHost):
			emit()
		}
		msgsHost = h
		msgs = append(msgs, msg)
		if completes(msg.RecordType) {
			emit()
		}
	}
	emit()
	w.msgs = msgs
	return st.err
}

// completes says whether a record of type t ends its event, as
// go-libaudit's reassembler has it: the records that come last in an
// event (PROCTITLE) or stand alone (user-space and daemon messages,
// anomalies and later types).
func completes(t auparse.AuditMessageType) bool {
	return t == auparse.AUDIT_PROCTITLE || t <= auparse.AUDIT_LAST_DAEMON || t >= auparse.AUDIT_ANOM_LOGIN_FAILURES
}
