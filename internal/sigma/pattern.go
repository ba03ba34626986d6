package sigma

import (
	"strings"
	"unicode/utf8"
)

// A pattern is a Sigma string value with its wildcards: segments separated
// by '*', each a run of literal text and '?' (one character).
type pattern struct{ segs []seg }

type seg []item

type item struct {
	lit string
	q   bool // '?'
}

// parseWildcards reads a plain Sigma value: * and ? are wildcards, \* \?
// and \\ stand for the character itself, and any other backslash is a
// plain backslash.
func parseWildcards(s string) pattern {
	var p pattern
	var cur seg
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			cur = append(cur, item{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\') {
				lit.WriteByte(s[i+1])
				i++
			} else {
				lit.WriteByte(c)
			}
		case '*':
			flush()
			p.segs = append(p.segs, cur)
			cur = nil
		case '?':
			flush()
			cur = append(cur, item{q: true})
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	p.segs = append(p.segs, cur)
	return p
}

// star adds a leading and/or trailing '*'.
func (p *pattern) star(left, right bool) {
	if left && !(len(p.segs) > 1 && len(p.segs[0]) == 0) {
		p.segs = append([]seg{nil}, p.segs...)
	}
	if right && !(len(p.segs) > 1 && len(p.segs[len(p.segs)-1]) == 0) {
		p.segs = append(p.segs, nil)
	}
}

func (p *pattern) lower() {
	for _, s := range p.segs {
		for i := range s {
			s[i].lit = toLower(s[i].lit)
		}
	}
}

// normalize drops empty segments in the middle ("**" is "*").
func (p *pattern) normalize() {
	if len(p.segs) <= 2 {
		return
	}
	out := []seg{p.segs[0]}
	for _, s := range p.segs[1 : len(p.segs)-1] {
		if len(s) > 0 {
			out = append(out, s)
		}
	}
	p.segs = append(out, p.segs[len(p.segs)-1])
}

func (s seg) plain() (string, bool) {
	switch len(s) {
	case 0:
		return "", true
	case 1:
		return s[0].lit, !s[0].q
	}
	return "", false
}

// matcher builds the fastest test for p; ci says to test the lowercased
// value (p is then lowercased too).
func (p pattern) matcher(ci bool) matcher {
	p.normalize()
	pick := func(f func(string) bool) matcher {
		if ci {
			return func(_ *Doc, _, low string) bool { return f(low) }
		}
		return func(_ *Doc, s, _ string) bool { return f(s) }
	}
	if len(p.segs) == 1 {
		if lit, ok := p.segs[0].plain(); ok {
			return pick(func(s string) bool { return s == lit })
		}
	}
	if len(p.segs) == 2 {
		a, okA := p.segs[0].plain()
		b, okB := p.segs[1].plain()
		if okA && okB {
			switch {
			case a == "" && b == "":
				return pick(func(string) bool { return true })
			case b == "":
				return pick(func(s string) bool { return strings.HasPrefix(s, a) })
			case a == "":
				return pick(func(s string) bool { return strings.HasSuffix(s, b) })
			}
			return pick(func(s string) bool {
				return len(s) >= len(a)+len(b) && strings.HasPrefix(s, a) && strings.HasSuffix(s, b)
			})
		}
	}
	if len(p.segs) == 3 && len(p.segs[0]) == 0 && len(p.segs[2]) == 0 {
		if b, ok := p.segs[1].plain(); ok {
			return pick(func(s string) bool { return strings.Contains(s, b) })
		}
	}
	g := p
	return pick(g.match)
}

// segAt matches segment sg at s[i:], returning where it ends.
func segAt(sg seg, s string, i int) (int, bool) {
	for _, it := range sg {
		if it.q {
			if i >= len(s) {
				return 0, false
			}
			_, n := utf8.DecodeRuneInString(s[i:])
			i += n
			continue
		}
		if !strings.HasPrefix(s[i:], it.lit) {
			return 0, false
		}
		i += len(it.lit)
	}
	return i, true
}

// find returns where the leftmost match of sg at or after i ends.
func find(sg seg, s string, i int) (int, bool) {
	if lit, ok := sg.plain(); ok {
		j := strings.Index(s[i:], lit)
		if j < 0 {
			return 0, false
		}
		return i + j + len(lit), true
	}
	for ; i <= len(s); i++ {
		if end, ok := segAt(sg, s, i); ok {
			return end, true
		}
	}
	return 0, false
}

func (p pattern) match(s string) bool {
	n := len(p.segs)
	end, ok := segAt(p.segs[0], s, 0)
	if !ok {
		return false
	}
	if n == 1 {
		return end == len(s)
	}
	pos := end
	for _, sg := range p.segs[1 : n-1] {
		if pos, ok = find(sg, s, pos); !ok {
			return false
		}
	}
	last := p.segs[n-1]
	if lit, ok := last.plain(); ok {
		return len(s)-len(lit) >= pos && strings.HasSuffix(s, lit)
	}
	for st := pos; st <= len(s); st++ {
		if e, ok := segAt(last, s, st); ok && e == len(s) {
			return true
		}
	}
	return false
}

// literal returns the literal of a "*literal*", "literal*", "*literal" or
// "literal" pattern and how it is tested.
func (p pattern) literal() (litKind, string, bool) {
	p.normalize()
	switch {
	case len(p.segs) == 3 && len(p.segs[0]) == 0 && len(p.segs[2]) == 0:
		l, ok := p.segs[1].plain()
		return litContains, l, ok
	case len(p.segs) == 1:
		l, ok := p.segs[0].plain()
		return litEqual, l, ok
	case len(p.segs) == 2 && len(p.segs[1]) == 0 && len(p.segs[0]) > 0:
		l, ok := p.segs[0].plain()
		return litPrefix, l, ok
	case len(p.segs) == 2 && len(p.segs[0]) == 0 && len(p.segs[1]) > 0:
		l, ok := p.segs[1].plain()
		return litSuffix, l, ok
	}
	return 0, "", false
}
