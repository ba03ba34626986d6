package sigma

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
)

// condition compiles one condition expression: search identifiers with
// and, or, not, parentheses, "1 of pattern", "all of pattern", "1 of them"
// and "all of them". Precedence: not, then and, then or.
func (cp *compiler) condition(s string) (node, error) {
	if i := strings.IndexByte(s, '|'); i >= 0 {
		return nil, errors.New("aggregation conditions (| count() ...) are Sigma v1 and not supported: use a correlation rule")
	}
	p := &condParser{cp: cp, toks: lexCondition(s)}
	n, err := p.or()
	if err != nil {
		return nil, fmt.Errorf("condition %q: %w", s, err)
	}
	if p.i < len(p.toks) {
		return nil, fmt.Errorf("condition %q: unexpected %q", s, p.toks[p.i])
	}
	return n, nil
}

func lexCondition(s string) []string {
	var toks []string
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			toks = append(toks, s[i:i+1])
			i++
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks
}

type condParser struct {
	cp    *compiler
	toks  []string
	i     int
	depth int
}

func (p *condParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *condParser) is(word string) bool { return strings.EqualFold(p.peek(), word) }

func (p *condParser) or() (node, error) {
	n, err := p.and()
	if err != nil {
		return nil, err
	}
	or := orNode{n}
	for p.is("or") {
		p.i++
		m, err := p.and()
		if err != nil {
			return nil, err
		}
		or = append(or, m)
	}
	if len(or) == 1 {
		return n, nil
	}
	return or, nil
}

func (p *condParser) and() (node, error) {
	n, err := p.unary()
	if err != nil {
		return nil, err
	}
	and := andNode{n}
	for p.is("and") {
		p.i++
		m, err := p.unary()
		if err != nil {
			return nil, err
		}
		and = append(and, m)
	}
	if len(and) == 1 {
		return n, nil
	}
	return and, nil
}

func (p *condParser) unary() (node, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > 100 {
		return nil, errors.New("nested too deep")
	}
	t := p.peek()
	switch {
	case t == "":
		return nil, errors.New("unexpected end")
	case strings.EqualFold(t, "not"):
		p.i++
		n, err := p.unary()
		if err != nil {
			return nil, err
		}
		return notNode{n}, nil
	case t == "(":
		p.i++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, errors.New("missing )")
		}
		p.i++
		return n, nil
	case t == ")" || strings.EqualFold(t, "and") || strings.EqualFold(t, "or"):
		return nil, fmt.Errorf("unexpected %q", t)
	case (t == "1" || strings.EqualFold(t, "all") || strings.EqualFold(t, "any")) && p.i+1 < len(p.toks) && strings.EqualFold(p.toks[p.i+1], "of"):
		all := strings.EqualFold(t, "all")
		p.i += 2
		pat := p.peek()
		if pat == "" || pat == "(" || pat == ")" {
			return nil, fmt.Errorf("%s of: want a pattern or them", t)
		}
		p.i++
		return p.quantifier(all, pat)
	case strings.EqualFold(t, "of"):
		return nil, errors.New("only 1 of and all of are supported")
	}
	p.i++
	return p.cp.search(t)
}

func (p *condParser) quantifier(all bool, pat string) (node, error) {
	var names []string
	for name := range p.cp.rule.Detection.Searches {
		if pat == "them" {
			if !strings.HasPrefix(name, "_") {
				names = append(names, name)
			}
			continue
		}
		if ok, err := path.Match(pat, name); err != nil {
			return nil, fmt.Errorf("pattern %q: %w", pat, err)
		} else if ok {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%q matches no search identifier", pat)
	}
	slices.Sort(names)
	var kids []node
	for _, n := range names {
		k, err := p.cp.search(n)
		if err != nil {
			return nil, err
		}
		kids = append(kids, k)
	}
	if len(kids) == 1 {
		return kids[0], nil
	}
	if all {
		return andNode(kids), nil
	}
	return orNode(kids), nil
}
