package auditd

import (
	"strings"
	"unicode/utf8"

	"github.com/spoor-dev/spoor/internal/event"
)

// Why this file exists: the decoder writes a few kilobytes of JSON strings
// per event (the records' text above all), and escaping them byte by byte
// was a tenth of its time. These copy runs of bytes that need no escape
// at once and leave the rest to the escapes they speed up, so the text
// is the same: TestAppendTextMatches and FuzzAppendText hold them to it.

// plain and plainHTML mark the bytes written as they are:
// event.AppendJSONString's (printable ASCII but '"' and '\'), and besides
// not <, > and & for json.Marshal's HTML-safe strings.
var plain, plainHTML = func() (p, h [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		p[c] = c != '"' && c != '\\'
		h[c] = p[c] && c != '<' && c != '>' && c != '&'
	}
	return p, h
}()

// appendText appends s as a JSON string, as event.AppendJSONString does.
func appendText(b []byte, s string) []byte {
	return appendEscaped(b, s, &plain, event.AppendJSONString)
}

// appendJSON appends s as a JSON string the way json.Marshal does by
// default: event.AppendJSONString's escapes and U+FFFD for invalid UTF-8,
// and besides <, > and & escaped for HTML and U+2028, U+2029 escaped.
func appendJSON(b []byte, s string) []byte {
	return appendEscaped(b, s, &plainHTML, appendJSONSlow)
}

// appendEscaped appends s quoted, copying the runs of bytes marked in
// keep, escaping the other ASCII bytes one by one and leaving the rest of
// s from its first non-ASCII byte to slow (which writes a whole string,
// quotes included).
func appendEscaped(b []byte, s string, keep *[256]bool, slow func([]byte, string) []byte) []byte {
	b = append(b, '"')
	for {
		i := 0
		for i < len(s) && keep[s[i]] {
			i++
		}
		b = append(b, s[:i]...)
		s = s[i:]
		if s == "" {
			return append(b, '"')
		}
		c := s[0]
		if c >= utf8.RuneSelf {
			n := len(b)
			b = slow(b, s)
			copy(b[n:], b[n+1:]) // slow's opening quote
			return b[:len(b)-1]
		}
		if c == '<' || c == '>' || c == '&' { // only kept out of plainHTML
			b = append(b, '\\', 'u', '0', '0', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		} else { // event.AppendJSONString's escape of c, without its quotes
			n := len(b)
			b = event.AppendJSONString(b, s[:1])
			b = append(b[:n], b[n+1:len(b)-1]...)
		}
		s = s[1:]
	}
}

// appendJSONSlow is appendJSON byte by byte: event.AppendJSONString's
// output, in which <, >, & and U+2028, U+2029 only stand for themselves,
// escaped after it.
func appendJSONSlow(b []byte, s string) []byte {
	start := len(b)
	b = event.AppendJSONString(b, s)
	i := start
	for i < len(b) && b[i] != '<' && b[i] != '>' && b[i] != '&' && b[i] != 0xe2 {
		i++
	}
	if i == len(b) {
		return b
	}
	rest := string(b[i:])
	b = b[:i]
	for j := 0; j < len(rest); j++ {
		switch c := rest[j]; {
		case c == '<' || c == '>' || c == '&':
			b = append(b, '\\', 'u', '0', '0', "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		case c == 0xe2 && strings.HasPrefix(rest[j:], "\u2028"):
			b, j = append(b, `\u2028`...), j+2
		case c == 0xe2 && strings.HasPrefix(rest[j:], "\u2029"):
			b, j = append(b, `\u2029`...), j+2
		default:
			b = append(b, c)
		}
	}
	return b
}
