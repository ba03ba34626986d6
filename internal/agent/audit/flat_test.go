package audit

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/spoor-dev/spoor/internal/agent/source"
)

// flat is e as the agent ships it, read back: its encoded members too,
// integers as int64 and string lists as []string. The source reuses what
// its Encoded members hold, so a test keeps this instead of e.
func flat(tb testing.TB, e source.Event) source.Event {
	tb.Helper()
	b, err := source.AppendJSON(nil, e)
	if err != nil {
		tb.Errorf("event does not encode: %v", err)
		return nil
	}
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
