package query

import (
	"math"
	"strings"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/sqlquote"
)

// SQL is a WHERE fragment for DuckDB with ? placeholders and their
// arguments, in order. Values are always arguments; the text holds only
// quoted column names, operators and functions.
type SQL struct {
	Where string
	Args  []any
}

// ToSQL compiles a query to a WHERE fragment over a table with one column
// per event.Catalog() field (VARCHAR, BIGINT, BOOLEAN, TIMESTAMP holding
// UTC, VARCHAR[]) and the raw column (VARCHAR, the residual JSON object).
// Errors are *Error and are the same as Compile's.
func ToSQL(n Node) (SQL, error) {
	c, err := check(n)
	if err != nil {
		return SQL{}, err
	}
	var g sqlGen
	g.expr(c, false)
	return SQL{Where: g.b.String(), Args: g.args}, nil
}

// ToSQLString parses and compiles a query; errors carry the query text.
func ToSQLString(q string) (SQL, error) {
	n, err := Parse(q)
	if err != nil {
		return SQL{}, err
	}
	s, err := ToSQL(n)
	return s, WithSource(err, q)
}

type sqlGen struct {
	b    strings.Builder
	args []any
}

func (g *sqlGen) w(s ...string) {
	for _, x := range s {
		g.b.WriteString(x)
	}
}

// arg writes a placeholder for v.
func (g *sqlGen) arg(v any) {
	g.b.WriteByte('?')
	g.args = append(g.args, v)
}

// expr writes x. Comparisons yield NULL on NULL input; that reads as false
// in WHERE and under AND and OR, but NOT would turn it into NULL rather than
// true, so below a NOT (guard) each comparison is wrapped in
// COALESCE(..., false). Outside NOT they stay bare, so DuckDB can push them
// into the scan (Parquet row-group statistics).
func (g *sqlGen) expr(x cexpr, guard bool) {
	switch x := x.(type) {
	case *cLogic:
		g.w("(")
		for i, c := range x.xs {
			if i > 0 {
				g.w(" ", x.op.String(), " ")
			}
			g.expr(c, guard)
		}
		g.w(")")
	case *cNot:
		g.w("(NOT ")
		g.expr(x.x, true)
		g.w(")")
	case *cNull:
		if x.t.typed {
			g.w("(", sqlquote.Ident(x.t.field.Name), " IS NULL)")
			return
		}
		g.w("(COALESCE(json_type(")
		g.rawValue(x.t)
		g.w("), 'NULL') = 'NULL')")
	case *cCmp:
		if guard {
			g.w("COALESCE(")
		}
		if x.t.typed {
			g.typed(x)
		} else {
			g.raw(x)
		}
		if guard {
			g.w(", false)")
		}
	}
}

var sqlOps = [...]string{OpEq: "=", OpNe: "<>", OpLt: "<", OpLe: "<=", OpGt: ">", OpGe: ">="}

// text writes `s op literal` for a VARCHAR expression s, for any of vals.
func (g *sqlGen) text(s string, op Op, vals []cval) {
	if op == OpEq && len(vals) > 1 {
		g.w("(", s, " IN (")
		for i, v := range vals {
			if i > 0 {
				g.w(", ")
			}
			g.arg(v.text)
		}
		g.w("))")
		return
	}
	g.anyOf(len(vals), func(i int) {
		v := vals[i].text
		switch op {
		case OpStartsWith:
			g.w("starts_with(", s, ", ")
			g.arg(v)
			g.w(")")
		case OpEndsWith:
			g.w("ends_with(", s, ", ")
			g.arg(v)
			g.w(")")
		case OpContains:
			g.w("contains(", s, ", ")
			g.arg(v)
			g.w(")")
		case OpLike:
			g.w("(", s, " LIKE ")
			g.arg(v)
			g.w(` ESCAPE '\')`)
		case OpRegex:
			g.w("regexp_matches(", s, ", ")
			g.arg(v)
			g.w(")")
		default:
			g.w("(", s, " ", sqlOps[op], " ")
			g.arg(v)
			g.w(")")
		}
	})
}

// anyOf writes n alternatives joined by OR.
func (g *sqlGen) anyOf(n int, one func(i int)) {
	if n > 1 {
		g.w("(")
	}
	for i := range n {
		if i > 0 {
			g.w(" OR ")
		}
		one(i)
	}
	if n > 1 {
		g.w(")")
	}
}

func (g *sqlGen) typed(x *cCmp) {
	col := sqlquote.Ident(x.t.field.Name)
	op := x.op
	switch x.t.field.Kind {
	case event.KindString:
		g.text(col, op, x.vals)
	case event.KindList:
		g.w("(len(list_filter(", col, ", lambda __e: ")
		g.text("__e", op, x.vals)
		g.w(")) > 0)")
	case event.KindInt:
		if op.textOp() {
			g.text("CAST("+col+" AS VARCHAR)", op, x.vals)
			return
		}
		g.anyOf(len(x.vals), func(i int) {
			if v := x.vals[i]; v.isInt {
				g.w("(", col, " ", sqlOps[op], " ")
				g.arg(v.i)
			} else {
				g.w("(CAST(", col, " AS DOUBLE) ", sqlOps[op], " ")
				g.arg(v.f)
			}
			g.w(")")
		})
	case event.KindBool:
		if op.textOp() {
			g.text("CAST("+col+" AS VARCHAR)", op, x.vals)
			return
		}
		g.anyOf(len(x.vals), func(i int) {
			g.w("(", col, " ", sqlOps[op], " ")
			g.arg(x.vals[i].b)
			g.w(")")
		})
	case event.KindTime:
		// A constant right side lets DuckDB push the filter into the scan.
		g.anyOf(len(x.vals), func(i int) {
			g.w("(", col, " ", sqlOps[op], " make_timestamp(")
			g.arg(x.vals[i].us)
			g.w("))")
		})
	}
}

// rawValue writes the JSON value of a raw name: the top-level key, or for
// names with dots when that key is missing, the nested path. json_extract
// gives SQL NULL for a missing key and JSON null for a null one.
func (g *sqlGen) rawValue(t *target) {
	raw := sqlquote.Ident(event.RawColumn)
	if t.path == nil {
		g.w("json_extract(", raw, ", ")
		g.arg(sqlquote.JSONPointer(t.name))
		g.w(")")
		return
	}
	g.w("COALESCE(json_extract(", raw, ", ")
	g.arg(sqlquote.JSONPointer(t.name))
	g.w("), json_extract(", raw, ", ")
	g.arg(sqlquote.JSONPointer(t.path...))
	g.w("))")
}

// raw writes a comparison of a raw value: the value is bound once (a
// one-element list_transform), turned into the list of its elements when it
// is an array or else a list of itself, and the comparison must hold for
// some element.
func (g *sqlGen) raw(x *cCmp) {
	g.w("(len(list_filter(list_transform([")
	g.rawValue(x.t)
	g.w("], lambda __v: CASE WHEN json_type(__v) = 'ARRAY' THEN TRY_CAST(__v AS JSON[]) ELSE [__v] END)[1], lambda __x: ")
	g.rawElem(x.op, x.vals)
	g.w(")) > 0)")
}

// rawElem writes the comparison of one JSON element __x, as rawElem in
// match.go: numbers against numeric literals by value (as BIGINT when both
// are integers, else as DOUBLE), everything else by its text form __x->>'$'
// (NULL for JSON null).
func (g *sqlGen) rawElem(op Op, vals []cval) {
	const text = "(__x->>'$')"
	if op.textOp() {
		g.text(text, op, vals)
		return
	}
	var nums, rest []cval
	for _, v := range vals {
		if v.num {
			nums = append(nums, v)
		} else {
			rest = append(rest, v)
		}
	}
	n := len(nums)
	if len(rest) > 0 {
		n++
	}
	g.anyOf(n, func(i int) {
		if i == len(nums) {
			g.text(text, op, rest)
			return
		}
		v := nums[i]
		asDouble := func() {
			g.w("(TRY_CAST(__x AS DOUBLE) ", sqlOps[op], " ")
			g.arg(v.f)
			g.w(")")
		}
		if v.isInt {
			// json_type says UBIGINT for every integer >= 0, BIGINT for
			// negative ones; those that fit in BIGINT compare exactly.
			asInt := func() {
				g.w("(TRY_CAST(__x AS BIGINT) ", sqlOps[op], " ")
				g.arg(v.i)
				g.w(")")
			}
			g.w("CASE json_type(__x) WHEN 'BIGINT' THEN ")
			asInt()
			g.w(" WHEN 'UBIGINT' THEN COALESCE(")
			asInt()
			g.w(", ")
			asDouble()
			g.w(") WHEN 'DOUBLE' THEN ")
			asDouble()
		} else {
			g.w("CASE WHEN json_type(__x) IN ('BIGINT', 'UBIGINT', 'DOUBLE') THEN ")
			asDouble()
		}
		g.w(" ELSE ")
		g.text(text, op, []cval{v})
		g.w(" END")
	})
}

// TimeBounds returns the range of event_time, in epoch milliseconds
// inclusive, that the query's top-level AND conjuncts allow, so that the
// engine can skip partitions; ok is false when they set no bound. An
// unbounded side is math.MinInt64 or math.MaxInt64; min > max means no
// event can match.
func TimeBounds(n Node) (min, max int64, ok bool) {
	min, max = math.MinInt64, math.MaxInt64
	var walk func(n Node)
	walk = func(n Node) {
		switch n := n.(type) {
		case *Binary:
			if n.Op == And {
				walk(n.X)
				walk(n.Y)
			}
		case *Compare:
			lo, hi, found := compareBounds(n)
			if found {
				ok = true
				min, max = maxInt(min, lo), minInt(max, hi)
			}
		}
	}
	walk(n)
	return min, max, ok
}

// compareBounds returns the event_time range one comparison allows.
func compareBounds(c *Compare) (lo, hi int64, ok bool) {
	if c.Field == nil || len(c.Values) == 0 {
		return 0, 0, false
	}
	t := resolve(c.Field.Name)
	if !t.typed || t.field.ID != event.EventTime {
		return 0, 0, false
	}
	lo, hi = math.MinInt64, math.MaxInt64
	if c.Op == OpIn || c.Op == OpEq {
		lo, hi = math.MaxInt64, math.MinInt64 // the union of the values' points
	}
	for _, l := range c.Values {
		if l.Kind == LitNull {
			return 0, 0, false // matches events without a time
		}
		v, err := convert(t, OpEq, c.OpPos, l)
		if err != nil {
			return 0, 0, false
		}
		fl, ce := floorDiv(v.us, 1000), -floorDiv(-v.us, 1000)
		switch c.Op {
		case OpEq, OpIn:
			if fl == ce {
				lo, hi = minInt(lo, fl), maxInt(hi, fl)
			}
		case OpGt:
			lo = fl + 1
		case OpGe:
			lo = ce
		case OpLt:
			hi = ce - 1
		case OpLe:
			hi = fl
		default:
			return 0, 0, false
		}
	}
	return lo, hi, true
}

func minInt(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

func maxInt(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
