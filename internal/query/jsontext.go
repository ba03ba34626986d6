package query

import (
	"math"
	"strconv"

	"github.com/valyala/fastjson"
)

// The text form of a raw JSON value, for text comparisons and operators,
// is what DuckDB's `value->>'$'` gives, so that both compilers agree:
// a string's own text; true and false; a number as DuckDB's JSON writer
// (yyjson) prints it; an object or array as minified JSON with that
// writer's escapes and number format. The functions below reproduce it.

// jsonText appends the text form of v.
func jsonText(b []byte, v *fastjson.Value) []byte {
	switch v.Type() {
	case fastjson.TypeString:
		return append(b, v.GetStringBytes()...)
	default:
		return appendJSON(b, v)
	}
}

// appendJSON appends v as minified JSON the way yyjson writes it.
func appendJSON(b []byte, v *fastjson.Value) []byte {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		b = append(b, '{')
		first := true
		o.Visit(func(k []byte, x *fastjson.Value) {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSON(b, x)
		})
		return append(b, '}')
	case fastjson.TypeArray:
		a, _ := v.Array()
		b = append(b, '[')
		for i, x := range a {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, x)
		}
		return append(b, ']')
	case fastjson.TypeString:
		return appendJSONString(b, v.GetStringBytes())
	case fastjson.TypeNumber:
		start := len(b)
		b = v.MarshalTo(b)
		raw := string(b[start:])
		return appendNumber(b[:start], raw)
	case fastjson.TypeTrue:
		return append(b, "true"...)
	case fastjson.TypeFalse:
		return append(b, "false"...)
	}
	return append(b, "null"...)
}

const upperHex = "0123456789ABCDEF"

// appendJSONString quotes s as yyjson does: \" \\ \b \f \n \r \t, other
// control characters as \u00XX, everything else (DEL, non-ASCII) as is.
func appendJSONString(b, s []byte) []byte {
	b = append(b, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c >= 0x20:
			b = append(b, c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c == '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', upperHex[c>>4], upperHex[c&0xf])
		}
	}
	return append(b, '"')
}

// jsonNumber reads the raw text of a JSON number as DuckDB types it: an
// int64 (json_type BIGINT) or else a float64 (UBIGINT, DOUBLE, and numbers
// too big for either, which read as ±Inf).
func jsonNumber(raw string) (isInt bool, i int64, f float64) {
	if i, ok := fastInt(raw); ok {
		return true, i, float64(i)
	}
	f, _ = strconv.ParseFloat(raw, 64)
	return false, 0, f
}

// fastInt parses a JSON integer that fits in an int64, without the
// allocation strconv makes for its errors.
func fastInt(s string) (int64, bool) {
	neg := len(s) > 0 && s[0] == '-'
	d := s
	if neg {
		d = s[1:]
	}
	if d == "" || len(d) > 19 {
		return 0, false
	}
	if len(d) == 19 {
		i, err := strconv.ParseInt(s, 10, 64)
		return i, err == nil
	}
	var n int64
	for i := 0; i < len(d); i++ {
		c := d[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

func intSyntax(s string) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// appendNumber appends a JSON number's text as yyjson writes it back:
// integers in decimal, other finite numbers in the shortest form that
// reads back the same, and numbers beyond uint64 or float64 range as
// written (yyjson keeps them raw).
func appendNumber(b []byte, raw string) []byte {
	if i, ok := fastInt(raw); ok {
		return strconv.AppendInt(b, i, 10)
	}
	if intSyntax(raw) {
		if u, err := strconv.ParseUint(raw, 10, 64); err == nil {
			return strconv.AppendUint(b, u, 10)
		}
		return append(b, raw...)
	}
	f, err := strconv.ParseFloat(raw, 64)
	if err != nil && (math.IsInf(f, 0) || !isRangeErr(err)) {
		return append(b, raw...)
	}
	return appendFloat(b, f)
}

// appendFloat writes a double as yyjson does: the shortest digits that
// round-trip, in fixed notation with at least one decimal (100.0,
// 0.000001) when 1e-6 <= |f| < 1e21, otherwise as 1.5e-7 or 1e21.
func appendFloat(b []byte, f float64) []byte {
	if f == 0 {
		if math.Signbit(f) {
			return append(b, "-0.0"...)
		}
		return append(b, "0.0"...)
	}
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64) // d.ddde±XX
	var digits [24]byte
	nd := 0
	i := 0
	for ; i < len(e) && e[i] != 'e'; i++ {
		if e[i] != '.' {
			digits[nd] = e[i]
			nd++
		}
	}
	exp, _ := strconv.Atoi(string(e[i+1:]))
	d := digits[:nd]
	switch {
	case exp >= 0 && exp <= 20:
		if nd <= exp+1 {
			b = append(b, d...)
			for k := nd; k < exp+1; k++ {
				b = append(b, '0')
			}
			return append(b, '.', '0')
		}
		b = append(b, d[:exp+1]...)
		b = append(b, '.')
		return append(b, d[exp+1:]...)
	case exp < 0 && exp >= -6:
		b = append(b, '0', '.')
		for k := 0; k < -exp-1; k++ {
			b = append(b, '0')
		}
		return append(b, d...)
	}
	b = append(b, d[0])
	if nd > 1 {
		b = append(b, '.')
		b = append(b, d[1:]...)
	}
	b = append(b, 'e')
	return strconv.AppendInt(b, int64(exp), 10)
}
