package auditd

import (
	"context"
	"io"
	"strconv"

	"github.com/elastic/go-libaudit/v2/auparse"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse"
)

// Records is one audit event as Group finds it: its record lines, not
// yet decoded.
type Records struct {
	// Host is the audit node the records name (node=, a syslog header),
	// else the Decoder's Host.
	Host string
	// ID is the _id Decode gives the event: Whole.Decode of Lines on Host
	// gives it too.
	ID string
	// Lines are the records as read, without a syslog prefix (node= and an
	// enrichment tail kept): what Whole.Decode takes. They and the slice
	// live until Event returns.
	Lines []string
}

// GroupOutput takes what Group finds.
type GroupOutput interface {
	Event(Records)
	Reject(parse.Rejection)
}

// Group reads an audit log as Decode does, and hands over each event's
// records as they are, put together by go-libaudit's reassembler (per
// node, with the same limits), instead of decoding them: the first half of
// the decoder, for a reader that ships events to be decoded elsewhere with
// Whole (spoor's agent). Lines that are not audit records are rejected
// through out, as Decode rejects them.
func (d *Decoder) Group(ctx context.Context, r io.Reader, out GroupOutput) error {
	st := &run{nodes: map[string]*node{}, group: out, out: rejectsOnly{out}}
	return d.decode(ctx, r, st)
}

// groupOf hands one event's records to the group output.
func (st *run) groupOf(host string, msgs []*auparse.AuditMessage) {
	lines := st.lines[:0]
	for _, m := range msgs {
		if rec, ok := m.Payload.(*record); ok {
			lines = append(lines, rec.text)
		}
	}
	st.lines = lines
	if len(lines) == 0 {
		return
	}
	seq := strconv.FormatUint(uint64(msgs[0].Sequence), 10)
	st.group.Event(Records{Host: host, ID: parse.HashID(host, "auditd", seq, timestampText(msgs[0].RawData)), Lines: lines})
	clear(lines)
}

// rejectsOnly is the parse.Output of a Group run: only rejections reach
// it.
type rejectsOnly struct{ out GroupOutput }

func (r rejectsOnly) Event(*event.Event) error  { return nil }
func (r rejectsOnly) Reject(rj parse.Rejection) { r.out.Reject(rj) }
func (r rejectsOnly) Count(string, int64)       {}
