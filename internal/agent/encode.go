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
	for k := range ev {
		keys = append(keys, k)
	}
	slices.Sort(keys)
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
