package query

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxQueryLen bounds the length of a query in bytes.
const MaxQueryLen = 64 << 10

// Lex splits a query into tokens, ending with one TokEOF token.
func Lex(src string) ([]Token, error) { return lex(src, MaxQueryLen) }

func lex(src string, maxLen int) ([]Token, error) {
	l := lexer{src: src, pLine: 1, pCol: 1}
	if len(src) > maxLen {
		return nil, l.errorf(maxLen, "the query is longer than %d bytes", maxLen)
	}
	if !utf8.ValidString(src) {
		i := 0
		for i < len(src) {
			r, size := utf8.DecodeRuneInString(src[i:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			i += size
		}
		return nil, l.errorf(i, "invalid UTF-8 in the query")
	}
	var toks []Token
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		if t.Kind == TokEOF {
			return toks, nil
		}
	}
}

type lexer struct {
	src string
	off int
	// The last computed position: positions are computed incrementally
	// because tokens come in order.
	pOff, pLine, pCol int
}

func (l *lexer) pos(off int) Pos {
	if off < l.pOff {
		l.pOff, l.pLine, l.pCol = 0, 1, 1
	}
	for l.pOff < off {
		r, size := utf8.DecodeRuneInString(l.src[l.pOff:])
		if r == '\n' {
			l.pLine++
			l.pCol = 1
		} else {
			l.pCol++
		}
		l.pOff += size
	}
	return Pos{Offset: off, Line: l.pLine, Col: l.pCol}
}

func (l *lexer) errorf(off int, format string, args ...any) *Error {
	return &Error{Pos: l.pos(off), Msg: fmt.Sprintf(format, args...), Src: l.src}
}

func (l *lexer) expected(off int, expected, found string) *Error {
	return &Error{Pos: l.pos(off), Expected: expected, Found: found, Src: l.src}
}

func (l *lexer) tok(kind TokenKind, start int) Token {
	text := l.src[start:l.off]
	return Token{Kind: kind, Pos: l.pos(start), Text: text, Value: text}
}

func isIdentStart(r rune) bool {
	return r == '_' || r == '@' || unicode.IsLetter(r)
}

func isIdentChar(r rune) bool {
	return isIdentStart(r) || r == '.' || r == '-' || unicode.IsDigit(r)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHex(c byte) bool { return isDigit(c) || 'a' <= c|0x20 && c|0x20 <= 'f' }

func (l *lexer) next() (Token, error) {
	for l.off < len(l.src) {
		r, size := utf8.DecodeRuneInString(l.src[l.off:])
		if !unicode.IsSpace(r) {
			break
		}
		l.off += size
	}
	start := l.off
	if l.off >= len(l.src) {
		return l.tok(TokEOF, start), nil
	}
	c := l.src[l.off]
	two := func(kind1, kind2 TokenKind) Token {
		if l.off+1 < len(l.src) && l.src[l.off+1] == '=' {
			l.off += 2
			return l.tok(kind2, start)
		}
		l.off++
		return l.tok(kind1, start)
	}
	switch {
	case c == '(':
		l.off++
		return l.tok(TokLParen, start), nil
	case c == ')':
		l.off++
		return l.tok(TokRParen, start), nil
	case c == ',':
		l.off++
		return l.tok(TokComma, start), nil
	case c == '=':
		l.off++
		return l.tok(TokEq, start), nil
	case c == '!':
		if l.off+1 < len(l.src) && l.src[l.off+1] == '=' {
			l.off += 2
			return l.tok(TokNe, start), nil
		}
		return Token{}, l.expected(start, `"!="`, `"!"`)
	case c == '<':
		return two(TokLt, TokLe), nil
	case c == '>':
		return two(TokGt, TokGe), nil
	case c == '\'' || c == '"':
		v, err := l.quoted(c)
		if err != nil {
			return Token{}, err
		}
		t := l.tok(TokString, start)
		t.Value = v
		return t, nil
	case c == '`':
		v, err := l.quoted(c)
		if err != nil {
			return Token{}, err
		}
		t := l.tok(TokIdent, start)
		t.Value = v
		return t, nil
	case isDigit(c) || c == '-' && l.off+1 < len(l.src) && isDigit(l.src[l.off+1]):
		return l.number()
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.off:])
	if isIdentStart(r) {
		for l.off < len(l.src) {
			r, size := utf8.DecodeRuneInString(l.src[l.off:])
			if !isIdentChar(r) {
				break
			}
			l.off += size
		}
		t := l.tok(TokIdent, start)
		t.Kind = keyword(t.Text)
		return t, nil
	}
	return Token{}, l.expected(start, "a field name, value, operator or parenthesis", "unexpected character "+strconv.QuoteRune(r))
}

// number scans -?(0x[0-9a-f]+ | [0-9]+(.[0-9]+)?(e[+-]?[0-9]+)?); a number
// running into identifier characters (12abc, 1.2.3) is malformed.
func (l *lexer) number() (Token, error) {
	start := l.off
	s := l.src
	i := l.off
	if s[i] == '-' {
		i++
	}
	digits := func() {
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if s[i] == '0' && i+2 < len(s) && s[i+1]|0x20 == 'x' && isHex(s[i+2]) {
		i += 2
		for i < len(s) && isHex(s[i]) {
			i++
		}
	} else {
		digits()
		if i+1 < len(s) && s[i] == '.' && isDigit(s[i+1]) {
			i++
			digits()
		}
		if i < len(s) && s[i]|0x20 == 'e' {
			j := i + 1
			if j < len(s) && (s[j] == '+' || s[j] == '-') {
				j++
			}
			if j < len(s) && isDigit(s[j]) {
				i = j
				digits()
			}
		}
	}
	l.off = i
	if r, _ := utf8.DecodeRuneInString(s[i:]); i < len(s) && isIdentChar(r) {
		for l.off < len(s) {
			r, size := utf8.DecodeRuneInString(s[l.off:])
			if !isIdentChar(r) {
				break
			}
			l.off += size
		}
		return Token{}, l.expected(start, "a number", "malformed number "+clip(s[start:l.off]))
	}
	return l.tok(TokNumber, start), nil
}

// quoted scans a string or backquoted name opened by q at l.off and returns
// its decoded value. Escapes: \\ \' \" \` \n \r \t \uXXXX; a backslash
// before any other character is kept as is, so regexes ('\d') and LIKE
// escapes ('100\%') read naturally.
func (l *lexer) quoted(q byte) (string, error) {
	start := l.off
	s := l.src
	i := start + 1
	var b *strings.Builder
	lit := i // start of the pending unescaped run
	for i < len(s) {
		c := s[i]
		if c == q {
			l.off = i + 1
			if b == nil {
				return s[start+1 : i], nil
			}
			b.WriteString(s[lit:i])
			return b.String(), nil
		}
		if c != '\\' {
			i++
			continue
		}
		if i+1 >= len(s) {
			break
		}
		if b == nil {
			b = &strings.Builder{}
		}
		b.WriteString(s[lit:i])
		switch e := s[i+1]; e {
		case '\\', '\'', '"', '`':
			b.WriteByte(e)
			i += 2
		case 'n':
			b.WriteByte('\n')
			i += 2
		case 'r':
			b.WriteByte('\r')
			i += 2
		case 't':
			b.WriteByte('\t')
			i += 2
		case 'u':
			r, n, ok := unquoteU(s[i:])
			if !ok {
				return "", l.expected(i, `four hex digits after \u (a surrogate pair for characters beyond U+FFFF)`, clip(s[i:min(i+12, len(s))]))
			}
			b.WriteRune(r)
			i += n
		default:
			b.WriteByte('\\')
			i++
		}
		lit = i
	}
	what := "the string"
	if q == '`' {
		what = "the field name"
	}
	return "", l.expected(start, string(q)+" to close "+what+" that starts here", "end of input")
}

// unquoteU decodes \uXXXX (or a \uXXXX\uXXXX surrogate pair) at the start
// of s, returning the rune and the bytes consumed.
func unquoteU(s string) (rune, int, bool) {
	hex4 := func(s string) (rune, bool) {
		if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
			return 0, false
		}
		v, err := strconv.ParseUint(s[2:6], 16, 32)
		return rune(v), err == nil
	}
	r, ok := hex4(s)
	if !ok {
		return 0, 0, false
	}
	if r < 0xD800 || r > 0xDFFF {
		return r, 6, true
	}
	if r >= 0xDC00 {
		return 0, 0, false
	}
	lo, ok := hex4(s[6:])
	if !ok || lo < 0xDC00 || lo > 0xDFFF {
		return 0, 0, false
	}
	return 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00), 12, true
}
