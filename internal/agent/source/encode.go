package source

import (
	"slices"
	"strconv"

	json "github.com/goccy/go-json"

	"github.com/spoor-dev/spoor/internal/event"
)

// EncodedKey is the map key under which an Event carries its Encoded
// members.
const EncodedKey = "\x00encoded"

// Encoded is the part of an event its source has encoded already: JSON
// members sorted by key. A source that turns out many events of one shape
// (the audit log's forty-odd members) hands them over this way, under
// EncodedKey, and AppendJSON writes them among the map's own members in
// key order: no map entry, boxed value or sort per member. Where a key is
// in both, the map's value wins (the agent overwrites agent_id, say).
// The values need only live until Emit returns: the source may reuse them.
type Encoded []Member

// Member is one encoded member of an event.
type Member struct {
	Key   string
	Value []byte // JSON text
}

// AppendJSON appends ev as one JSON object with its keys sorted (the same
// content gives the same text, hence the same derived _id). The kinds
// sources use are written directly; json.RawMessage values, which sources
// take from JSON they produced, and Encoded members are written as they
// are.
func AppendJSON(b []byte, ev Event) ([]byte, error) {
	var buf [16]string
	keys := buf[:0]
	size := 2
	var enc Encoded
	for k, v := range ev {
		if k == EncodedKey {
			enc, _ = v.(Encoded)
			continue
		}
		keys = append(keys, k)
		size += len(k) + 4 + valueSize(v)
	}
	for _, m := range enc {
		size += len(m.Key) + 4 + len(m.Value)
	}
	slices.Sort(keys)
	// One allocation of about the right size: grown by appends, the line
	// was copied four or five times over.
	b = slices.Grow(b, size)
	b = append(b, '{')
	first := true
	member := func(k string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = event.AppendJSONString(b, k)
		b = append(b, ':')
	}
	i := 0
	for _, k := range keys {
		for ; i < len(enc) && enc[i].Key <= k; i++ {
			if enc[i].Key == k {
				continue // the map's value wins
			}
			member(enc[i].Key)
			b = append(b, enc[i].Value...)
		}
		member(k)
		var err error
		if b, err = appendValue(b, ev[k]); err != nil {
			return nil, err
		}
	}
	for ; i < len(enc); i++ {
		member(enc[i].Key)
		b = append(b, enc[i].Value...)
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
		return AppendStrings(b, v), nil
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

// AppendStrings appends l as a JSON array of strings.
func AppendStrings(b []byte, l []string) []byte {
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = event.AppendJSONString(b, s)
	}
	return append(b, ']')
}
