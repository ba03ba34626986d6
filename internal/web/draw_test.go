package web

import (
	"net/url"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/client"
)

// A query error's position (line:col, the column in characters) splits the
// query where the parser stopped, on any line and past multi-byte text.
func TestQueryErrorOf(t *testing.T) {
	f := func(q, pos, before, at, after string) {
		t.Helper()
		e := queryErrorOf(&client.APIError{Status: 400, Message: "bad query at " + pos + "\nx\n  ^ expected a value", Position: pos}, q)
		if e.Before != before || e.At != at || e.After != after || e.Message != "at "+pos+": expected a value" {
			t.Errorf("%q at %s: %q|%q|%q %q", q, pos, e.Before, e.At, e.After, e.Message)
		}
	}
	f(`user = "root" AND exe ~ "x"`, "1:23", `user = "root" AND exe `, "~", ` "x"`)
	f(`user = "é日" AND exe ~ "x"`, "1:21", `user = "é日" AND exe `, "~", ` "x"`)
	f("user = \"a\"\nAND (", "2:6", "user = \"a\"\nAND (", "", "")
	f(`user =`, "1:7", `user =`, "", "")
	f(`user = "a"`, "9:1", "", "", "") // a position past the query marks nothing
}

// The histogram lays buckets out by time, gaps kept, the tallest full
// height, each bar linking to its own range (until its last millisecond).
func TestDrawHistogram(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2020, 2, 14, h, 0, 0, 0, time.UTC) }
	rows := []timelineRow{
		{Bucket: at(0), BucketEnd: at(1), EventType: "audit", Count: 3},
		{Bucket: at(0), BucketEnd: at(1), EventType: "login", Count: 1, Alerts: 2, AlertRules: []string{"r1"}},
		{Bucket: at(3), BucketEnd: at(4), EventType: "audit", Count: 2},
	}
	h := drawHistogram(rows, eventsQuery{Q: `user = "root"`})
	if len(h.Bars) != 2 || h.Total != 6 || h.Alerts != 2 || h.Bucket != "1h0m0s" {
		t.Fatalf("histogram %+v", h)
	}
	a, b := h.Bars[0], h.Bars[1]
	if a.X != 0 || b.X != 750 || a.H != histHeight-6 || b.H >= a.H || a.Y+a.H != histHeight || a.AlertTitle != "2 alerts started: r1" || b.Alerts != 0 {
		t.Errorf("bars %+v %+v", a, b)
	}
	u, _ := url.Parse(b.Href)
	if q := u.Query(); q.Get("since") != "2020-02-14T03:00:00.000Z" || q.Get("until") != "2020-02-14T03:59:59.999Z" || q.Get("q") != `user = "root"` {
		t.Errorf("bar link %s", b.Href)
	}
}

// The process tree's rows, parents first with depths, nest as lists.
func TestNest(t *testing.T) {
	row := func(depth int, pid string) map[string]any { return map[string]any{"depth": depth, "pid": pid} }
	roots := nest([]map[string]any{row(0, "1"), row(1, "2"), row(2, "3"), row(1, "4"), row(0, "5"), row(7, "6")})
	if len(roots) != 2 || len(roots[0].Children) != 2 || roots[0].Children[0].Children[0].PID != "3" || roots[0].Children[1].PID != "4" ||
		len(roots[1].Children) != 1 || roots[1].Children[0].PID != "6" {
		t.Errorf("nested wrong: %+v", roots)
	}
}
