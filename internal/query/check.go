package query

import (
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spoor-dev/spoor/internal/event"
)

// The checker resolves field names, checks operators against field kinds
// and converts literals once, into a small tree both compilers translate.
// Every compile error comes from here, so ToSQL and Compile accept and
// reject exactly the same queries.

// target is what a comparison reads: a typed column, or a key of the raw
// JSON object.
type target struct {
	name  string // as written in the query
	typed bool
	field event.Field
	// path is set for raw names with dots: the nested path read when the
	// raw object has no top-level key of the whole name.
	path []string
}

func resolve(name string) *target {
	if f, ok := event.Lookup(name); ok {
		return &target{name: name, typed: true, field: f}
	}
	t := &target{name: name}
	if strings.Contains(name, ".") {
		t.path = strings.Split(name, ".")
	}
	return t
}

// kindName describes the target for messages.
func (t *target) kindName() string {
	if t.typed {
		return t.field.Kind.String() + " field " + t.name
	}
	return "field " + t.name
}

type cexpr interface{ cexpr() }

// cLogic is an AND or OR of two or more operands; nested operators of the
// same kind are flattened into one.
type cLogic struct {
	op LogicOp
	xs []cexpr
}

type cNot struct{ x cexpr }

// cNull holds when the target is missing or JSON null.
type cNull struct{ t *target }

// cCmp holds when `t op v` holds for any v of vals (one value, or the
// values of an IN list with op OpEq). op is never OpIn.
type cCmp struct {
	t    *target
	op   Op
	vals []cval
}

func (*cLogic) cexpr() {}
func (*cNot) cexpr()   {}
func (*cNull) cexpr()  {}
func (*cCmp) cexpr()   {}

// cval is a literal converted for its target.
type cval struct {
	// text is the literal's text form: a string's value, a number as
	// written, true or false. Text operators and text comparisons use it.
	text string
	// num says the literal is numeric (a number, or for int and raw fields
	// a string that reads as one); isInt says it is an int64 i, otherwise
	// it is the float64 f. For ints, f is float64(i).
	num   bool
	isInt bool
	i     int64
	f     float64
	b     bool  // bool fields
	us    int64 // time fields: epoch microseconds
	like  *likePattern
	re    *regexp.Regexp
}

func check(n Node) (cexpr, error) {
	switch n := n.(type) {
	case *Binary:
		l := &cLogic{op: n.Op}
		if err := l.collect(n); err != nil {
			return nil, err
		}
		return l, nil
	case *Not:
		x, err := check(n.X)
		if err != nil {
			return nil, err
		}
		return &cNot{x}, nil
	case *Compare:
		return checkCompare(n)
	case nil:
		return nil, &Error{Msg: "empty query"}
	}
	return nil, &Error{Pos: n.Pos(), Msg: "not a query: " + Print(n)}
}

// collect appends the operands of a chain of l.op operators, flattened.
func (l *cLogic) collect(n Node) error {
	if b, ok := n.(*Binary); ok && b.Op == l.op {
		if err := l.collect(b.X); err != nil {
			return err
		}
		return l.collect(b.Y)
	}
	c, err := check(n)
	if err != nil {
		return err
	}
	l.xs = append(l.xs, c)
	return nil
}

func checkCompare(c *Compare) (cexpr, error) {
	if c.Field == nil {
		return nil, &Error{Pos: c.OpPos, Msg: "comparison without a field"}
	}
	t := resolve(c.Field.Name)
	if len(c.Values) == 0 || c.Op != OpIn && len(c.Values) != 1 {
		return nil, &Error{Pos: c.OpPos, Msg: "operator " + c.Op.String() + " with " + strconv.Itoa(len(c.Values)) + " values"}
	}
	if c.Op == OpIn {
		var vals []cval
		null := false
		for _, l := range c.Values {
			if l.Kind == LitNull {
				null = true
				continue
			}
			v, err := convert(t, OpEq, c.OpPos, l)
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
		}
		var x cexpr
		if len(vals) > 0 {
			x = &cCmp{t: t, op: OpEq, vals: vals}
		}
		if null {
			if x == nil {
				return &cNull{t}, nil
			}
			return &cLogic{op: Or, xs: []cexpr{&cNull{t}, x}}, nil
		}
		return x, nil
	}
	if l := c.Values[0]; l.Kind == LitNull {
		switch c.Op {
		case OpEq:
			return &cNull{t}, nil
		case OpNe:
			return &cNot{&cNull{t}}, nil
		}
		return nil, &Error{Pos: l.ValuePos, Expected: "a value other than null after " + c.Op.String() + " (null compares only with = and !=)", Found: "null"}
	}
	if c.Op < OpEq || c.Op > OpRegex {
		return nil, &Error{Pos: c.OpPos, Msg: "unknown operator"}
	}
	v, err := convert(t, c.Op, c.OpPos, c.Values[0])
	if err != nil {
		return nil, err
	}
	return &cCmp{t: t, op: c.Op, vals: []cval{v}}, nil
}

func describeLit(l *Literal) string {
	var b strings.Builder
	printLiteral(&b, l)
	if l.Kind == LitString || l.Kind == LitNumber {
		return l.Kind.String() + " " + clip(b.String())
	}
	return b.String()
}

// convert checks literal l against target t under op and converts it.
func convert(t *target, op Op, opPos Pos, l *Literal) (cval, error) {
	mismatch := func(expected string) (cval, error) {
		return cval{}, &Error{Pos: l.ValuePos, Expected: expected, Found: describeLit(l)}
	}
	v := cval{text: l.Value}
	switch l.Kind {
	case LitString, LitNumber, LitBool:
	default:
		return mismatch("a string, number or bool")
	}
	if l.Kind == LitNumber {
		if _, ok := parseNumber(l.Value); !ok {
			return mismatch("a number within range")
		}
	}
	if op.textOp() {
		if t.typed && t.field.Kind == event.KindTime {
			return cval{}, &Error{Pos: opPos, Msg: op.String() + " does not apply to " + t.kindName() + "; compare it with = != < <= > >="}
		}
		switch op {
		case OpLike:
			p, err := compileLike(v.text)
			if err != nil {
				return cval{}, &Error{Pos: l.ValuePos, Msg: "bad like pattern: " + err.Error()}
			}
			v.like = p
		case OpRegex:
			re, err := regexp.Compile(v.text)
			if err != nil {
				return cval{}, &Error{Pos: l.ValuePos, Msg: "bad regex: " + strings.TrimPrefix(err.Error(), "error parsing regexp: ")}
			}
			if strings.Contains(v.text, "(?<") && len(re.SubexpNames()) > 1 && hasNamedGroup(re) {
				// Go reads (?<name>x); DuckDB's RE2 reads only (?P<name>x).
				return cval{}, &Error{Pos: l.ValuePos, Msg: "bad regex: write named groups as (?P<name>...)"}
			}
			v.re = re
		}
		return v, nil
	}
	if !t.typed {
		if l.Kind == LitNumber || l.Kind == LitString && numberGrammar(l.Value) {
			if n, ok := parseNumber(l.Value); ok {
				v.setNum(n)
			}
		}
		return v, nil
	}
	switch t.field.Kind {
	case event.KindString, event.KindList:
		return v, nil
	case event.KindInt:
		switch l.Kind {
		case LitNumber:
			n, _ := parseNumber(l.Value)
			v.setNum(n)
			return v, nil
		case LitString:
			if i, ok := parseIntText(l.Value); ok {
				v.setNum(number{isInt: true, i: i})
				return v, nil
			}
		}
		return mismatch("an integer for " + t.kindName())
	case event.KindBool:
		if op.ordering() {
			return cval{}, &Error{Pos: opPos, Msg: op.String() + " does not apply to " + t.kindName() + "; compare it with = or !="}
		}
		if l.Kind == LitBool || l.Kind == LitString && (strings.EqualFold(l.Value, "true") || strings.EqualFold(l.Value, "false")) {
			v.b = strings.EqualFold(l.Value, "true")
			return v, nil
		}
		return mismatch("true or false for " + t.kindName())
	case event.KindTime:
		us, ok := int64(0), false
		switch l.Kind {
		case LitNumber:
			us, ok = epochMicros(l.Value)
		case LitString:
			if numberGrammar(l.Value) {
				us, ok = epochMicros(l.Value)
			} else {
				us, ok = timeMicros(l.Value)
			}
		}
		if !ok {
			return mismatch("epoch seconds or milliseconds or an RFC 3339 time in years 1-9999 for " + t.kindName())
		}
		v.us = us
		return v, nil
	}
	return mismatch("a value for " + t.kindName())
}

func hasNamedGroup(re *regexp.Regexp) bool {
	for _, n := range re.SubexpNames() {
		if n != "" {
			return true
		}
	}
	return false
}

func (v *cval) setNum(n number) {
	v.num, v.isInt, v.i, v.f = true, n.isInt, n.i, n.f
	if n.isInt {
		v.f = float64(n.i)
	}
}

// number is a parsed numeric literal.
type number struct {
	isInt bool
	i     int64
	f     float64
}

// numberGrammar reports whether s is a number as the lexer reads one:
// -?(0x[0-9a-f]+ | [0-9]+(.[0-9]+)?(e[+-]?[0-9]+)?).
func numberGrammar(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i+2 < len(s) && s[i] == '0' && s[i+1]|0x20 == 'x' {
		i += 2
		for i < len(s) && isHex(s[i]) {
			i++
		}
		return i == len(s)
	}
	digits := func() bool {
		j := i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		return i > j
	}
	if !digits() {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(s) && s[i]|0x20 == 'e' {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	return i == len(s)
}

// parseNumber reads a number in numberGrammar: an int64 when it is an
// integer that fits, otherwise a finite float64.
func parseNumber(s string) (number, bool) {
	if i, ok := parseIntText(s); ok {
		return number{isInt: true, i: i}, true
	}
	if hexText(s) {
		return number{}, false // hex beyond int64
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeErr(err) || math.IsInf(f, 0) || math.IsNaN(f) {
		return number{}, false
	}
	return number{f: f}, true
}

func isRangeErr(err error) bool {
	e, ok := err.(*strconv.NumError)
	return ok && e.Err == strconv.ErrRange
}

func hexText(s string) bool {
	s = strings.TrimPrefix(s, "-")
	return len(s) > 2 && s[0] == '0' && s[1]|0x20 == 'x'
}

// parseIntText reads -?[0-9]+ or -?0x[0-9a-f]+ as an int64.
func parseIntText(s string) (int64, bool) {
	neg := strings.HasPrefix(s, "-")
	u := strings.TrimPrefix(s, "-")
	base := 10
	if hexText(u) {
		base, u = 16, u[2:]
	}
	if u == "" {
		return 0, false
	}
	for i := 0; i < len(u); i++ {
		if base == 10 && !isDigit(u[i]) || base == 16 && !isHex(u[i]) {
			return 0, false
		}
	}
	m, err := strconv.ParseUint(u, base, 64)
	if err != nil {
		return 0, false
	}
	if neg {
		if m > 1<<63 {
			return 0, false
		}
		return -int64(m), true
	}
	if m > math.MaxInt64 {
		return 0, false
	}
	return int64(m), true
}

// Time literals are resolved to epoch microseconds within the years
// 1-9999, which DuckDB's TIMESTAMP holds.
const (
	minMicros = -62135596800000000
	maxMicros = event.MaxTime*1000 + 999
)

var (
	ratE11  = big.NewRat(1e11, 1)
	ratE6   = big.NewRat(1e6, 1)
	ratE3   = big.NewRat(1e3, 1)
	maxExpo = 40
)

// epochMicros reads an epoch number: below 1e11 in magnitude it counts
// seconds, otherwise milliseconds. The result is floored to microseconds.
func epochMicros(s string) (int64, bool) {
	if !numberGrammar(s) {
		return 0, false
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 && !hexText(s) {
		e, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || e > maxExpo || e < -maxExpo {
			return 0, false
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return 0, false
	}
	if new(big.Rat).Abs(r).Cmp(ratE11) < 0 {
		r.Mul(r, ratE6)
	} else {
		r.Mul(r, ratE3)
	}
	q := new(big.Int).Div(r.Num(), r.Denom()) // Euclidean: the floor, as Denom > 0
	if !q.IsInt64() || q.Int64() < minMicros || q.Int64() > maxMicros {
		return 0, false
	}
	return q.Int64(), true
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// timeMicros reads an RFC 3339 time (a missing zone means UTC; a date alone
// means its midnight) as epoch microseconds, floored.
func timeMicros(s string) (int64, bool) {
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			us := t.UnixMicro() // floors: the nanoseconds are never negative
			return us, us >= minMicros && us <= maxMicros
		}
	}
	return 0, false
}
