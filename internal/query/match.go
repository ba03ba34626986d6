package query

import (
	"cmp"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/valyala/fastjson"
)

// Matcher is a query compiled to Go, for streaming evaluation. It is safe
// for concurrent use.
type Matcher struct {
	root pred
	raw  bool // the query reads the raw JSON
	pool sync.Pool
}

// pred evaluates one node; r is nil when the query reads no raw field.
type pred func(e *event.Event, r *rawCtx) bool

// rawCtx parses an event's raw JSON at most once per Match, on first use.
type rawCtx struct {
	e      *event.Event
	parsed bool
	obj    *fastjson.Object
	p      fastjson.Parser
	buf    []byte
}

func (r *rawCtx) object() *fastjson.Object {
	if !r.parsed {
		r.parsed = true
		if raw := r.e.RawObject(); len(raw) > 0 {
			if v, err := r.p.ParseBytes(raw); err == nil {
				r.obj, _ = v.Object()
			}
		}
	}
	return r.obj
}

// Compile compiles a query to a matcher. Errors are *Error and are the same
// as ToSQL's.
func Compile(n Node) (*Matcher, error) {
	c, err := check(n)
	if err != nil {
		return nil, err
	}
	m := &Matcher{}
	m.root = m.build(c)
	m.pool.New = func() any { return new(rawCtx) }
	return m, nil
}

// CompileString parses and compiles a query; errors carry the query text.
func CompileString(q string) (*Matcher, error) {
	n, err := Parse(q)
	if err != nil {
		return nil, err
	}
	m, err := Compile(n)
	return m, WithSource(err, q)
}

// Match reports whether the event matches the query.
func (m *Matcher) Match(e *event.Event) bool {
	if !m.raw {
		return m.root(e, nil)
	}
	r := m.pool.Get().(*rawCtx)
	r.e, r.parsed, r.obj = e, false, nil
	ok := m.root(e, r)
	r.e, r.obj = nil, nil
	m.pool.Put(r)
	return ok
}

func (m *Matcher) build(x cexpr) pred {
	switch x := x.(type) {
	case *cLogic:
		ps := make([]pred, len(x.xs))
		for i, c := range x.xs {
			ps[i] = m.build(c)
		}
		if x.op == And {
			if len(ps) == 2 {
				a, b := ps[0], ps[1]
				return func(e *event.Event, r *rawCtx) bool { return a(e, r) && b(e, r) }
			}
			return func(e *event.Event, r *rawCtx) bool {
				for _, p := range ps {
					if !p(e, r) {
						return false
					}
				}
				return true
			}
		}
		if len(ps) == 2 {
			a, b := ps[0], ps[1]
			return func(e *event.Event, r *rawCtx) bool { return a(e, r) || b(e, r) }
		}
		return func(e *event.Event, r *rawCtx) bool {
			for _, p := range ps {
				if p(e, r) {
					return true
				}
			}
			return false
		}
	case *cNot:
		p := m.build(x.x)
		return func(e *event.Event, r *rawCtx) bool { return !p(e, r) }
	case *cNull:
		if x.t.typed {
			bit := uint64(1) << x.t.field.ID
			return func(e *event.Event, _ *rawCtx) bool { return e.Set&bit == 0 }
		}
		m.raw = true
		look := rawLookup(x.t)
		return func(_ *event.Event, r *rawCtx) bool {
			v := look(r)
			return v == nil || v.Type() == fastjson.TypeNull
		}
	case *cCmp:
		if x.t.typed {
			return typedPred(x)
		}
		m.raw = true
		return rawPred(x)
	}
	panic("query: unknown node")
}

// textPred tests a text against one literal.
func textPred(op Op, v *cval) func(string) bool {
	t := v.text
	switch op {
	case OpEq:
		return func(s string) bool { return s == t }
	case OpNe:
		return func(s string) bool { return s != t }
	case OpLt:
		return func(s string) bool { return s < t }
	case OpLe:
		return func(s string) bool { return s <= t }
	case OpGt:
		return func(s string) bool { return s > t }
	case OpGe:
		return func(s string) bool { return s >= t }
	case OpStartsWith:
		return func(s string) bool { return strings.HasPrefix(s, t) }
	case OpEndsWith:
		return func(s string) bool { return strings.HasSuffix(s, t) }
	case OpContains:
		return func(s string) bool { return strings.Contains(s, t) }
	case OpLike:
		return v.like.match
	case OpRegex:
		return v.re.MatchString
	}
	panic("query: unknown operator")
}

// textAny tests a text against any of the literals.
func textAny(op Op, vals []cval) func(string) bool {
	if len(vals) == 1 {
		return textPred(op, &vals[0])
	}
	if op == OpEq {
		set := make(map[string]struct{}, len(vals))
		for _, v := range vals {
			set[v.text] = struct{}{}
		}
		return func(s string) bool { _, ok := set[s]; return ok }
	}
	fs := make([]func(string) bool, len(vals))
	for i := range vals {
		fs[i] = textPred(op, &vals[i])
	}
	return func(s string) bool {
		for _, f := range fs {
			if f(s) {
				return true
			}
		}
		return false
	}
}

func cmpInt(op Op, a, b int64) bool { return cmpOrdered(op, a, b) }

func cmpFloat(op Op, a, b float64) bool { return cmpOrdered(op, a, b) }

func cmpOrdered[T cmp.Ordered](op Op, a, b T) bool {
	switch op {
	case OpEq:
		return a == b
	case OpNe:
		return a != b
	case OpLt:
		return a < b
	case OpLe:
		return a <= b
	case OpGt:
		return a > b
	case OpGe:
		return a >= b
	}
	return false
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// timePred tests epoch milliseconds against a microsecond literal without
// overflow: t*1000 op us, rewritten on t.
func timePred(op Op, us int64) func(ms int64) bool {
	lo := floorDiv(us, 1000)   // floor(us/1000)
	hi := -floorDiv(-us, 1000) // ceil(us/1000)
	switch op {
	case OpGt:
		return func(t int64) bool { return t > lo }
	case OpGe:
		return func(t int64) bool { return t >= hi }
	case OpLt:
		return func(t int64) bool { return t < hi }
	case OpLe:
		return func(t int64) bool { return t <= lo }
	case OpEq:
		if lo != hi {
			return func(int64) bool { return false }
		}
		return func(t int64) bool { return t == lo }
	case OpNe:
		if lo != hi {
			return func(int64) bool { return true }
		}
		return func(t int64) bool { return t != lo }
	}
	panic("query: unknown operator")
}

func typedPred(x *cCmp) pred {
	id := x.t.field.ID
	bit := uint64(1) << id
	op := x.op
	switch x.t.field.Kind {
	case event.KindString:
		if len(x.vals) == 1 && op == OpEq {
			t := x.vals[0].text
			return func(e *event.Event, _ *rawCtx) bool { return e.Set&bit != 0 && e.Str[id] == t }
		}
		f := textAny(op, x.vals)
		return func(e *event.Event, _ *rawCtx) bool { return e.Set&bit != 0 && f(e.Str[id]) }
	case event.KindList:
		f := textAny(op, x.vals)
		return func(e *event.Event, _ *rawCtx) bool {
			if e.Set&bit == 0 {
				return false
			}
			for _, s := range e.List(id) {
				if f(s) {
					return true
				}
			}
			return false
		}
	case event.KindInt:
		if op.textOp() {
			f := textAny(op, x.vals)
			return func(e *event.Event, _ *rawCtx) bool {
				return e.Set&bit != 0 && f(strconv.FormatInt(e.Int[id], 10))
			}
		}
		if len(x.vals) == 1 && x.vals[0].isInt {
			v := x.vals[0].i
			return func(e *event.Event, _ *rawCtx) bool { return e.Set&bit != 0 && cmpInt(op, e.Int[id], v) }
		}
		vals := x.vals
		return func(e *event.Event, _ *rawCtx) bool {
			if e.Set&bit == 0 {
				return false
			}
			for i := range vals {
				if numCmp(op, true, e.Int[id], 0, &vals[i]) {
					return true
				}
			}
			return false
		}
	case event.KindBool:
		if op.textOp() {
			f := textAny(op, x.vals)
			return func(e *event.Event, _ *rawCtx) bool {
				return e.Set&bit != 0 && f(strconv.FormatBool(e.Int[id] != 0))
			}
		}
		var want [2]bool // want[b]: some literal compares true with b
		for _, v := range x.vals {
			for b := range 2 {
				if (b == 1) == v.b == (op == OpEq) {
					want[b] = true
				}
			}
		}
		return func(e *event.Event, _ *rawCtx) bool {
			if e.Set&bit == 0 {
				return false
			}
			if e.Int[id] != 0 {
				return want[1]
			}
			return want[0]
		}
	case event.KindTime:
		fs := make([]func(int64) bool, len(x.vals))
		for i, v := range x.vals {
			fs[i] = timePred(op, v.us)
		}
		if len(fs) == 1 {
			f := fs[0]
			return func(e *event.Event, _ *rawCtx) bool { return e.Set&bit != 0 && f(e.Int[id]) }
		}
		return func(e *event.Event, _ *rawCtx) bool {
			if e.Set&bit == 0 {
				return false
			}
			for _, f := range fs {
				if f(e.Int[id]) {
					return true
				}
			}
			return false
		}
	}
	panic("query: unknown kind")
}

// numCmp compares a number (an int64 i when isInt, else the float64 f)
// with a numeric literal: as integers when both are, else as float64.
func numCmp(op Op, isInt bool, i int64, f float64, v *cval) bool {
	if isInt && v.isInt {
		return cmpInt(op, i, v.i)
	}
	if isInt {
		f = float64(i)
	}
	return cmpFloat(op, f, v.f)
}

// rawLookup finds the value of a raw name: the top-level key of that exact
// name, else, for names with dots, the nested path. A path step into an
// array takes a canonical index (0, 1, ... without leading zeros), as JSON
// pointers do.
func rawLookup(t *target) func(r *rawCtx) *fastjson.Value {
	name, path := t.name, t.path
	return func(r *rawCtx) *fastjson.Value {
		o := r.object()
		if o == nil {
			return nil
		}
		if v := o.Get(name); v != nil || path == nil {
			return v
		}
		v := o.Get(path[0])
		for _, k := range path[1:] {
			if v == nil {
				return nil
			}
			switch v.Type() {
			case fastjson.TypeObject:
				v = v.GetObject().Get(k)
			case fastjson.TypeArray:
				i, ok := arrayIndex(k)
				a := v.GetArray()
				if !ok || i >= len(a) {
					return nil
				}
				v = a[i]
			default:
				return nil
			}
		}
		return v
	}
}

func arrayIndex(k string) (int, bool) {
	if k == "" || len(k) > 9 || len(k) > 1 && k[0] == '0' {
		return 0, false
	}
	n := 0
	for i := 0; i < len(k); i++ {
		if k[i] < '0' || k[i] > '9' {
			return 0, false
		}
		n = n*10 + int(k[i]-'0')
	}
	return n, true
}

// b2s views bytes as a string for a call that does not keep it.
func b2s(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// rawPred compares a raw value: arrays by any element, other values by
// rawElem.
func rawPred(x *cCmp) pred {
	look := rawLookup(x.t)
	elem := rawElem(x.op, x.vals)
	return func(_ *event.Event, r *rawCtx) bool {
		v := look(r)
		if v == nil {
			return false
		}
		if v.Type() == fastjson.TypeArray {
			for _, el := range v.GetArray() {
				if elem(r, el) {
					return true
				}
			}
			return false
		}
		return elem(r, v)
	}
}

// rawElem compares one JSON value: null never holds; a number against a
// numeric literal compares as numbers; anything else compares its text form
// with the literal's text.
func rawElem(op Op, vals []cval) func(r *rawCtx, v *fastjson.Value) bool {
	text := textAny(op, vals)
	var nums []*cval
	for i := range vals {
		if vals[i].num {
			nums = append(nums, &vals[i])
		}
	}
	numeric := len(nums) > 0 && !op.textOp()
	var rest func(string) bool // the IN list's non-numeric literals
	if numeric && len(nums) < len(vals) {
		rest = textAny(op, nonNumeric(vals))
	}
	return func(r *rawCtx, v *fastjson.Value) bool {
		switch v.Type() {
		case fastjson.TypeNull:
			return false
		case fastjson.TypeString:
			return text(b2s(v.GetStringBytes()))
		case fastjson.TypeTrue:
			return text("true")
		case fastjson.TypeFalse:
			return text("false")
		case fastjson.TypeNumber:
			if numeric {
				r.buf = v.MarshalTo(r.buf[:0])
				isInt, i, f := jsonNumber(b2s(r.buf))
				for _, n := range nums {
					if numCmp(op, isInt, i, f, n) {
						return true
					}
				}
				if rest == nil {
					return false
				}
				r.buf = jsonText(r.buf[:0], v)
				return rest(b2s(r.buf))
			}
		}
		r.buf = jsonText(r.buf[:0], v)
		return text(b2s(r.buf))
	}
}

func nonNumeric(vals []cval) []cval {
	var out []cval
	for _, v := range vals {
		if !v.num {
			out = append(out, v)
		}
	}
	return out
}
