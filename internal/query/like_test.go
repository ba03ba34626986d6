package query

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// likeRegexp is a reference implementation of LIKE through regexp.
func likeRegexp(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		case '\\':
			i++
			fallthrough
		default:
			j := i + 1
			for j < len(p) && p[j]&0xC0 == 0x80 {
				j++
			}
			b.WriteString(regexp.QuoteMeta(p[i:j]))
			i = j - 1
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func TestLike(t *testing.T) {
	f := func(pattern, s string, want bool) {
		t.Helper()
		p, err := compileLike(pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.match(s); got != want {
			t.Errorf("%q like %q = %v, want %v", s, pattern, got, want)
		}
	}
	f("", "", true)
	f("", "a", false)
	f("%", "", true)
	f("_", "", false)
	f("_", "é", true)
	f("_", "😀", true)
	f("__", "😀", false)
	f("a%", "abc", true)
	f("%c", "abc", true)
	f("%b%", "abc", true)
	f("a_c", "abc", true)
	f("a_c", "a\nc", true)
	f("a%c%e", "abcde", true)
	f("a%c%e", "abcdf", false)
	f("%a_a%", "xxaaxx", false)
	f("%a_a%", "xxaxaxx", true)
	f("%_a", "a", false)
	f("%_a", "ba", true)
	f(`100\%`, "100%", true)
	f(`100\%`, "1000", false)
	f(`a\_b`, "a_b", true)
	f(`a\_b`, "axb", false)
	f(`a\\b`, `a\b`, true)
	f(`a\b`, "ab", true)
	f(`\é`, "é", true)
	f("%aab", "aaab", true)
	f("%ab%ab", "abab", true)
	f("%ab%ab", "abxab", true)
	f("%ab%ab", "ab", false)
	f("_%_", "ab", true)
	f("_%_", "é", false)
	if _, err := compileLike(`abc\`); err == nil {
		t.Error("a trailing escape compiles")
	}

	// Against the reference, on random patterns and strings over a small
	// alphabet, so that they match often.
	r := rand.New(rand.NewPCG(5, 6))
	alpha := []string{"a", "b", "é", "😀", "%", "_", `\`, "\n"}
	gen := func(n int) string {
		var b strings.Builder
		for range r.IntN(n) {
			b.WriteString(alpha[r.IntN(len(alpha))])
		}
		return b.String()
	}
	hits := 0
	for range 20000 {
		pat, s := gen(7), gen(9)
		p, err := compileLike(pat)
		if err != nil {
			continue
		}
		want := likeRegexp(pat).MatchString(s)
		if want {
			hits++
		}
		if got := p.match(s); got != want {
			t.Fatalf("%q like %q = %v, reference says %v", s, pat, got, want)
		}
	}
	if hits < 500 {
		t.Errorf("only %d random matches", hits)
	}
}
