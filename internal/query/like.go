package query

import (
	"errors"
	"strings"
	"unicode/utf8"
)

// likePattern is a compiled LIKE pattern: % matches any run of characters,
// _ one character (code point), and a backslash makes the next character
// literal, as DuckDB's `LIKE ? ESCAPE '\'` does. Matching is
// case-sensitive.
type likePattern struct {
	kind likeKind
	lit  string    // exact, prefix, suffix, contains
	segs []likeSeg // general: the runs between %s
}

type likeKind uint8

const (
	likeExact likeKind = iota
	likePrefix
	likeSuffix
	likeContains
	likeGeneral
)

// likeSeg is a run of literal text and _ wildcards.
type likeSeg []likeItem

type likeItem struct {
	lit  string // literal text, or "" for _
	runs int    // runes in lit, 1 for _
}

func compileLike(pattern string) (*likePattern, error) {
	var segs []likeSeg
	var seg likeSeg
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			s := lit.String()
			seg = append(seg, likeItem{lit: s, runs: utf8.RuneCountInString(s)})
			lit.Reset()
		}
	}
	for i := 0; i < len(pattern); {
		c := pattern[i]
		switch c {
		case '\\':
			if i+1 >= len(pattern) {
				return nil, errors.New("it ends with the escape character \\ (write \\\\ for a backslash)")
			}
			_, size := utf8.DecodeRuneInString(pattern[i+1:])
			lit.WriteString(pattern[i+1 : i+1+size])
			i += 1 + size
		case '%':
			flush()
			segs = append(segs, seg)
			seg = nil
			i++
		case '_':
			flush()
			seg = append(seg, likeItem{runs: 1})
			i++
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	segs = append(segs, seg)

	simple := func(s likeSeg) (string, bool) {
		switch len(s) {
		case 0:
			return "", true
		case 1:
			return s[0].lit, s[0].lit != ""
		}
		return "", false
	}
	p := &likePattern{kind: likeGeneral, segs: segs}
	switch len(segs) {
	case 1:
		if s, ok := simple(segs[0]); ok {
			p.kind, p.lit = likeExact, s
		}
	case 2:
		a, okA := simple(segs[0])
		b, okB := simple(segs[1])
		switch {
		case okA && okB && b == "":
			p.kind, p.lit = likePrefix, a
		case okA && okB && a == "":
			p.kind, p.lit = likeSuffix, b
		}
	case 3:
		a, okA := simple(segs[0])
		b, okB := simple(segs[1])
		c, okC := simple(segs[2])
		if okA && okB && okC && a == "" && c == "" {
			p.kind, p.lit = likeContains, b
		}
	}
	return p, nil
}

func (p *likePattern) match(s string) bool {
	switch p.kind {
	case likeExact:
		return s == p.lit
	case likePrefix:
		return strings.HasPrefix(s, p.lit)
	case likeSuffix:
		return strings.HasSuffix(s, p.lit)
	case likeContains:
		return strings.Contains(s, p.lit)
	}
	segs := p.segs
	if len(segs) == 1 {
		return segs[0].matchAt(s, 0) == len(s)
	}
	pos := segs[0].matchAt(s, 0)
	if pos < 0 {
		return false
	}
	// Between %s the leftmost match of each run is as good as any: a run
	// matches at a given place in at most one way.
	for _, seg := range segs[1 : len(segs)-1] {
		if pos = seg.find(s, pos); pos < 0 {
			return false
		}
	}
	last := segs[len(segs)-1]
	if len(last) == 0 {
		return true
	}
	n := 0
	for _, it := range last {
		n += it.runs
	}
	start := len(s)
	for ; n > 0; n-- {
		if start <= pos {
			return false
		}
		_, size := utf8.DecodeLastRuneInString(s[:start])
		start -= size
	}
	return start >= pos && last.matchAt(s, start) == len(s)
}

// matchAt matches the run at s[p:] and returns where it ends, or -1.
func (seg likeSeg) matchAt(s string, p int) int {
	for _, it := range seg {
		if it.lit == "" {
			if p >= len(s) {
				return -1
			}
			_, size := utf8.DecodeRuneInString(s[p:])
			p += size
			continue
		}
		if !strings.HasPrefix(s[p:], it.lit) {
			return -1
		}
		p += len(it.lit)
	}
	return p
}

// find returns the end of the leftmost match of the run in s[from:], or -1.
func (seg likeSeg) find(s string, from int) int {
	if len(seg) == 0 {
		return from
	}
	for p := from; p <= len(s); {
		if seg[0].lit != "" {
			i := strings.Index(s[p:], seg[0].lit)
			if i < 0 {
				return -1
			}
			p += i
		}
		if end := seg.matchAt(s, p); end >= 0 {
			return end
		}
		if p == len(s) {
			break
		}
		_, size := utf8.DecodeRuneInString(s[p:])
		p += size
	}
	return -1
}
