package query

// Node is a node of the syntax tree. Every node carries its position in the
// query text.
type Node interface {
	// Pos is where the node starts.
	Pos() Pos
	// String prints the node back as query text (see Print).
	String() string
	node()
}

// LogicOp is AND or OR.
type LogicOp uint8

const (
	And LogicOp = iota + 1
	Or
)

func (o LogicOp) String() string {
	if o == Or {
		return "OR"
	}
	return "AND"
}

// Op is a comparison operator.
type Op uint8

// Comparison operators.
const (
	OpEq Op = iota + 1
	OpNe
	OpLt
	OpLe
	OpGt
	OpGe
	OpStartsWith
	OpEndsWith
	OpContains
	OpLike
	OpRegex
	OpIn
)

var opNames = [...]string{
	OpEq:         "=",
	OpNe:         "!=",
	OpLt:         "<",
	OpLe:         "<=",
	OpGt:         ">",
	OpGe:         ">=",
	OpStartsWith: "starts_with",
	OpEndsWith:   "ends_with",
	OpContains:   "contains",
	OpLike:       "like",
	OpRegex:      "regex",
	OpIn:         "in",
}

func (o Op) String() string {
	if o > 0 && int(o) < len(opNames) {
		return opNames[o]
	}
	return "?"
}

// textOp reports whether the operator works on text: starts_with,
// ends_with, contains, like, regex.
func (o Op) textOp() bool { return o >= OpStartsWith && o <= OpRegex }

// ordering reports whether the operator is one of < <= > >=.
func (o Op) ordering() bool { return o >= OpLt && o <= OpGe }

// Binary is X AND Y or X OR Y.
type Binary struct {
	Op    LogicOp
	OpPos Pos
	X, Y  Node
}

// Not is NOT X.
type Not struct {
	NotPos Pos
	X      Node
}

// Compare is a comparison of a field with a value: Field Op Values[0], or
// Field IN (Values...). `x = null` and `x != null` are comparisons with a
// null literal.
type Compare struct {
	Field  *Ident
	Op     Op
	OpPos  Pos
	Values []*Literal
}

// Ident is a field name.
type Ident struct {
	Name    string
	NamePos Pos
}

// LitKind is the kind of a literal.
type LitKind uint8

const (
	LitString LitKind = iota + 1
	LitNumber
	LitBool
	LitNull
)

func (k LitKind) String() string {
	switch k {
	case LitString:
		return "string"
	case LitNumber:
		return "number"
	case LitBool:
		return "bool"
	case LitNull:
		return "null"
	}
	return "?"
}

// Literal is a value: a string (Value holds it decoded), a number (Value
// holds its text as written: 42, -1.5, 1e3, 0x1410), a bool ("true" or
// "false") or null ("null").
type Literal struct {
	Kind     LitKind
	Value    string
	ValuePos Pos
}

func (n *Binary) Pos() Pos  { return n.X.Pos() }
func (n *Not) Pos() Pos     { return n.NotPos }
func (n *Compare) Pos() Pos { return n.Field.NamePos }
func (n *Ident) Pos() Pos   { return n.NamePos }
func (n *Literal) Pos() Pos { return n.ValuePos }

func (*Binary) node()  {}
func (*Not) node()     {}
func (*Compare) node() {}
func (*Ident) node()   {}
func (*Literal) node() {}

func (n *Binary) String() string  { return Print(n) }
func (n *Not) String() string     { return Print(n) }
func (n *Compare) String() string { return Print(n) }
func (n *Ident) String() string   { return Print(n) }
func (n *Literal) String() string { return Print(n) }

// A Visitor's Visit is called for each node Walk meets; when it returns a
// non-nil visitor w, Walk visits the node's children with w and then calls
// w.Visit(nil).
type Visitor interface {
	Visit(n Node) (w Visitor)
}

// Walk traverses the tree in depth-first order, as go/ast.Walk does: a
// comparison's children are its field and its values.
func Walk(v Visitor, n Node) {
	if v = v.Visit(n); v == nil {
		return
	}
	switch n := n.(type) {
	case *Binary:
		Walk(v, n.X)
		Walk(v, n.Y)
	case *Not:
		Walk(v, n.X)
	case *Compare:
		Walk(v, n.Field)
		for _, x := range n.Values {
			Walk(v, x)
		}
	}
	v.Visit(nil)
}

type inspector func(Node) bool

func (f inspector) Visit(n Node) Visitor {
	if f(n) {
		return f
	}
	return nil
}

// Inspect calls f for each node in depth-first order, descending into a
// node's children while f returns true; after the children it calls f(nil).
func Inspect(n Node, f func(Node) bool) { Walk(inspector(f), n) }

// Equal reports whether two trees are the same, positions aside.
func Equal(a, b Node) bool {
	switch a := a.(type) {
	case *Binary:
		b, ok := b.(*Binary)
		return ok && a.Op == b.Op && Equal(a.X, b.X) && Equal(a.Y, b.Y)
	case *Not:
		b, ok := b.(*Not)
		return ok && Equal(a.X, b.X)
	case *Compare:
		b, ok := b.(*Compare)
		if !ok || a.Op != b.Op || !Equal(a.Field, b.Field) || len(a.Values) != len(b.Values) {
			return false
		}
		for i := range a.Values {
			if !Equal(a.Values[i], b.Values[i]) {
				return false
			}
		}
		return true
	case *Ident:
		b, ok := b.(*Ident)
		return ok && a != nil && b != nil && a.Name == b.Name
	case *Literal:
		b, ok := b.(*Literal)
		return ok && a != nil && b != nil && a.Kind == b.Kind && a.Value == b.Value
	}
	return false
}

// Fields lists the field names a query refers to, each once, in order of
// first appearance.
func Fields(n Node) []string {
	var names []string
	seen := map[string]bool{}
	Inspect(n, func(n Node) bool {
		if c, ok := n.(*Compare); ok && !seen[c.Field.Name] {
			seen[c.Field.Name] = true
			names = append(names, c.Field.Name)
		}
		return true
	})
	return names
}
