package query

import (
	"strings"
	"testing"
	"time"
)

// TestLongQuery: queries at the length limit parse, print, compile and
// match quickly (no quadratic step), and deep AND/OR chains do not nest
// the SQL.
func TestLongQuery(t *testing.T) {
	e := normalize(t, semEvent)
	for _, unit := range []string{"a=1 AND ", "a=1 OR ", "NOT a=1 AND ", "x like '%a%b%c' OR ", "event_time > 5 AND "} {
		q := strings.Repeat(unit, (MaxQueryLen-10)/len(unit)) + "b = 2"
		st := time.Now()
		n, err := Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		p := Print(n)
		if m, err := parse(p, 8*MaxQueryLen); err != nil || !Equal(m, n) {
			t.Errorf("round trip: %v", err)
		}
		s, _ := ToSQL(n)
		m, _ := Compile(n)
		m.Match(e)
		TimeBounds(n)
		if d := time.Since(st); d > 2*time.Second {
			t.Errorf("%q: %d bytes took %v", unit, len(q), d)
		}
		if strings.Contains(s.Where, "((((") {
			t.Errorf("%q: the SQL nests", unit)
		}
	}
}
