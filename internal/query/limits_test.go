package query

import (
	"runtime"
	"strings"
	"testing"
)

// TestLongQuery: queries at the length limit parse, print, compile and
// match with work linear in their length (the memory allocated for a
// query twice as long is about twice as much, not four times: no
// quadratic step; measured in bytes, not time, so a busy machine cannot
// fail it), and deep AND/OR chains do not nest the SQL.
func TestLongQuery(t *testing.T) {
	e := normalize(t, semEvent)
	work := func(q string) (uint64, string) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
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
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc, s.Where
	}
	for _, unit := range []string{"a=1 AND ", "a=1 OR ", "NOT a=1 AND ", "x like '%a%b%c' OR ", "event_time > 5 AND "} {
		reps := (MaxQueryLen - 10) / len(unit)
		half, _ := work(strings.Repeat(unit, reps/2) + "b = 2")
		full, where := work(strings.Repeat(unit, reps) + "b = 2")
		if full > 3*half {
			t.Errorf("%q: %d bytes allocated at the limit, %d at half of it: worse than linear", unit, full, half)
		}
		if strings.Contains(where, "((((") {
			t.Errorf("%q: the SQL nests", unit)
		}
	}
}
