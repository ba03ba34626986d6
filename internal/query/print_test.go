package query

import (
	"math/rand/v2"
	"testing"
)

// TestPrintRoundTrip: Print(n) parses back to a tree equal to n, for the
// seed queries and for thousands of generated trees.
func TestPrintRoundTrip(t *testing.T) {
	check := func(n Node) {
		t.Helper()
		q := Print(n)
		m, err := Parse(q)
		if err != nil {
			t.Fatalf("Parse(Print(n)) = %v\nprinted: %s", err, q)
		}
		if !Equal(n, m) {
			t.Fatalf("round trip changed the tree\nprinted:  %s\nreprinted: %s", q, Print(m))
		}
		if q2 := Print(m); q2 != q {
			t.Fatalf("printing is not stable:\n%s\n%s", q, q2)
		}
	}
	for _, q := range seedQueries {
		n, err := Parse(q)
		if err != nil {
			t.Fatalf("Parse(%q): %v", q, err)
		}
		check(n)
	}
	g := astGen{r: rand.New(rand.NewPCG(1, 2))}
	for range 20000 {
		check(g.node(5))
	}
}

func TestEqualIgnoresPositions(t *testing.T) {
	a, _ := Parse(`a = 1 AND (b = 'x' OR NOT c IN (1, null))`)
	b, _ := Parse("  a=1   and (b=\"x\" or not c in(1,null))")
	c, _ := Parse(`a = 1 AND (b = 'x' OR NOT c IN (1, 2))`)
	if !Equal(a, b) {
		t.Error("trees differing only in positions are not Equal")
	}
	if Equal(a, c) {
		t.Error("different trees are Equal")
	}
}

func TestWalk(t *testing.T) {
	n, _ := Parse(`a = 1 AND NOT (b IN ('x', 'y') OR a = 2)`)
	var kinds []string
	Inspect(n, func(n Node) bool {
		switch n := n.(type) {
		case *Binary:
			kinds = append(kinds, n.Op.String())
		case *Not:
			kinds = append(kinds, "NOT")
		case *Compare:
			kinds = append(kinds, "cmp")
		case *Ident:
			kinds = append(kinds, n.Name)
		case *Literal:
			kinds = append(kinds, n.Value)
		}
		return true
	})
	got := fmtList(kinds)
	want := "AND cmp a 1 NOT OR cmp b x y cmp a 2"
	if got != want {
		t.Errorf("walk order %q, want %q", got, want)
	}
	if f := fmtList(Fields(n)); f != "a b" {
		t.Errorf("Fields = %q", f)
	}
}

func fmtList(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}
