package docscheck

import (
	"fmt"
	"regexp"
	"strings"
)

// Elision is a shown-output line that stands for any number of lines
// (none too); inside a line it stands for any text.
const Elision = "..."

// numberPattern is what <N> matches: one number as spoor prints them
// (1,324,904; 13.9; -2), units and suffixes written around it.
const numberPattern = `-?[0-9][0-9,]*(?:\.[0-9]+)?`

// Match checks got, a command's output, against want, the lines the
// document shows. Lines compare after trimming and collapsing runs of
// blanks to one space, so table padding may differ; "..." alone on a
// line skips any number of lines, "..." inside a line any text, and <N>
// matches one number. Everything else must be equal.
func Match(want []string, got string) error {
	g := strings.Split(strings.TrimRight(got, "\n"), "\n")
	if strings.TrimSpace(got) == "" {
		g = nil
	}
	for i := range g {
		g[i] = normalize(g[i])
	}
	pats := make([]*regexp.Regexp, len(want))
	for i, w := range want {
		if w = normalize(w); w != Elision {
			pats[i] = linePattern(w)
		}
	}
	// best is the furthest want line any attempt matched, for the message.
	best := 0
	var match func(wi, gi int) bool
	match = func(wi, gi int) bool {
		best = max(best, wi)
		if wi == len(want) {
			return gi == len(g)
		}
		if pats[wi] == nil {
			for k := gi; k <= len(g); k++ {
				if match(wi+1, k) {
					return true
				}
			}
			return false
		}
		return gi < len(g) && pats[wi].MatchString(g[gi]) && match(wi+1, gi+1)
	}
	if match(0, 0) {
		return nil
	}
	if best == len(want) {
		return fmt.Errorf("the output goes on after the last shown line (end the shown output with #> ... if that is meant)")
	}
	return fmt.Errorf("no output line matches shown line %d: %q", best+1, want[best])
}

var elisionBlanks = regexp.MustCompile(` ?\.\.\. ?`)

func normalize(line string) string { return strings.Join(strings.Fields(line), " ") }

// linePattern compiles a normalized shown line into an anchored regexp.
func linePattern(w string) *regexp.Regexp {
	// The blanks around an elision belong to it: "a ... b" matches "a b".
	w = elisionBlanks.ReplaceAllString(w, Elision)
	// A regexp takes only UTF-8; Parse refuses other text, and a caller's
	// stray byte is matched as the replacement character.
	w = strings.ToValidUTF8(w, "\uFFFD")
	var b strings.Builder
	b.WriteString("^")
	for w != "" {
		e, n := strings.Index(w, Elision), strings.Index(w, "<N>")
		switch {
		case e < 0 && n < 0:
			b.WriteString(regexp.QuoteMeta(w))
			w = ""
		case n < 0 || (e >= 0 && e < n):
			b.WriteString(regexp.QuoteMeta(w[:e]) + ".*?")
			w = w[e+len(Elision):]
		default:
			b.WriteString(regexp.QuoteMeta(w[:n]) + numberPattern)
			w = w[n+len("<N>"):]
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}
