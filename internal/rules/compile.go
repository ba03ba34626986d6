package rules

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/query"
	"github.com/spoor-dev/spoor/internal/sqlquote"
)

// Compiled is a rule ready to run: its type restriction, filter and
// suppressions compiled once. It is safe for concurrent use.
type Compiled struct {
	Rule *Rule

	types    []string // event types the rule sees, sorted
	filter   *compiledQuery
	suppress []*compiledQuery
	after    *compiledQuery // the events a sequence rule counts first
	groupBy  []groupField
}

type groupField struct {
	name  string
	typed bool
	id    event.FieldID
	path  []string // raw: the dotted path, when the name has dots
}

// Compile validates r and compiles it.
func Compile(r *Rule) (*Compiled, error) {
	if err := validate(r); err != nil {
		return nil, fmt.Errorf("rule %s: %w", r.Name, err)
	}
	c := &Compiled{Rule: r}
	var err error
	if c.filter, err = compileFilter(r.Filter); err != nil {
		return nil, fmt.Errorf("rule %s: filter: %w", r.Name, err)
	}
	for i, s := range r.Suppressions {
		q, err := compileFilter(s)
		if err != nil {
			return nil, fmt.Errorf("rule %s: suppressions[%d]: %w", r.Name, i, err)
		}
		c.suppress = append(c.suppress, q)
	}
	c.types = narrowTypes(TypeEventTypes[r.Type], c.filter.node)
	if err := c.compileAfter(); err != nil {
		return nil, err
	}
	for _, name := range r.Aggregate {
		g := groupField{name: name}
		if f, ok := event.Lookup(name); ok {
			g.typed, g.id = true, f.ID
		} else if strings.Contains(name, ".") {
			g.path = strings.Split(name, ".")
		}
		c.groupBy = append(c.groupBy, g)
	}
	return c, nil
}

// narrowTypes intersects a type's event types with what the filter's
// top-level AND conjuncts allow for event_type (= or in).
func narrowTypes(allowed []string, n query.Node) []string {
	out := slices.Clone(allowed)
	var walk func(n query.Node)
	walk = func(n query.Node) {
		switch n := n.(type) {
		case *query.Binary:
			if n.Op == query.And {
				walk(n.X)
				walk(n.Y)
			}
		case *query.Compare:
			f, ok := event.Lookup(n.Field.Name)
			if !ok || f.ID != event.EventType || (n.Op != query.OpEq && n.Op != query.OpIn) {
				return
			}
			var vals []string
			for _, l := range n.Values {
				if l.Kind == query.LitString || l.Kind == query.LitNumber || l.Kind == query.LitBool {
					vals = append(vals, l.Value)
				}
			}
			out = slices.DeleteFunc(out, func(t string) bool { return !slices.Contains(vals, t) })
		}
	}
	walk(n)
	slices.Sort(out)
	return out
}

// EventTypes lists the event types the rule can match, sorted: its type's
// event types, narrowed by event_type conditions the filter requires. Empty
// means the rule can never match.
func (c *Compiled) EventTypes() []string { return slices.Clone(c.types) }

// Match reports whether e matches the rule (its event type is one of the
// rule's and the filter holds) and, when it does, whether a suppression
// hides it. suppressed is false when matched is false.
func (c *Compiled) Match(e *event.Event) (matched, suppressed bool) {
	if !e.Has(event.EventType) || !slices.Contains(c.types, e.Str[event.EventType]) {
		return false, false
	}
	if !c.filter.m.Match(e) {
		return false, false
	}
	for _, s := range c.suppress {
		if s.m.Match(e) {
			return true, true
		}
	}
	return true, false
}

// MatchingSuppression is the index of the first suppression e matches, -1
// when none does. It does not look at the filter.
func (c *Compiled) MatchingSuppression(e *event.Event) int {
	for i, s := range c.suppress {
		if s.m.Match(e) {
			return i
		}
	}
	return -1
}

// GroupKey is the alert group of e: the aggregate fields' values as
// name=value pairs (values quoted, a missing field as name=null), in the
// rule's order, joined by commas. It is "" for a rule without aggregate
// fields, so all its events share one group.
func (c *Compiled) GroupKey(e *event.Event) string {
	if len(c.groupBy) == 0 {
		return ""
	}
	var b []byte
	var raw *fastjson.Value
	rawDone := false
	for i, g := range c.groupBy {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, g.name...)
		b = append(b, '=')
		if g.typed {
			v, ok := e.Value(g.id)
			if !ok {
				b = append(b, "null"...)
				continue
			}
			b = strconv.AppendQuote(b, v.String())
			continue
		}
		if !rawDone {
			rawDone = true
			if obj := e.RawObject(); len(obj) > 0 {
				var p fastjson.Parser
				if v, err := p.ParseBytes(obj); err == nil {
					raw = v
				}
			}
		}
		b = appendRaw(b, raw, g)
	}
	return string(b)
}

// appendRaw appends a raw field's value: a string quoted, anything else as
// its JSON text quoted, null when missing or JSON null.
func appendRaw(b []byte, raw *fastjson.Value, g groupField) []byte {
	if raw == nil {
		return append(b, "null"...)
	}
	v := raw.Get(g.name)
	if v == nil && g.path != nil {
		v = raw.Get(g.path...)
	}
	if v == nil || v.Type() == fastjson.TypeNull {
		return append(b, "null"...)
	}
	if v.Type() == fastjson.TypeString {
		return strconv.AppendQuote(b, string(v.GetStringBytes()))
	}
	return strconv.AppendQuote(b, string(v.MarshalTo(nil)))
}

// SQL gives the rule as DuckDB boolean expressions over the events view,
// for backtests: where is the type restriction AND the filter; each
// suppression's expression is in suppressWhere, in order (alerts are the
// rows where `where AND NOT COALESCE(s, false)` for every s). The values
// are written in as SQL literals (strings quoted with ' doubled, numbers
// cast), so the text runs without arguments; Query gives the same with
// ? placeholders and their arguments.
func (c *Compiled) SQL() (where string, suppressWhere []string) {
	w, s := c.Query()
	where = inline(w)
	for _, q := range s {
		suppressWhere = append(suppressWhere, inline(q))
	}
	return where, suppressWhere
}

// Query is SQL with ? placeholders and their arguments, as query.ToSQL
// writes them.
func (c *Compiled) Query() (where query.SQL, suppress []query.SQL) {
	var b strings.Builder
	var args []any
	b.WriteString("(")
	switch len(c.types) {
	case 0:
		b.WriteString("false")
	case 1:
		b.WriteString(`"event_type" = ?`)
		args = append(args, c.types[0])
	default:
		b.WriteString(`"event_type" IN (`)
		for i, t := range c.types {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("?")
			args = append(args, t)
		}
		b.WriteString(")")
	}
	b.WriteString(") AND ")
	b.WriteString(c.filter.sql.Where)
	args = append(args, c.filter.sql.Args...)
	where = query.SQL{Where: b.String(), Args: args}
	for _, s := range c.suppress {
		suppress = append(suppress, s.sql)
	}
	return where, suppress
}

// inline replaces the placeholders of q, outside quoted text, with SQL
// literals of its arguments.
func inline(q query.SQL) string {
	var b strings.Builder
	arg := 0
	var quote byte
	for i := 0; i < len(q.Where); i++ {
		ch := q.Where[i]
		switch {
		case quote != 0:
			if ch == quote {
				quote = 0 // a doubled quote reopens at once: same result
			}
		case ch == '\'' || ch == '"':
			quote = ch
		case ch == '?' && arg < len(q.Args):
			b.WriteString(literal(q.Args[arg]))
			arg++
			continue
		}
		b.WriteByte(ch)
	}
	return b.String()
}

// literal writes a value as a DuckDB literal of its type.
func literal(v any) string {
	switch v := v.(type) {
	case string:
		return sqlquote.String(v)
	case int64:
		return "CAST(" + strconv.FormatInt(v, 10) + " AS BIGINT)"
	case int:
		return "CAST(" + strconv.Itoa(v) + " AS BIGINT)"
	case float64:
		switch {
		case math.IsNaN(v):
			return "CAST('nan' AS DOUBLE)"
		case math.IsInf(v, 1):
			return "CAST('inf' AS DOUBLE)"
		case math.IsInf(v, -1):
			return "CAST('-inf' AS DOUBLE)"
		}
		return "CAST(" + strconv.FormatFloat(v, 'g', -1, 64) + " AS DOUBLE)"
	case bool:
		if v {
			return "true"
		}
		return "false"
	}
	// query.ToSQL binds only the kinds above; should it bind another, its
	// text as a string literal is still safe SQL.
	return sqlquote.String(fmt.Sprint(v))
}
