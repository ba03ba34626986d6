package audit

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/spoor-dev/spoor/internal/agent/source"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse"
	"github.com/spoor-dev/spoor/internal/parse/auditd"
)

// flat is e as the server stores it, read back as one map: an audit
// envelope is decoded as the server decodes it (auditd.Whole.Envelope),
// and the event's typed fields are put under their Threat Stack keys
// (integers as int64, string lists as []string) beside its Raw members and
// the envelope's. The source reuses what its Encoded members hold, so a
// test keeps this instead of e.
func flat(tb testing.TB, e source.Event) source.Event {
	tb.Helper()
	b, err := source.AppendJSON(nil, e)
	if err != nil {
		tb.Errorf("event does not encode: %v", err)
		return nil
	}
	m := decodeJSON(tb, b)
	if _, ok := m[auditd.EnvelopeKey]; !ok {
		return m
	}
	var out one
	ok, err := auditd.New().Whole().Envelope(b, &out)
	if !ok || err != nil || len(out.events) != 1 || len(out.rejects) != 0 {
		tb.Errorf("envelope %s: ok %v, err %v, %d events, rejections %v", b, ok, err, len(out.events), out.rejects)
		return nil
	}
	ev := out.events[0]
	for k, v := range decodeJSON(tb, ev.Raw) {
		m[k] = v
	}
	for _, f := range event.Catalog() {
		if !ev.Has(f.ID) {
			continue
		}
		key := f.Key
		if key == "" {
			key = f.Name
		}
		switch f.Kind {
		case event.KindString:
			m[key] = ev.Str[f.ID]
		case event.KindInt, event.KindTime:
			m[key] = ev.Int[f.ID]
		case event.KindBool:
			m[key] = ev.Bool(f.ID)
		case event.KindList:
			m[key] = ev.List(f.ID)
		}
	}
	return m
}

// decodeJSON reads one JSON object, integers as int64 and string lists as
// []string.
func decodeJSON(tb testing.TB, b []byte) map[string]any {
	tb.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		tb.Errorf("event encodes as %s: %v", b, err)
		return nil
	}
	for k, v := range m {
		switch v := v.(type) {
		case json.Number:
			if n, err := v.Int64(); err == nil {
				m[k] = n
			}
		case []any:
			l := make([]string, 0, len(v))
			for _, x := range v {
				if s, ok := x.(string); ok {
					l = append(l, s)
				}
			}
			if len(l) == len(v) {
				m[k] = l
			}
		}
	}
	return m
}

// one keeps what a decoder hands over.
type one struct {
	events  []*event.Event
	rejects []parse.Rejection
}

func (o *one) Event(e *event.Event) error { o.events = append(o.events, e); return nil }
func (o *one) Reject(r parse.Rejection)   { o.rejects = append(o.rejects, r) }
func (o *one) Count(string, int64)        {}
