package ingest

import (
	"strconv"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse"
	"github.com/spoor-dev/spoor/internal/parse/auditd"
)

// envelopes decodes the audit envelopes of spoor's agent found among
// Threat Stack lines (auditd.Whole.Envelope): the records in them are
// decoded as an audit.log's records would be. One per chunk; it keeps the
// decoder's caches from one envelope to the next.
type envelopes struct {
	w       *auditd.Whole
	evs     []*event.Event
	rejects []parse.Rejection
}

func (x *envelopes) Event(e *event.Event) error { x.evs = append(x.evs, e); return nil }
func (x *envelopes) Reject(r parse.Rejection)   { x.rejects = append(x.rejects, r) }
func (x *envelopes) Count(string, int64)        {}

// decode decodes rec if it is an envelope and appends its events,
// completed by norm, to out; it reports whether rec was one. Rejections
// name the record's place (file, line, index) and, for an audit record
// inside, which one.
func (x *envelopes) decode(norm *event.Normalizer, rec []byte, file string, line, index int64, out []*event.Event, reject func(Rejection)) ([]*event.Event, bool) {
	if !auditd.MaybeEnvelope(rec) {
		return out, false
	}
	if x.w == nil {
		x.w = auditd.New().Whole()
	}
	x.evs, x.rejects = x.evs[:0], x.rejects[:0]
	ok, err := x.w.Envelope(rec, x)
	if !ok {
		return out, false
	}
	if err != nil {
		reject(rejection(file, line, index, err))
		return out, true
	}
	for _, pr := range x.rejects {
		reject(Rejection{File: file, Line: line, Record: index, Reason: pr.Reason,
			Detail: "audit record " + strconv.FormatInt(pr.Line, 10) + ": " + pr.Detail})
	}
	for _, e := range x.evs {
		if err := norm.Complete(e); err != nil {
			reject(rejection(file, line, index, err))
			continue
		}
		out = append(out, e)
	}
	clear(x.evs)
	return out, true
}
