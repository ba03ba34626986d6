package cluster

import (
	"context"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/hunt"
	"github.com/spoor-dev/spoor/internal/hunt/hunttest"
)

// The fleet is built once for the package (package hunttest).
func TestMain(m *testing.M) { hunttest.Main(m) }

func count(t *testing.T, f *hunttest.Fleet, sql string, args ...any) int64 {
	t.Helper()
	tab, err := hunt.Query(context.Background(), f.DB, f.Org, 0, event.MaxTime, sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	return tab.Rows[0][0].(int64)
}

// A repetitive benign command collapses to few patterns whose counts sum
// to the events the filter matches.
func TestRepetitiveCommand(t *testing.T) {
	f := hunttest.Shared(t)
	const filter = `event_type = "audit" AND exe = "/usr/bin/bash" AND arguments starts_with "/bin/bash -c run-parts"`
	want := count(t, f, `SELECT count(*) FROM events WHERE event_type = 'audit' AND exe = '/usr/bin/bash' AND starts_with(arguments, '/bin/bash -c run-parts')`)
	if want < 10 {
		t.Fatalf("only %d cron events in the fleet", want)
	}
	tab, err := Run(context.Background(), f.DB, f.Org, filter, 0, event.MaxTime, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) == 0 || len(tab.Rows) > 4 {
		t.Fatalf("%d patterns for cron's run-parts: %v", len(tab.Rows), tab.Rows)
	}
	var sum int64
	for i, r := range tab.Rows {
		sum += r[1].(int64)
		if i > 0 && r[1].(int64) < tab.Rows[i-1][1].(int64) {
			t.Errorf("row %d more common than row %d", i-1, i)
		}
		if !strings.HasPrefix(r[5].(string), "/bin/bash -c run-parts") || r[6].(string) == "" {
			t.Errorf("example %v", r)
		}
	}
	if sum != want {
		t.Errorf("pattern counts sum to %d, filter matches %d", sum, want)
	}
}

// The seed-000 implants run from /tmp are rare patterns on one host.
func TestRareAttackPatterns(t *testing.T) {
	f := hunttest.Shared(t)
	tab, err := Run(context.Background(), f.DB, f.Org, `event_type = "audit" AND syscall = "execve"`, 0, event.MaxTime, "exe")
	if err != nil {
		t.Fatal(err)
	}
	total := count(t, f, `SELECT count(*) FROM events WHERE event_type = 'audit' AND syscall = 'execve'`)
	var sum int64
	found := map[string]int64{}
	for _, r := range tab.Rows {
		sum += r[1].(int64)
		found[r[0].(string)] = r[2].(int64)
	}
	if sum != total {
		t.Errorf("counts sum to %d of %d", sum, total)
	}
	for _, x := range []string{"/tmp/nmap", "/tmp/sliver", "/tmp/EXCITED_WHILE"} {
		if h, ok := found[x]; !ok || h < 1 || h > 3 {
			t.Errorf("pattern %s: hosts %d, present %v", x, h, ok)
		}
	}
	// rare first: the first rows are less common than the last
	if n := len(tab.Rows); n < 2 || tab.Rows[0][1].(int64) > tab.Rows[n-1][1].(int64) {
		t.Errorf("not sorted rare first")
	}
}

// The pattern cap reports the overflow instead of growing.
func TestOverflow(t *testing.T) {
	f := hunttest.Shared(t)
	tab, err := run(context.Background(), f.DB, f.Org, `event_type = "audit"`, 0, event.MaxTime, "", 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 4 || tab.Rows[3][0] != Overflow {
		t.Fatalf("rows %d, last %v", len(tab.Rows), tab.Rows[len(tab.Rows)-1][0])
	}
	var sum int64
	for _, r := range tab.Rows {
		sum += r[1].(int64)
	}
	if want := count(t, f, `SELECT count(*) FROM events WHERE event_type = 'audit'`); sum != want {
		t.Errorf("sum %d, want %d", sum, want)
	}
}

func TestBadFilter(t *testing.T) {
	f := hunttest.Shared(t)
	if _, err := Run(context.Background(), f.DB, f.Org, `exe = `, 0, event.MaxTime, ""); err == nil {
		t.Error("bad filter accepted")
	}
}

// A named field is clustered: a list column joined, a raw field by its
// original name.
func TestField(t *testing.T) {
	f := hunttest.Shared(t)
	const filter = `event_type = "audit" AND exe = "/usr/bin/bash" AND arguments starts_with "/bin/bash -c run-parts"`
	a, err := Run(context.Background(), f.DB, f.Org, filter, 0, event.MaxTime, "arguments")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Run(context.Background(), f.DB, f.Org, filter, 0, event.MaxTime, "args")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Rows) == 0 || len(a.Rows) != len(b.Rows) || a.Rows[0][0] != b.Rows[0][0] || a.Rows[0][1] != b.Rows[0][1] {
		t.Errorf("arguments %v, args %v", a.Rows, b.Rows)
	}
	c, err := Run(context.Background(), f.DB, f.Org, `event_type = "cloudtrail"`, 0, event.MaxTime, "eventName")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Run(context.Background(), f.DB, f.Org, `event_type = "cloudtrail"`, 0, event.MaxTime, "no_such_field")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rows) < 2 || len(d.Rows) != 0 {
		t.Errorf("eventName: %d patterns; a missing field: %v", len(c.Rows), d.Rows)
	}
	// audit's header object (id, timestamps, sequence) differs in numbers only
	h, err := Run(context.Background(), f.DB, f.Org, filter, 0, event.MaxTime, "header")
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Rows) != 1 || h.Rows[0][1] != a.Rows[0][1].(int64)+sumFrom(a, 1) || !strings.Contains(h.Rows[0][0].(string), `"sequenceId":<num>`) {
		t.Errorf("header patterns %v", h.Rows)
	}
}

func sumFrom(t hunt.Table, i int) int64 {
	var n int64
	for _, r := range t.Rows[i:] {
		n += r[1].(int64)
	}
	return n
}

// Every event falls in exactly one pattern, whichever text it has.
func TestAllEventsCounted(t *testing.T) {
	f := hunttest.Shared(t)
	tab, err := Run(context.Background(), f.DB, f.Org, "", 0, event.MaxTime, "")
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, r := range tab.Rows {
		sum += r[1].(int64)
	}
	if want := count(t, f, `SELECT count(*) FROM events`); sum != want {
		t.Errorf("patterns count %d events of %d", sum, want)
	}
}
