package query

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// astGen generates random syntax trees. With pools set it draws names and
// values from them, so that generated queries hit generated events;
// without, it makes arbitrary names and strings for the printer's
// round-trip property.
type astGen struct {
	r *rand.Rand
	// names, when set, are the field names to draw from.
	names []string
	// value, when set, makes the literal for a field and operator.
	value func(field string, op Op) *Literal
}

func (g *astGen) node(depth int) Node {
	if depth <= 0 || g.r.IntN(3) == 0 {
		return g.compare()
	}
	switch g.r.IntN(5) {
	case 0:
		return &Not{X: g.node(depth - 1)}
	case 1, 2:
		return &Binary{Op: And, X: g.node(depth - 1), Y: g.node(depth - 1)}
	}
	return &Binary{Op: Or, X: g.node(depth - 1), Y: g.node(depth - 1)}
}

var allOps = []Op{OpEq, OpNe, OpLt, OpLe, OpGt, OpGe, OpStartsWith, OpEndsWith, OpContains, OpLike, OpRegex, OpIn}

func (g *astGen) compare() *Compare {
	name := g.name()
	op := allOps[g.r.IntN(len(allOps))]
	c := &Compare{Field: &Ident{Name: name}, Op: op}
	lit := func(op Op) *Literal {
		if g.value != nil {
			return g.value(name, op)
		}
		return g.literal(op)
	}
	if op == OpIn {
		for range 1 + g.r.IntN(4) {
			c.Values = append(c.Values, lit(OpIn))
		}
	} else {
		c.Values = []*Literal{lit(op)}
	}
	return c
}

func (g *astGen) name() string {
	if g.names != nil {
		return g.names[g.r.IntN(len(g.names))]
	}
	switch g.r.IntN(4) {
	case 0:
		return []string{"user", "pid", "event_time", "args", "success", "GrantedAccess", "a.b.c", "@timestamp", "x-y"}[g.r.IntN(9)]
	case 1:
		return []string{"and", "IN", "null", "True", "", "1abc", "a b", "`", "\"", "a\\b", "é.ü", "-x"}[g.r.IntN(12)]
	}
	return g.text()
}

// text is an arbitrary valid UTF-8 string with characters that need care.
func (g *astGen) text() string {
	const special = "'\"`\\%_.-@ \t\n\r\x00\x01\x7f$[]{}()=<>!,~/"
	var b strings.Builder
	for range g.r.IntN(8) {
		switch g.r.IntN(6) {
		case 0:
			b.WriteByte(special[g.r.IntN(len(special))])
		case 1:
			b.WriteRune([]rune("éü日本😀\u2028\ufeff")[g.r.IntN(7)])
		case 2:
			b.WriteRune(rune(0x20 + g.r.IntN(0x5f)))
		default:
			b.WriteByte(byte('a' + g.r.IntN(26)))
		}
	}
	return b.String()
}

func (g *astGen) literal(op Op) *Literal {
	switch n := g.r.IntN(10); {
	case n < 4:
		return &Literal{Kind: LitString, Value: g.text()}
	case n < 7:
		return &Literal{Kind: LitNumber, Value: g.numberText()}
	case n < 8:
		return &Literal{Kind: LitBool, Value: strconv.FormatBool(g.r.IntN(2) == 0)}
	}
	if op == OpEq || op == OpNe || op == OpIn {
		return &Literal{Kind: LitNull, Value: "null"}
	}
	return &Literal{Kind: LitString, Value: g.text()}
}

// numberText is a number as the lexer reads it.
func (g *astGen) numberText() string {
	switch g.r.IntN(6) {
	case 0:
		return strconv.FormatInt(g.r.Int64()>>g.r.IntN(63), 10)
	case 1:
		return strconv.FormatInt(-g.r.Int64N(1000), 10)
	case 2:
		s := "0x" + strconv.FormatUint(g.r.Uint64()>>(1+g.r.IntN(63)), 16)
		if g.r.IntN(2) == 0 {
			s = "-" + s
		}
		return s
	case 3:
		f := (g.r.Float64() - 0.5) * math.Pow(10, float64(g.r.IntN(40)-20))
		return strconv.FormatFloat(f, 'e', g.r.IntN(8), 64)
	case 4:
		f := (g.r.Float64() - 0.5) * math.Pow(10, float64(g.r.IntN(20)-5))
		return strconv.FormatFloat(f, 'f', 1+g.r.IntN(6), 64)
	}
	return strconv.Itoa(g.r.IntN(100))
}
