package event

import (
	"math"
	"strconv"
	"strings"
)

func kindName(k valueKind) string {
	switch k {
	case vString:
		return "a string"
	case vNumber:
		return "a number"
	case vTrue, vFalse:
		return "a boolean"
	case vNull:
		return "null"
	case vArray:
		return "an array"
	}
	return "something else"
}

// canonicalInt reports whether a JSON number's text is exactly the decimal
// form of an int64 (so lifting it and printing it back gives the same text).
func canonicalInt(v []byte) (int64, bool) {
	i, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, false
	}
	return i, true
}

// lift sets field id from v when v has the JSON type of the field's kind, and
// reports whether it did (the key then leaves raw).
func lift(e *Event, id FieldID, v []byte) bool {
	k := kindOf(v)
	switch catalog[id].Kind {
	case KindString:
		if k != vString {
			if !e.Has(id) && (k == vNumber || k == vTrue || k == vFalse) {
				e.SetString(id, string(v))
			}
			return false
		}
		s, ok := unquote(v)
		if !ok {
			return false
		}
		e.SetString(id, s)
		return true
	case KindInt:
		if k == vNumber {
			if i, ok := canonicalInt(v); ok {
				e.SetInt(id, i)
				return true
			}
		}
		if !e.Has(id) {
			if i, ok := intOf(v); ok {
				e.SetInt(id, i)
			}
		}
		return false
	case KindTime:
		if k == vNumber {
			if i, ok := canonicalInt(v); ok && i > 1e11 && i < 1e14 {
				e.SetInt(id, i)
				return true
			}
		}
		return false
	case KindBool:
		switch k {
		case vTrue:
			e.SetBool(id, true)
			return true
		case vFalse:
			e.SetBool(id, false)
			return true
		case vString:
			if s, ok := unquote(v); ok {
				if b, err := strconv.ParseBool(s); err == nil {
					e.SetBool(id, b)
				}
			}
		}
		return false
	case KindList:
		if k != vArray {
			return false
		}
		var l []string
		exact := true
		eachElement(v, func(el []byte) {
			if s, ok := unquote(el); ok && kindOf(el) == vString {
				l = append(l, s)
			} else {
				exact = false
				l = append(l, string(el))
			}
		})
		if l == nil {
			l = []string{}
		}
		e.SetList(id, l)
		return exact
	}
	return false
}

func intOf(v []byte) (int64, bool) {
	switch kindOf(v) {
	case vNumber:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
			return 0, false
		}
		return int64(f), true
	case vString:
		s, _ := unquote(v)
		s = strings.TrimSpace(s)
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, true
		}
		if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
			if i, err := strconv.ParseInt(s[2:], 16, 64); err == nil {
				return i, true
			}
		}
	}
	return 0, false
}

// fromNested sets a string field from v (or v's nested path) unless the field
// is set already. The value stays in raw.
func fromNested(e *Event, v []byte, id FieldID, path ...string) {
	if e.Has(id) {
		return
	}
	for _, p := range path {
		if kindOf(v) != vObject {
			return
		}
		v = lookup(v, p)
	}
	switch kindOf(v) {
	case vString:
		if s, ok := unquote(v); ok && s != "" {
			e.SetString(id, s)
		}
	case vNumber:
		e.SetString(id, string(v))
	}
}

// firstOf sets a string field from the first element of obj's array at key.
func firstOf(e *Event, obj []byte, id FieldID, key string) {
	if e.Has(id) {
		return
	}
	a := lookup(obj, key)
	if kindOf(a) != vArray {
		return
	}
	done := false
	eachElement(a, func(el []byte) {
		if done {
			return
		}
		done = true
		if s, ok := unquote(el); ok && kindOf(el) == vString {
			e.SetString(id, s)
		}
	})
}
