package cluster

import (
	"net/netip"
	"regexp"
	"strings"
	"unicode"
)

var (
	reUUID = regexp.MustCompile(`(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)
	reIPv4 = regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b`)
	// reIPv6 finds candidates: hex groups with at least two colons; a
	// candidate is replaced only when it parses as an address.
	reIPv6 = regexp.MustCompile(`(?i)(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}`)
	// reTemp: mktemp names (tmp.XXXXXXXXXX), Python tempfile names
	// (tmpk3j_x9a2) and the like.
	reTemp = regexp.MustCompile(`\b(tmp|temp)([._-]?)([A-Za-z0-9_]{4,})`)
	reHex  = regexp.MustCompile(`(?i)\b0x[0-9a-f]+\b|\b[0-9a-f]{8,}\b`)
	// reNum: a number (with dotted parts) that does not continue a word,
	// so python3.6 and x86_64 stay as they are while pid=4242 does not.
	reNum = regexp.MustCompile(`(^|[^A-Za-z0-9_.])\d+(?:\.\d+)*`)
)

// The placeholders Pattern puts in place of what it removes.
const (
	PlaceUUID = "<uuid>"
	PlaceIP   = "<ip>"
	PlaceHex  = "<hex>"
	PlaceNum  = "<num>"
	PlaceRand = "<rand>"
)

// Pattern returns s with what varies between runs of the same thing
// replaced by placeholders: UUIDs, IPv4 and IPv6 addresses, random temporary
// names (mktemp's tmp.XXXXXXXXXX, Python's tmpXXXXXXXX), hex (0x..., hashes)
// and numbers.
func Pattern(s string) string {
	s = reUUID.ReplaceAllLiteralString(s, PlaceUUID)
	s = reIPv4.ReplaceAllLiteralString(s, PlaceIP)
	if strings.Count(s, ":") >= 2 {
		s = reIPv6.ReplaceAllStringFunc(s, func(m string) string {
			if a, err := netip.ParseAddr(m); err == nil && a.Is6() {
				return PlaceIP
			}
			return m
		})
	}
	s = reTemp.ReplaceAllStringFunc(s, func(m string) string {
		sub := reTemp.FindStringSubmatch(m)
		if sub[2] == "." || randomish(sub[3]) {
			return sub[1] + sub[2] + PlaceRand
		}
		return m
	})
	s = reHex.ReplaceAllStringFunc(s, func(m string) string {
		if len(m) > 2 && (m[1] == 'x' || m[1] == 'X') {
			return PlaceHex
		}
		if strings.ContainsAny(m, "0123456789") && strings.ContainsAny(strings.ToLower(m), "abcdef") {
			return PlaceHex
		}
		return m // all digits: a number; all letters: a word
	})
	return reNum.ReplaceAllString(s, "${1}"+PlaceNum)
}

// randomish says a name part looks generated: it has a digit, or upper
// and lower case letters mixed.
func randomish(s string) bool {
	var digit, upper, lower bool
	for _, r := range s {
		switch {
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		}
	}
	return digit || (upper && lower)
}
