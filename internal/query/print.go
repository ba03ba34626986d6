package query

import (
	"strings"
	"unicode/utf8"
)

// Print renders a tree as query text that parses back to an equal tree:
// keywords in upper case, text operators in lower case, strings in double
// quotes, parentheses only where precedence needs them.
func Print(n Node) string {
	var b strings.Builder
	printNode(&b, n, 0)
	return b.String()
}

func precOfNode(n Node) int {
	switch n := n.(type) {
	case *Binary:
		return precOf(n.Op)
	case *Not:
		return precNot
	}
	return precAtom
}

func printNode(b *strings.Builder, n Node, minPrec int) {
	paren := precOfNode(n) < minPrec
	if paren {
		b.WriteByte('(')
	}
	switch n := n.(type) {
	case *Binary:
		p := precOf(n.Op)
		printNode(b, n.X, p)
		b.WriteByte(' ')
		b.WriteString(n.Op.String())
		b.WriteByte(' ')
		// Operators associate left, so a right operand of the same
		// precedence needs parentheses.
		printNode(b, n.Y, p+1)
	case *Not:
		b.WriteString("NOT ")
		printNode(b, n.X, precNot)
	case *Compare:
		printIdent(b, n.Field.Name)
		b.WriteByte(' ')
		if n.Op == OpIn {
			b.WriteString("IN (")
			for i, v := range n.Values {
				if i > 0 {
					b.WriteString(", ")
				}
				printLiteral(b, v)
			}
			b.WriteByte(')')
			break
		}
		b.WriteString(n.Op.String())
		b.WriteByte(' ')
		if len(n.Values) > 0 {
			printLiteral(b, n.Values[0])
		}
	case *Ident:
		printIdent(b, n.Name)
	case *Literal:
		printLiteral(b, n)
	}
	if paren {
		b.WriteByte(')')
	}
}

// bareIdent reports whether a field name prints without backquotes.
func bareIdent(name string) bool {
	for i, r := range name {
		if i == 0 && !isIdentStart(r) || !isIdentChar(r) {
			return false
		}
	}
	return name != "" && keyword(name) == TokIdent
}

func printIdent(b *strings.Builder, name string) {
	if bareIdent(name) {
		b.WriteString(name)
		return
	}
	printQuoted(b, name, '`')
}

func printLiteral(b *strings.Builder, l *Literal) {
	if l.Kind == LitString {
		printQuoted(b, l.Value, '"')
		return
	}
	b.WriteString(l.Value)
}

const lowerHex = "0123456789abcdef"

// printQuoted writes s between quotes q, escaping what the lexer unescapes.
func printQuoted(b *strings.Builder, s string, q byte) {
	b.WriteByte(q)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == q || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			b.WriteString(`\u00`)
			b.WriteByte(lowerHex[c>>4])
			b.WriteByte(lowerHex[c&0xf])
		case c < utf8.RuneSelf:
			b.WriteByte(c)
		default:
			_, size := utf8.DecodeRuneInString(s[i:])
			b.WriteString(s[i : i+size])
			i += size
			continue
		}
		i++
	}
	b.WriteByte(q)
}
