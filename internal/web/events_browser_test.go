package web_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// A signed-in analyst sees the organization's events on the events page.
func TestBrowserSignInSeesEvents(t *testing.T) {
	c := startConsole(t)
	now := time.Now()
	var lines strings.Builder
	for i := range 5 {
		lines.WriteString(eventLine(fmt.Sprintf("ev-%d", i), "web-1", now.Add(-time.Duration(i)*time.Minute),
			map[string]any{"event_type": "audit", "exe": "/usr/bin/curl", "user": "root", "arguments": fmt.Sprintf("curl http://example.com/%d", i)}))
	}
	c.ingest(t, c.AdminA, []byte(lines.String()))
	ctx := browser(t)
	c.signIn(t, ctx, c.AnalystA)
	do(t, ctx, "wait for rows", chromedp.WaitVisible(chromedp.CSS("#results")))
	rows := eval[int](t, ctx, `document.querySelectorAll('#results tbody tr').length`)
	if rows != 5 {
		t.Fatalf("the events page shows %d rows, want 5", rows)
	}
	if got := text(t, ctx, "#results tbody tr td:nth-child(7)"); got != "curl http://example.com/0" {
		t.Errorf("newest event's arguments %q", got)
	}
	screenshot(t, ctx, "signed-in")
}

// Seed 001 in the browser: the login search on one agent, a histogram bar
// narrowing the range, an event opened whole, and the pivot to the same
// host within minutes of it.
func TestBrowserSeed001Pivot(t *testing.T) {
	c := startConsole(t)
	c.loadFleet(t, c.AdminA, 6, 2)
	ctx := browser(t)
	c.signIn(t, ctx, c.AnalystA)
	q := `event_type = "login" AND agent_id = "436dd34c-f795-11ea-a752-21e3e3eb7c50"`
	c.open(t, ctx, "/events?q="+url.QueryEscape(q)+"&cols=event_time,agent_id,event_type,user,src_ip", "#results")
	found := rows(t, ctx, "#results")
	if len(found) == 0 {
		t.Fatal("the seed-001 search shows no rows")
	}
	for _, r := range found {
		if r[2] != "436dd34c-f795-11ea-a752-21e3e3eb7c50" || r[3] != "login" {
			t.Fatalf("a row the query does not match: %q", r)
		}
	}
	screenshot(t, ctx, "events")
	// The histogram, in a frame of the page (its query is the slower),
	// has bars that narrow the range to their own. The test opens the
	// frame's page and clicks a bar there: the bars target the top page.
	frame := eval[string](t, ctx, `document.querySelector('iframe#histogram').getAttribute('src')`)
	c.open(t, ctx, frame, "svg")
	if bars := eval[int](t, ctx, `document.querySelectorAll('a[target=_top] rect.bar').length`); bars < 2 {
		t.Fatalf("%d histogram bars", bars)
	}
	do(t, ctx, "click the first bar", chromedp.Click(chromedp.CSS("a rect.bar")), chromedp.WaitVisible(chromedp.CSS("#results")))
	loc := get(t, ctx, "location", chromedp.Location())
	u, _ := url.Parse(loc)
	if u.Query().Get("since") == "" || u.Query().Get("until") == "" || u.Query().Get("q") != q {
		t.Fatalf("the bar's link %s does not narrow the range of the same query", loc)
	}
	// Open an event: its whole original and the pivots.
	do(t, ctx, "open the first event", chromedp.Click(chromedp.CSS("#results tbody tr td.open a")), chromedp.WaitVisible(chromedp.CSS("#raw")))
	if raw := text(t, ctx, "#raw"); !strings.Contains(raw, "436dd34c-f795-11ea-a752-21e3e3eb7c50") {
		t.Fatalf("the event's original lacks its agent: %s", raw)
	}
	screenshot(t, ctx, "event")
	do(t, ctx, "pivot to the host ±5 min", chromedp.Click(chromedp.Search(`//a[text()="same host ±5 min"]`)), chromedp.WaitVisible(chromedp.CSS("#results")))
	u, _ = url.Parse(get(t, ctx, "location", chromedp.Location()))
	if got := u.Query().Get("q"); got != `agent_id = "436dd34c-f795-11ea-a752-21e3e3eb7c50"` {
		t.Fatalf("the pivot's query %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#results tbody tr').length`); n == 0 {
		t.Fatal("the host window around a login shows no events")
	}
	// The fleet's attacks opened alerts.
	c.open(t, ctx, "/alerts?sort=severity", "#alerts")
	if n := len(rows(t, ctx, "#alerts")); n == 0 {
		t.Fatal("the fleet's attacks opened no alerts")
	}
	screenshot(t, ctx, "alerts")
}

// A bad query is shown with its error at its position.
func TestBrowserQueryErrorAtPosition(t *testing.T) {
	c := startConsole(t)
	ctx := browser(t)
	c.signIn(t, ctx, c.AnalystA)
	c.open(t, ctx, "/events?q="+url.QueryEscape(`user = "root" AND exe ~ "x"`), "#qerror")
	before, at := text(t, ctx, "#qerror pre.query span"), text(t, ctx, "#qerror mark")
	if before != `user = "root" AND exe ` || at != "~" {
		t.Fatalf("error marked at %q after %q, want at the ~", at, before)
	}
	if msg := text(t, ctx, "#qerror p"); !strings.Contains(msg, "1:23") {
		t.Fatalf("error message %q does not say the position", msg)
	}
}
