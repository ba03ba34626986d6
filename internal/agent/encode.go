package agent

import (
	"slices"
	"strconv"

	json "github.com/goccy/go-json"

	"github.com/spoor-dev/spoor/internal/agent/source"
	"github.com/spoor-dev/spoor/internal/event"
)

// encode renders an event as one JSON object with its keys sorted (the
// same content gives the same text, hence the same derived _id). The kinds
// sources use are written directly; json.RawMessage values, which sources
// take from JSON they produced, are written as they are.
func encode(b []byte, ev source.Event) ([]byte, error) {
	keys := make([]string, 0, len(ev))
	size := 2
	for k, v := range ev {
		keys = append(keys, k)
		size += len(k) + 4 + valueSize(v)
	}
	slices.Sort(keys)
	// One allocation of about the right size: grown by appends, the line
	// was copied four or five times over.
	b = slices.Grow(b, size)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendJSONString(b, k)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, ev[k]); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// valueSize estimates the encoded size of v.
func valueSize(v any) int {
	switch v := v.(type) {
	case string:
		return len(v) + 2
	case json.RawMessage:
		return len(v)
	case []string:
		n := 2
		for _, s := range v {
			n += len(s) + 3
		}
		return n
	}
	return 20
}

func appendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case string:
		return event.AppendJSONString(b, v), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case []string:
		b = append(b, '[')
		for i, s := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = event.AppendJSONString(b, s)
		}
		return append(b, ']'), nil
	case json.RawMessage:
		if len(v) == 0 {
			return append(b, "null"...), nil
		}
		return append(b, v...), nil
	case nil:
		return append(b, "null"...), nil
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, j...), nil
}
