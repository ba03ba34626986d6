package event

import (
	"strconv"
	"unicode/utf8"
)

// Original rebuilds the original event as a JSON object: the residual raw
// keys plus the lifted typed fields under their original keys. Key order may
// differ from the source; every key and value is there.
func (e *Event) Original() []byte {
	b := make([]byte, 0, len(e.Raw)+len(e.Meta)+256)
	b = append(b, '{')
	for i := 0; i < NumFields; i++ {
		if e.Lifted&(1<<i) == 0 {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		f := &catalog[i]
		b = appendJSONString(b, f.Key)
		b = append(b, ':')
		b = e.AppendJSON(b, f.ID)
	}
	for _, part := range [][]byte{e.Raw, e.Meta} {
		if len(part) > 2 {
			if len(b) > 1 {
				b = append(b, ',')
			}
			b = append(b, part[1:len(part)-1]...)
		}
	}
	return append(b, '}')
}

// AppendJSON appends field id's value as JSON (null when absent).
func (e *Event) AppendJSON(b []byte, id FieldID) []byte {
	if !e.Has(id) {
		return append(b, "null"...)
	}
	switch catalog[id].Kind {
	case KindString:
		return appendJSONString(b, e.Str[id])
	case KindInt, KindTime:
		return strconv.AppendInt(b, e.Int[id], 10)
	case KindBool:
		return strconv.AppendBool(b, e.Int[id] != 0)
	case KindList:
		b = append(b, '[')
		for j, s := range e.List(id) {
			if j > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, s)
		}
		return append(b, ']')
	}
	return append(b, "null"...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string literal.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			// Invalid UTF-8 becomes U+FFFD: the text stays valid JSON.
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// AppendJSONString appends s as a JSON string literal.
func AppendJSONString(b []byte, s string) []byte { return appendJSONString(b, s) }
