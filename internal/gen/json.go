package gen

import (
	"strconv"

	"github.com/spoor-dev/spoor/internal/event"
)

// Append-style JSON helpers: events are rendered by appending pre-rendered
// fragments and numbers to one buffer; encoding/json is far too slow for
// tens of millions of events.

func str(b []byte, s string) []byte { return event.AppendJSONString(b, s) }

// kstr appends ,"key":"value".
func kstr(b []byte, key, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return str(b, v)
}

// kint appends ,"key":v.
func kint(b []byte, key string, v int64) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return strconv.AppendInt(b, v, 10)
}

// kbool appends ,"key":true|false.
func kbool(b []byte, key string, v bool) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':')
	return strconv.AppendBool(b, v)
}

// klist appends ,"key":["a","b"].
func klist(b []byte, key string, l []string) []byte {
	b = append(b, ',', '"')
	b = append(b, key...)
	b = append(b, '"', ':', '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = str(b, s)
	}
	return append(b, ']')
}

// obj builds a small JSON object at set-up time (not on the hot path).
type obj struct{ b []byte }

func (o *obj) sep() {
	if len(o.b) == 0 {
		o.b = append(o.b, '{')
	} else {
		o.b = append(o.b, ',')
	}
}

func (o *obj) s(k, v string) *obj {
	o.sep()
	o.b = str(o.b, k)
	o.b = append(o.b, ':')
	o.b = str(o.b, v)
	return o
}

func (o *obj) l(k string, v []string) *obj {
	o.sep()
	o.b = str(o.b, k)
	o.b = append(o.b, ':', '[')
	for i, s := range v {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = str(o.b, s)
	}
	o.b = append(o.b, ']')
	return o
}

// raw adds a pre-rendered JSON value.
func (o *obj) raw(k string, v []byte) *obj {
	o.sep()
	o.b = str(o.b, k)
	o.b = append(o.b, ':')
	o.b = append(o.b, v...)
	return o
}

func (o *obj) bytes() []byte {
	if len(o.b) == 0 {
		return []byte("{}")
	}
	return append(o.b, '}')
}
