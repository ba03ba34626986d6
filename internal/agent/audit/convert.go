package audit

import (
	"bytes"

	json "github.com/goccy/go-json"

	"github.com/spoor-dev/spoor/internal/agent/source"
	"github.com/spoor-dev/spoor/internal/event"
)

// toSource renders an event of the auditd decoder in spoor's native shape:
// the typed fields under their Threat Stack keys (session and uid numbers,
// user a name, args a list), beside the decoder's Raw members (the
// coalesced event and its "records", which detection reads). A Raw member
// whose key a typed field takes is kept as audit_<key> (the coalesced
// "user" object of ids, say).
func toSource(e *event.Event) source.Event {
	out := make(source.Event, 48)
	if !members(e.Raw, func(k string, v []byte) { out[k] = json.RawMessage(v) }) {
		var raw map[string]json.RawMessage
		_ = json.Unmarshal(e.Raw, &raw) // the decoder made it: one JSON object
		for k, v := range raw {
			out[k] = v
		}
	}
	for _, f := range event.Catalog() {
		if !e.Has(f.ID) {
			continue
		}
		switch f.ID {
		case event.OrganizationID, event.InsertTime, event.DateKey:
			continue // the server's to set
		}
		key := f.Key
		if key == "" {
			key = f.Name
		}
		if v, ok := out[key]; ok {
			out["audit_"+key] = v
		}
		switch f.Kind {
		case event.KindString:
			out[key] = e.Str[f.ID]
		case event.KindInt, event.KindTime:
			out[key] = e.Int[f.ID]
		case event.KindBool:
			out[key] = e.Bool(f.ID)
		case event.KindList:
			out[key] = e.List(f.ID)
		}
	}
	return out
}

// members calls fn with each top-level key and value text of a compact JSON
// object the decoder wrote, without parsing the values. It returns false,
// having called fn for none, where the text is not that simple (an escaped
// key): the caller parses it then.
func members(obj []byte, fn func(k string, v []byte)) bool {
	type kv struct {
		k string
		v []byte
	}
	var found [40]kv
	list := found[:0]
	if len(obj) < 2 || obj[0] != '{' {
		return false
	}
	i := 1
	for i < len(obj) && obj[i] != '}' {
		if obj[i] == ',' {
			i++
		}
		if i >= len(obj) || obj[i] != '"' {
			return false
		}
		end := i + 1
		for end < len(obj) && obj[end] != '"' {
			if obj[end] == '\\' {
				return false
			}
			end++
		}
		if end+1 >= len(obj) || obj[end+1] != ':' {
			return false
		}
		k := string(obj[i+1 : end])
		start := end + 2
		stop := skipValue(obj, start)
		if stop <= start {
			return false
		}
		list = append(list, kv{k, obj[start:stop]})
		i = stop
	}
	for _, m := range list {
		fn(m.k, m.v)
	}
	return true
}

// skipValue returns the end of the JSON value starting at i, or i when it
// cannot tell.
func skipValue(b []byte, i int) int {
	depth := 0
	for j := i; j < len(b); j++ {
		c := b[j]
		switch c {
		case '"':
			end := stringEnd(b, j)
			if end < 0 {
				return i
			}
			if depth == 0 {
				return end + 1
			}
			j = end
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return j // the end of the enclosing object
			}
			depth--
			if depth == 0 {
				return j + 1
			}
		case ',':
			if depth == 0 {
				return j
			}
		}
	}
	return i
}

// stringEnd returns the index of the quote closing the JSON string opened
// at b[open], or -1. It jumps from quote to quote (the records' text makes
// Raw mostly long strings): a quote ends the string unless an odd run of
// backslashes escapes it.
func stringEnd(b []byte, open int) int {
	for k := open + 1; ; {
		q := bytes.IndexByte(b[k:], '"')
		if q < 0 {
			return -1
		}
		q += k
		n := 0
		for p := q - 1; p > open && b[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q
		}
		k = q + 1
	}
}
