package winevent

import (
	"encoding/hex"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/valyala/fastjson"
)

// appendFJ appends a fastjson value re-encoded by event.AppendJSONString, so the
// output is valid UTF-8 JSON whatever the input's escapes held.
func appendFJ(dst []byte, v *fastjson.Value) []byte {
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return event.AppendJSONString(dst, b2s(b))
	case fastjson.TypeObject:
		o, _ := v.Object()
		dst = append(dst, '{')
		first := true
		o.Visit(func(k []byte, vv *fastjson.Value) {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = event.AppendJSONString(dst, b2s(k))
			dst = append(dst, ':')
			dst = appendFJ(dst, vv)
		})
		return append(dst, '}')
	case fastjson.TypeArray:
		a, _ := v.Array()
		dst = append(dst, '[')
		for i, vv := range a {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendFJ(dst, vv)
		}
		return append(dst, ']')
	case fastjson.TypeNumber:
		// fastjson is lenient ("00", "1.", "NaN"): keep only JSON numbers.
		n := v.MarshalTo(nil)
		if validNumber(n) {
			return append(dst, n...)
		}
		return event.AppendJSONString(dst, string(n))
	default: // true, false, null
		return v.MarshalTo(dst)
	}
}

// validNumber reports whether b is a number by JSON's grammar.
func validNumber(b []byte) bool {
	i := 0
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i == len(b) || b[i] < '0' || b[i] > '9' {
			return false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i == len(b) || b[i] < '0' || b[i] > '9' {
			return false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	return i == len(b)
}

func b2s(b []byte) string { return string(b) }

func upperHex(b []byte) string {
	s := make([]byte, hex.EncodedLen(len(b)))
	hex.Encode(s, b)
	for i, c := range s {
		if c >= 'a' {
			s[i] = c - 'a' + 'A'
		}
	}
	return string(s)
}
