package web_test

import (
	"fmt"
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
	screenshot(t, ctx, "events")
}
