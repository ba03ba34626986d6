package query

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse: no input panics; errors are *Error with a position inside the
// input; what parses prints back to an equal tree, and both compilers accept
// or reject it alike without panicking.
func FuzzParse(f *testing.F) {
	for _, q := range seedQueries {
		f.Add(q)
	}
	for _, q := range []string{
		``, `a = `, `(a = 1`, `a in (1,`, `x = '\u00e9\ud83d\ude00'`, "`weird \"name\"` = 1", `a = 0x1410`,
		`event_time > '2020-09-17T17:16:01Z'`, `NOT NOT (a.b.c like 'x\%' OR pid regex '^\d')`, `pid = 'abc'`,
		strings.Repeat("(", 150) + "a = 1" + strings.Repeat(")", 150), `a = 1e-999999999`, `event_time = 1e-39`,
		`Arr.0 = null AND ` + "`` = 1", `x IN (null, true, -0.5e3, "s")`, `a = 1 AND b = 2 OR NOT c != 3`,
	} {
		f.Add(q)
	}
	e := normalize(f, semEvent)
	f.Fuzz(func(t *testing.T, q string) {
		n, err := Parse(q)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is a %T, not *Error", err, err)
			}
			if pe.Pos.Offset < 0 || pe.Pos.Offset > len(q) || pe.Pos.Line < 1 || pe.Pos.Col < 1 {
				t.Fatalf("error position %+v outside the input", pe.Pos)
			}
			_ = pe.Caret()
			return
		}
		p := Print(n)
		m, err := parse(p, 8*MaxQueryLen) // printing may lengthen a query
		if len(p) <= MaxQueryLen {
			m, err = Parse(p)
		}
		if err != nil {
			t.Fatalf("printed query does not parse: %v\nprinted: %s", err, p)
		}
		if !Equal(n, m) {
			t.Fatalf("round trip changed the tree:\n%s\n%s", p, Print(m))
		}
		_, errSQL := ToSQL(n)
		mt, errGo := Compile(n)
		if (errSQL == nil) != (errGo == nil) || errSQL != nil && errSQL.Error() != errGo.Error() {
			t.Fatalf("ToSQL error %v, Compile error %v", errSQL, errGo)
		}
		if mt != nil {
			mt.Match(e)
		}
		TimeBounds(n)
		Fields(n)
	})
}
