package query

import "strconv"

// MaxDepth bounds the nesting of parentheses and NOT in a query.
const MaxDepth = 100

// logicOps is the one precedence table of the binary operators; NOT binds
// tighter than all of them, comparisons tighter still.
var logicOps = [...]struct {
	tok  TokenKind
	op   LogicOp
	prec int
}{
	{TokOr, Or, 1},
	{TokAnd, And, 2},
}

const (
	precNot  = 3
	precAtom = 4
)

func precOf(op LogicOp) int {
	for _, o := range logicOps {
		if o.op == op {
			return o.prec
		}
	}
	return 0
}

var compareOps = map[TokenKind]Op{
	TokEq:         OpEq,
	TokNe:         OpNe,
	TokLt:         OpLt,
	TokLe:         OpLe,
	TokGt:         OpGt,
	TokGe:         OpGe,
	TokStartsWith: OpStartsWith,
	TokEndsWith:   OpEndsWith,
	TokContains:   OpContains,
	TokLike:       OpLike,
	TokRegex:      OpRegex,
	TokIn:         OpIn,
}

// Parse parses a query into its syntax tree. Errors are *Error.
func Parse(src string) (Node, error) { return parse(src, MaxQueryLen) }

// parse parses with a length limit; tests reparse printed queries, which
// may be longer than their source, without the limit.
func parse(src string, maxLen int) (Node, error) {
	toks, err := lex(src, maxLen)
	if err != nil {
		return nil, err
	}
	p := parser{src: src, toks: toks}
	return p.run()
}

type parser struct {
	src   string
	toks  []Token
	i     int
	depth int
}

type bailout struct{ err *Error }

func (p *parser) run() (n Node, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bailout)
			if !ok {
				panic(r)
			}
			n, err = nil, b.err
		}
	}()
	n = p.expr(1)
	if t := p.peek(); t.Kind != TokEOF {
		p.fail(t, "AND, OR or end of input")
	}
	return n, nil
}

func (p *parser) peek() Token { return p.toks[p.i] }

func (p *parser) next() Token {
	t := p.toks[p.i]
	if t.Kind != TokEOF {
		p.i++
	}
	return t
}

func (p *parser) fail(t Token, expected string) {
	panic(bailout{&Error{Pos: t.Pos, Expected: expected, Found: t.describe(), Src: p.src}})
}

// after names the previous token for messages: ` after "="`.
func (p *parser) after() string {
	if p.i == 0 {
		return ""
	}
	prev := p.toks[p.i-1]
	if prev.Kind >= TokAnd || prev.Kind >= TokEq && prev.Kind <= TokGe || prev.Kind == TokLParen || prev.Kind == TokComma {
		return " after " + prev.describe()
	}
	return ""
}

// expr parses operands joined by operators of precedence >= minPrec
// (precedence climbing; operators of equal precedence associate left).
func (p *parser) expr(minPrec int) Node {
	x := p.unary()
	for {
		t := p.peek()
		found := false
		for _, o := range logicOps {
			if o.tok == t.Kind && o.prec >= minPrec {
				p.next()
				y := p.expr(o.prec + 1)
				x = &Binary{Op: o.op, OpPos: t.Pos, X: x, Y: y}
				found = true
				break
			}
		}
		if !found {
			return x
		}
	}
}

func (p *parser) enter(t Token) {
	p.depth++
	if p.depth > MaxDepth {
		panic(bailout{&Error{Pos: t.Pos, Msg: "the query nests parentheses and NOT deeper than " + strconv.Itoa(MaxDepth) + " levels", Src: p.src}})
	}
}

func (p *parser) unary() Node {
	t := p.peek()
	switch t.Kind {
	case TokNot:
		p.enter(t)
		p.next()
		x := p.unary()
		p.depth--
		return &Not{NotPos: t.Pos, X: x}
	case TokLParen:
		p.enter(t)
		p.next()
		x := p.expr(1)
		if c := p.peek(); c.Kind != TokRParen {
			p.fail(c, `AND, OR or ")"`)
		}
		p.next()
		p.depth--
		return x
	case TokIdent:
		return p.compare()
	}
	p.fail(t, `a field name, NOT or "("`+p.after())
	return nil
}

func (p *parser) compare() Node {
	f := p.next()
	field := &Ident{Name: f.Value, NamePos: f.Pos}
	t := p.next()
	op, ok := compareOps[t.Kind]
	if !ok {
		p.fail(t, "an operator after "+f.describe()+" (=, !=, <, <=, >, >=, starts_with, ends_with, contains, like, regex, in)")
	}
	c := &Compare{Field: field, Op: op, OpPos: t.Pos}
	if op != OpIn {
		vt := p.peek()
		v := p.value()
		if v.Kind == LitNull && op != OpEq && op != OpNe {
			p.fail(vt, "a value other than null after "+t.describe()+" (null compares only with = and !=)")
		}
		c.Values = []*Literal{v}
		return c
	}
	if l := p.peek(); l.Kind != TokLParen {
		p.fail(l, `"(" after IN`)
	}
	p.next()
	for {
		c.Values = append(c.Values, p.value())
		switch t := p.peek(); t.Kind {
		case TokRParen:
			p.next()
			return c
		case TokComma:
			p.next()
		default:
			p.fail(t, `"," or ")" in the IN list`)
		}
	}
}

func (p *parser) value() *Literal {
	after := p.after()
	t := p.peek()
	lit := &Literal{ValuePos: t.Pos, Value: t.Value}
	switch t.Kind {
	case TokString:
		lit.Kind = LitString
	case TokNumber:
		if _, ok := parseNumber(t.Text); !ok {
			panic(bailout{&Error{Pos: t.Pos, Msg: "number " + clip(t.Text) + " is out of range", Src: p.src}})
		}
		lit.Kind = LitNumber
	case TokTrue:
		lit.Kind, lit.Value = LitBool, "true"
	case TokFalse:
		lit.Kind, lit.Value = LitBool, "false"
	case TokNull:
		lit.Kind, lit.Value = LitNull, "null"
	case TokIdent:
		p.fail(t, "a value"+after+" (quote text: '"+clip(t.Value)+"')")
	default:
		p.fail(t, "a value"+after)
	}
	p.next()
	return lit
}
