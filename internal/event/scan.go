package event

import (
	"bytes"
	"errors"
	"strconv"
	"unicode/utf8"
)

// A small JSON scanner for the top level of an event: it finds each member's
// key and the byte range of its value without building a tree, so lifted
// values are decoded in place and the rest is copied to raw verbatim. The
// line is validated (fastjson.ValidateBytes) before it is scanned, so the
// scanner may assume well-formed input; it still never reads out of bounds.

var errScan = errors.New("malformed JSON")

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] == '"'.
func skipString(b []byte, i int) (int, bool) {
	i++
	for i < len(b) {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b), false
		}
		j += i
		n := 0
		for k := j - 1; k >= i && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return j + 1, true
		}
		i = j + 1
	}
	return len(b), false
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return i, errScan
	}
	switch b[i] {
	case '"':
		j, ok := skipString(b, i)
		if !ok {
			return j, errScan
		}
		return j, nil
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				j, ok := skipString(b, i)
				if !ok {
					return j, errScan
				}
				i = j - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
		}
		return i, errScan
	default:
		for ; i < len(b); i++ {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i, nil
			}
		}
		return i, nil
	}
}

// member is one key/value of an object: key is the raw key text (without
// quotes, possibly escaped); [start, end) spans `"key": value`; value is the
// value's text.
type member struct {
	key        []byte
	value      []byte
	start, end int
}

// members walks an object; top requires nothing but space after it. known,
// when set, may report the length of a value it recognises at the start of
// the input, which is then not scanned.
func members(b []byte, top bool, known func(key, rest []byte) int, fn func(m member) bool) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errScan
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		if top && skipSpace(b, i+1) != len(b) {
			return errTrailing
		}
		return nil
	}
	for i < len(b) {
		if b[i] != '"' {
			return errScan
		}
		start := i
		j, ok := skipString(b, i)
		if !ok {
			return errScan
		}
		key := b[i+1 : j-1]
		i = skipSpace(b, j)
		if i >= len(b) || b[i] != ':' {
			return errScan
		}
		i = skipSpace(b, i+1)
		vs := i
		ve := vs
		if known != nil {
			ve += known(key, b[i:])
		}
		if ve == vs {
			var err error
			if ve, err = skipValue(b, i); err != nil {
				return err
			}
		}
		if !fn(member{key: key, value: b[vs:ve], start: start, end: ve}) {
			return nil
		}
		i = skipSpace(b, ve)
		if i >= len(b) {
			return errScan
		}
		if b[i] == '}' {
			if skipSpace(b, i+1) != len(b) && top {
				return errTrailing
			}
			return nil
		}
		if b[i] != ',' {
			return errScan
		}
		i = skipSpace(b, i+1)
	}
	return errScan
}

var errTrailing = errors.New("data after the closing brace")

// lookup returns the value of key in the object text obj.
func lookup(obj []byte, key string) []byte {
	var out []byte
	members(obj, false, nil, func(m member) bool {
		if string(m.key) == key {
			out = m.value
			return false
		}
		return true
	})
	return out
}

// unquote decodes a JSON string value (with its quotes).
func unquote(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", false
	}
	s := v[1 : len(v)-1]
	simple := true
	for _, c := range s {
		if c == '\\' {
			simple = false
			break
		}
	}
	if simple {
		return string(s), true
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return "", false
		}
		switch s[i] {
		case '"', '\\', '/':
			out = append(out, s[i])
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			if i+4 >= len(s) {
				return "", false
			}
			r, err := strconv.ParseUint(string(s[i+1:i+5]), 16, 32)
			if err != nil {
				return "", false
			}
			i += 4
			if r >= 0xD800 && r < 0xDC00 && i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
				if r2, err := strconv.ParseUint(string(s[i+3:i+7]), 16, 32); err == nil && r2 >= 0xDC00 && r2 < 0xE000 {
					r = (r-0xD800)<<10 + (r2 - 0xDC00) + 0x10000
					i += 6
				}
			}
			out = utf8.AppendRune(out, rune(r))
		default:
			return "", false
		}
	}
	return string(out), true
}

// valueKind classifies a JSON value by its first byte.
type valueKind uint8

const (
	vOther valueKind = iota
	vString
	vNumber
	vTrue
	vFalse
	vNull
	vArray
	vObject
)

func kindOf(v []byte) valueKind {
	if len(v) == 0 {
		return vOther
	}
	switch c := v[0]; {
	case c == '"':
		return vString
	case c == '-' || (c >= '0' && c <= '9'):
		return vNumber
	case c == 't':
		return vTrue
	case c == 'f':
		return vFalse
	case c == 'n':
		return vNull
	case c == '[':
		return vArray
	case c == '{':
		return vObject
	}
	return vOther
}

// eachElement calls fn with each element's text of the array v.
func eachElement(v []byte, fn func(e []byte)) error {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '[' {
		return errScan
	}
	i = skipSpace(v, i+1)
	if i < len(v) && v[i] == ']' {
		return nil
	}
	for i < len(v) {
		j, err := skipValue(v, i)
		if err != nil {
			return err
		}
		fn(v[i:j])
		i = skipSpace(v, j)
		if i >= len(v) {
			return errScan
		}
		if v[i] == ']' {
			return nil
		}
		if v[i] != ',' {
			return errScan
		}
		i = skipSpace(v, i+1)
	}
	return errScan
}
