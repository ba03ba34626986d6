package winevent

import (
	"encoding/hex"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/Velocidex/ordereddict"
	"github.com/valyala/fastjson"
)

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD so
// the result is always valid UTF-8 JSON.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"':
				dst = append(dst, '\\', '"')
			case '\\':
				dst = append(dst, '\\', '\\')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigit[c>>4], hexDigit[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

const hexDigit = "0123456789abcdef"

// appendFJ appends a fastjson value re-encoded by appendString, so the
// output is valid UTF-8 JSON whatever the input's escapes held.
func appendFJ(dst []byte, v *fastjson.Value) []byte {
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return appendString(dst, b2s(b))
	case fastjson.TypeObject:
		o, _ := v.Object()
		dst = append(dst, '{')
		first := true
		o.Visit(func(k []byte, vv *fastjson.Value) {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendString(dst, b2s(k))
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
	default: // numbers, true, false, null: their text is plain ASCII
		return v.MarshalTo(dst)
	}
}

func b2s(b []byte) string { return string(b) }

// appendGo appends a value of the EVTX reader's output as JSON. FILETIME
// values (the reader's only floats) become RFC 3339 UTC text, binary
// becomes upper-case hex, as evtx_dump writes them.
func appendGo(dst []byte, v any, depth int) []byte {
	if depth > 64 {
		return append(dst, "null"...)
	}
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case string:
		return appendString(dst, x)
	case bool:
		return strconv.AppendBool(dst, x)
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10)
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10)
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10)
	case uint64:
		return strconv.AppendUint(dst, x, 10)
	case int:
		return strconv.AppendInt(dst, int64(x), 10)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case float64:
		if t, ok := filetimeFloat(x); ok {
			return appendString(dst, t.Format(time.RFC3339Nano))
		}
		return append(dst, "null"...)
	case []byte:
		return appendString(dst, upperHex(x))
	case []string:
		dst = append(dst, '[')
		for i, s := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, s)
		}
		return append(dst, ']')
	case []any:
		dst = append(dst, '[')
		for i, s := range x {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendGo(dst, s, depth+1)
		}
		return append(dst, ']')
	case *ordereddict.Dict:
		dst = append(dst, '{')
		for i, k := range x.Keys() {
			if i > 0 {
				dst = append(dst, ',')
			}
			vv, _ := x.Get(k)
			dst = appendString(dst, k)
			dst = append(dst, ':')
			dst = appendGo(dst, vv, depth+1)
		}
		return append(dst, '}')
	}
	return append(dst, "null"...)
}

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

// filetimeFloat turns the reader's FILETIME (float seconds since the Unix
// epoch) into a time rounded to the microsecond, the precision a float64
// keeps for current dates.
func filetimeFloat(f float64) (time.Time, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < -1e11 || f > 1e11 {
		return time.Time{}, false
	}
	sec := math.Floor(f)
	us := int64(math.Round((f - sec) * 1e6))
	return time.Unix(int64(sec), us*1000).UTC(), true
}
