package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// tmpExec is an event the default rule tmp-binary-exec alerts on.
func tmpExec(id, host, exe string, at time.Time) string {
	return eventLine(id, host, at, map[string]any{"event_type": "audit", "syscall": "execve", "exe": exe, "user": "root", "arguments": exe})
}

// rows are the texts of the cells of the table sel's body rows.
func rows(t testing.TB, ctx context.Context, sel string) [][]string {
	t.Helper()
	return eval[[][]string](t, ctx, `[...document.querySelectorAll(`+jsString(sel+" tbody tr")+`)].map(r => [...r.cells].map(c => c.textContent.trim()))`)
}

// An analyst opens the events behind an alert, dismisses it with a reason
// and finds it in the dismissed tab with that reason.
func TestBrowserAlertsDismiss(t *testing.T) {
	c := startConsole(t)
	now := time.Now()
	c.ingest(t, c.AdminA, []byte(tmpExec("x-1", "web-1", "/tmp/implant", now.Add(-time.Minute))+tmpExec("x-2", "web-2", "/tmp/other", now)))
	ctx := browser(t)
	c.signIn(t, ctx, c.AnalystA)
	c.open(t, ctx, "/alerts", "#alerts")
	got := rows(t, ctx, "#alerts")
	if len(got) != 2 || !strings.HasPrefix(got[0][2], "tmp-binary-exec") || got[0][3] != "web-2" || got[0][1] != "high" {
		t.Fatalf("open alerts %q, want web-2's then web-1's tmp-binary-exec", got)
	}
	do(t, ctx, "open the events of web-1's alert", chromedp.Click(chromedp.CSS(`#alerts tbody tr:nth-child(2) a.events`)), chromedp.WaitVisible(chromedp.CSS("#results")))
	ev := rows(t, ctx, "#results")
	if len(ev) != 1 || ev[0][2] != "web-1" || ev[0][5] != "/tmp/implant" {
		t.Fatalf("the alert's events %q, want web-1's /tmp/implant", ev)
	}
	c.open(t, ctx, "/alerts", "#alerts")
	do(t, ctx, "dismiss web-1's alert",
		chromedp.Click(chromedp.CSS(`#alerts tbody tr:nth-child(2) input[type=checkbox]`)),
		chromedp.SendKeys(chromedp.CSS("#reason"), "red team <exercise>"),
		chromedp.Submit(chromedp.CSS("#reason")),
		chromedp.WaitVisible(chromedp.CSS("#done")))
	if done := text(t, ctx, "#done"); done != "dismissed 1 of 1" {
		t.Fatalf("after dismissing: %q", done)
	}
	if open := rows(t, ctx, "#alerts"); len(open) != 1 || open[0][3] != "web-2" {
		t.Fatalf("open alerts after the dismissal %q", open)
	}
	c.open(t, ctx, "/alerts?tab=dismissed", "#alerts")
	dis := rows(t, ctx, "#alerts")
	if len(dis) != 1 || dis[0][2] != "web-1" || dis[0][7] != "red team <exercise>" || dis[0][8] != "analyst@orgA" {
		t.Fatalf("dismissed tab %q, want web-1's alert with the reason and who", dis)
	}
	screenshot(t, ctx, "alerts-dismissed")
}

// New alerts appear on an open alerts page without a reload, and only on
// the pages of their own organization.
func TestBrowserAlertsStreamOrgScoped(t *testing.T) {
	c := startConsole(t)
	ctxA, ctxB := browser(t), browser(t)
	c.signIn(t, ctxA, c.AnalystA)
	c.signIn(t, ctxB, c.AnalystB)
	for _, ctx := range []context.Context{ctxA, ctxB} {
		c.open(t, ctx, "/alerts", "#live") // visible once the stream is open
	}
	now := time.Now()
	c.ingest(t, c.AdminA, []byte(tmpExec("a-1", "a-host", "/tmp/a-implant", now)))
	do(t, ctxA, "wait for orgA's new alert", chromedp.WaitVisible(chromedp.CSS("#alerts tr.fresh")))
	// orgB's own alert comes after orgA's: by the time orgB's page shows
	// it, its stream has polled past orgA's alert too.
	c.ingest(t, c.AdminB, []byte(tmpExec("b-1", "b-host", "/tmp/b-implant", now)))
	do(t, ctxB, "wait for orgB's new alert", chromedp.WaitVisible(chromedp.CSS("#alerts tr.fresh")))
	a, b := rows(t, ctxA, "#alerts"), rows(t, ctxB, "#alerts")
	if len(a) != 1 || a[0][3] != "a-host" {
		t.Errorf("orgA's page shows %q, want a-host's alert only", a)
	}
	if len(b) != 1 || b[0][3] != "b-host" {
		t.Errorf("orgB's page shows %q, want b-host's alert only", b)
	}
	if n := text(t, ctxA, "#fresh-count"); n != "1" {
		t.Errorf("orgA's new-alert count %q", n)
	}
	screenshot(t, ctxA, "alerts-live")
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string { return fmt.Sprintf("%q", s) }
