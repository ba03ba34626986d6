package sigma

import (
	"encoding/base64"
	"fmt"
	"unicode/utf16"
)

func encodeUTF16(s, enc string) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u)+2)
	if enc == "utf16" { // with a byte order mark, little endian
		b = append(b, 0xff, 0xfe)
	}
	for _, x := range u {
		if enc == "utf16be" {
			b = append(b, byte(x>>8), byte(x))
		} else {
			b = append(b, byte(x), byte(x>>8))
		}
	}
	return string(b)
}

// base64Offsets returns the three base64 forms of s as it may appear at any
// offset inside a longer base64 text (Sigma's base64offset).
func base64Offsets(s string) []string {
	start := [3]int{0, 2, 3}
	endCut := [3]int{0, 3, 2}
	out := make([]string, 0, 3)
	for i := 0; i < 3; i++ {
		enc := base64.StdEncoding.EncodeToString(append(make([]byte, i), s...))
		cut := endCut[(len(s)+i)%3]
		lo, hi := start[i], len(enc)-cut
		if lo >= hi {
			continue
		}
		out = append(out, enc[lo:hi])
	}
	return out
}

var dashes = []string{"-", "/", "\u2013", "\u2014", "\u2015"}

func isWordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// windash returns s with each option dash ('-' or '/' opening a word) in
// every form Windows accepts: -, /, en dash, em dash, horizontal bar.
func windash(s string) ([]string, error) {
	var pos []int
	for i := 0; i < len(s); i++ {
		if (s[i] == '-' || s[i] == '/') && (i == 0 || !isWordByte(s[i-1])) && i+1 < len(s) && isWordByte(s[i+1]) {
			pos = append(pos, i)
		}
	}
	if len(pos) > maxWindash {
		return nil, fmt.Errorf("windash: %d dashes in %q, over the limit of %d", len(pos), s, maxWindash)
	}
	out := []string{""}
	prev := 0
	for _, p := range pos {
		var next []string
		for _, o := range out {
			for _, d := range dashes {
				next = append(next, o+s[prev:p]+d)
			}
		}
		out, prev = next, p+1
	}
	for i := range out {
		out[i] += s[prev:]
	}
	return out, nil
}
