package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Payloads an attacker puts in event fields (command lines, file names,
// user names): each would set window.__xss if a page ran it.
var payloads = map[string]string{
	"exe":       `/tmp/<script>window.__xss=1</script>`,
	"user":      `"><img src=x onerror="window.__xss=2">`,
	"arguments": `javascript:window.__xss=3`,
	"hostname":  `h'><svg onload=window.__xss=4>`,
	"Image":     `</pre><script>window.__xss=5</script>`,
	"cwd":       `<a href="javascript:window.__xss=6">click</a>`,
}

func xssEvent(id string, at time.Time) string {
	f := map[string]any{"event_type": "audit", "syscall": "execve", "pid": 4242, "ppid": 1, "session": 7}
	for k, v := range payloads {
		if k != "hostname" {
			f[k] = v
		}
	}
	return eventLine(id, payloads["hostname"], at, f)
}

// clean fails the test when the page ran, or tried to run, anything an
// attacker wrote: the payloads' global, a CSP violation, a script error, a
// javascript: link or an element a payload would have made.
func clean(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	if v := eval[bool](t, ctx, `typeof window.__xss !== 'undefined'`); v {
		t.Errorf("%s: an injected script ran (window.__xss = %v)", page, eval[any](t, ctx, `window.__xss`))
	}
	if p := readProbe(t, ctx); len(p.Violations) > 0 || len(p.Errors) > 0 {
		t.Errorf("%s: CSP violations %q, script errors %q", page, p.Violations, p.Errors)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('main script, main img, main svg, [onerror], [onload], a[href^="javascript:" i]').length`); n > 0 {
		html := eval[string](t, ctx, `document.querySelector('main').innerHTML`)
		t.Errorf("%s: %d elements made of event data: %s", page, n, html)
	}
}

// Event fields holding script, HTML, javascript: URLs and quotes that
// break out of attributes are shown as text on every page that shows
// them, and nothing of theirs runs (TestBrowserXSS checks it in the
// browser: the payloads' global, the CSP violation listener, the DOM).
func TestBrowserXSS(t *testing.T) {
	c := startConsole(t)
	now := time.Now()
	c.ingest(t, c.AdminA, []byte(xssEvent("xss-1", now.Add(-time.Minute))))
	ctx := browser(t)
	probe(t, ctx)
	c.signIn(t, ctx, c.AnalystA)
	cols := "event_time,hostname,exe,user,arguments,cwd"
	c.open(t, ctx, "/events?cols="+cols, "#results")
	got := rows(t, ctx, "#results")
	want := []string{"open", "", payloads["hostname"], payloads["exe"], payloads["user"], payloads["arguments"], payloads["cwd"]}
	if len(got) != 1 || len(got[0]) != len(want) {
		t.Fatalf("events page rows %q", got)
	}
	for i := 2; i < len(want); i++ {
		if got[0][i] != want[i] {
			t.Errorf("events page cell %d shows %q, want the text %q", i, got[0][i], want[i])
		}
	}
	clean(t, ctx, "events")
	// A query holding a payload, echoed in the box and in its error.
	c.open(t, ctx, "/events?q="+url.QueryEscape(`exe = "</script><script>window.__xss=7</script>" AND (`), "#qerror")
	clean(t, ctx, "events with a bad query")

	c.open(t, ctx, "/events/xss-1", "#raw")
	fields := eval[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll('#fields dt')].map(dt => [dt.textContent, dt.nextElementSibling.querySelector('.v').textContent]))`)
	for k, v := range payloads {
		if fields[k] != v {
			t.Errorf("event page field %s shows %q, want the text %q", k, fields[k], v)
		}
	}
	if raw := text(t, ctx, "#raw"); !strings.Contains(raw, `"user": "\"><img src=x onerror=\"window.__xss=2\">"`) {
		t.Errorf("the original event is not shown as its JSON text: %s", raw)
	}
	clean(t, ctx, "event")
	// Every pivot of the event, with the payloads in its URL and page.
	links := eval[[]string](t, ctx, `[...document.querySelectorAll('#pivots a, #fields a.sweep')].map(a => a.getAttribute('href'))`)
	if len(links) < 6 {
		t.Fatalf("the event has %d pivots: %q", len(links), links)
	}
	for _, l := range links {
		if !strings.HasPrefix(l, "/") {
			t.Fatalf("a pivot link leaves the console: %q", l)
		}
		c.open(t, ctx, l, "main h1, main form")
		clean(t, ctx, l)
	}
	c.open(t, ctx, "/pivot/tree?host="+url.QueryEscape(payloads["hostname"])+"&session=7", "#tree")
	if exe := text(t, ctx, "#tree .exe"); exe != payloads["exe"] {
		t.Errorf("the process tree shows %q, want the text %q", exe, payloads["exe"])
	}
	clean(t, ctx, "tree")

	// The alert the /tmp exec opened, server-rendered and streamed.
	c.open(t, ctx, "/alerts", "#live")
	if a := rows(t, ctx, "#alerts"); len(a) != 1 || a[0][3] != payloads["hostname"] {
		t.Fatalf("alerts %q, want the payload host's", a)
	}
	clean(t, ctx, "alerts")
	c.ingest(t, c.AdminA, []byte(eventLine("xss-2", `<img src=x onerror="window.__xss=8">`, now,
		map[string]any{"event_type": "audit", "syscall": "execve", "exe": `/tmp/"><script>window.__xss=9</script>`})))
	do(t, ctx, "wait for the streamed alert", chromedp.WaitVisible(chromedp.CSS("#alerts tr.fresh")))
	host := eval[string](t, ctx, `document.querySelector('#alerts tr.fresh').cells[3].textContent`)
	if host != `<img src=x onerror="window.__xss=8">` {
		t.Errorf("the streamed alert's host shows %q, want the payload as text", host)
	}
	clean(t, ctx, "alerts after the stream")
	screenshot(t, ctx, "xss")
}

// One organization's session never sees another's events, alerts or the
// answers of pivots over them; the same pages show its own.
func TestBrowserOrgIsolation(t *testing.T) {
	c := startConsole(t)
	now := time.Now()
	c.ingest(t, c.AdminA, []byte(tmpExec("a-secret", "a-host", "/tmp/a-implant", now)))
	c.ingest(t, c.AdminB, []byte(eventLine("b-own", "b-host", now, map[string]any{"event_type": "audit", "exe": "/usr/bin/true"})))
	ctxA, ctxB := browser(t), browser(t)
	c.signIn(t, ctxA, c.AnalystA)
	c.signIn(t, ctxB, c.AnalystB)
	for _, p := range []struct {
		path, sel    string
		orgA, orgB   string // the text each organization's page must, and the other's must not, hold
		bothHaveRows bool
	}{
		{"/events", "#results", "a-host", "b-host", true},
		{"/alerts", "#alerts", "a-host", "No open alerts", false},
		{"/pivot/exe?exe=" + url.QueryEscape("/tmp/a-implant"), "main h1", "a-host", "Nothing found", false},
		{"/pivot/sweep?ioc=" + url.QueryEscape("/tmp/a-implant"), "main h1", "a-host", "Nothing found", false},
		{"/pivot/tree?host=a-host&pid=4242", "main h1", "", "", false},
	} {
		c.open(t, ctxA, p.path, p.sel)
		c.open(t, ctxB, p.path, p.sel)
		a, b := text(t, ctxA, "main"), text(t, ctxB, "main")
		if p.orgA != "" && (!strings.Contains(a, p.orgA) || strings.Contains(b, p.orgA)) {
			t.Errorf("%s: orgA's %q shows on orgB's page, or not on orgA's\norgA: %s\norgB: %s", p.path, p.orgA, a, b)
		}
		if p.orgB != "" && (!strings.Contains(b, p.orgB) || strings.Contains(a, p.orgB)) {
			t.Errorf("%s: orgB's %q shows on orgA's page, or not on orgB's\norgA: %s\norgB: %s", p.path, p.orgB, a, b)
		}
		if strings.Contains(b, "a-secret") || strings.Contains(b, "a-implant") && !strings.Contains(p.path, "a-implant") {
			t.Errorf("%s: orgB's page shows orgA's event: %s", p.path, b)
		}
	}
	// orgA's event by its id: orgA sees it whole (found over all time when
	// the link's time is wrong), orgB is told there is none.
	c.open(t, ctxA, "/events/a-secret?t=2001-01-01T00:00:00.000Z", "#raw")
	c.open(t, ctxB, "/events/a-secret", "main .error")
	if b := text(t, ctxB, "main"); !strings.Contains(b, `no event "a-secret"`) || strings.Contains(b, "a-implant") {
		t.Errorf("orgB opening orgA's event: %s", b)
	}
}

// An ingest token cannot sign in: the page says why and no session
// cookie is set.
func TestBrowserIngestTokenRefused(t *testing.T) {
	c := startConsole(t)
	ctx := browser(t)
	do(t, ctx, "sign in with an ingest token",
		chromedp.Navigate(c.URL+"/login"),
		chromedp.SendKeys(chromedp.CSS("#token"), c.IngestA),
		chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(chromedp.CSS(".login .error")))
	if msg := text(t, ctx, ".login .error"); !strings.Contains(msg, "an ingest token cannot sign in") {
		t.Errorf("the refusal says %q", msg)
	}
	if ck := c.cookie(t, ctx, "spoor_session"); ck != nil {
		t.Errorf("an ingest token got a session cookie: %+v", ck)
	}
	c.open(t, ctx, "/events", "#token") // still signed out: back to the sign-in page
}

// The session cookie is HttpOnly (scripts cannot read it), SameSite=Strict
// and scoped to the whole console.
func TestBrowserSessionCookie(t *testing.T) {
	c := startConsole(t)
	ctx := browser(t)
	c.signIn(t, ctx, c.AnalystA)
	ck := c.cookie(t, ctx, "spoor_session")
	if ck == nil {
		t.Fatal("no session cookie after signing in")
	}
	if !ck.HTTPOnly || ck.SameSite != "Strict" || ck.Path != "/" || ck.Secure || len(ck.Value) < 43 {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite Strict, Path /, not Secure over plain HTTP, 256 random bits", ck)
	}
	if js := eval[string](t, ctx, `document.cookie`); strings.Contains(js, "spoor_session") {
		t.Errorf("a script reads the session cookie: %q", js)
	}
	// Signing out ends the session: its cookie no longer opens a page.
	do(t, ctx, "sign out", chromedp.Click(chromedp.CSS(".who button")), chromedp.WaitVisible(chromedp.CSS("#token")))
	req, _ := http.NewRequest("GET", c.URL+"/events", nil)
	req.AddCookie(&http.Cookie{Name: "spoor_session", Value: ck.Value})
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("the signed-out session's cookie still opens /events: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}
