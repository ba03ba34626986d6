package parse

import (
	"unicode/utf8"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/valyala/fastjson"
)

// Object parses one JSON record for a Converter with p, rejecting what no
// converter can read: over event.MaxEventBytes, invalid UTF-8, malformed
// JSON, or a value that is not an object. The value belongs to p.
func Object(p *fastjson.Parser, v []byte) (*fastjson.Value, error) {
	if len(v) > event.MaxEventBytes {
		return nil, &event.RejectError{Reason: event.ReasonTooLarge, Detail: "over the event size limit"}
	}
	if !utf8.Valid(v) {
		return nil, &event.RejectError{Reason: event.ReasonInvalidUTF8}
	}
	rec, err := p.ParseBytes(v)
	if err != nil {
		return nil, &event.RejectError{Reason: event.ReasonMalformed, Detail: Truncate(err.Error(), 160)}
	}
	if rec.Type() != fastjson.TypeObject {
		return nil, &event.RejectError{Reason: event.ReasonNotObject, Detail: rec.Type().String()}
	}
	return rec, nil
}

// Truncate shortens s to n bytes and an ellipsis, for rejection details.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
