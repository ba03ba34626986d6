package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/spoor-dev/spoor/internal/gen"
)

// The seed-000 victim of `spoor gen`'s fleet: its agent id and host name.
const (
	victimAgent = gen.Seed000AgentID
	victimHost  = "ip-10-0-3-53.ec2.internal"
	goldenAgent = "24d2726b-c103-11e9-86ce-cf1b9557ec5a" // same image, never attacked
)

// fleetOnce generates the demo fleet once per test binary: the seeds'
// windows in 2020 with their attacks, 6 hosts (the fewest the scenarios
// take), 2 events an hour each: about 8k events.
var fleetOnce = sync.OnceValues(func() ([]byte, error) {
	var buf bytes.Buffer
	_, err := gen.Generate(context.Background(), gen.Options{Seed: 1, Hosts: 6, Rate: 2}, &buf, io.Discard)
	return buf.Bytes(), err
})

// genFleet ingests the demo fleet into token's organization through the
// API, as `spoor gen | spoor ingest --server` would, so detection sees it.
func (c *console) genFleet(t testing.TB, token string) {
	t.Helper()
	b, err := fleetOnce()
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	for len(lines) > 0 {
		n := min(len(lines), 20_000)
		c.ingest(t, token, bytes.Join(lines[:n], nil))
		lines = lines[n:]
	}
}

// An analyst walks seed 000 on the host page: the hosts list, the victim's
// page, the window of the compromise, and what is new in it.
func TestBrowserHostWhatChanged(t *testing.T) {
	c := startConsole(t)
	c.genFleet(t, c.AdminA)
	// An agent that reported losses, silent past a threshold of 1 ms.
	c.ingest(t, c.AdminA, []byte(eventLine("health-1", "quiet-1", time.Now(), map[string]any{"agent_id": "agent-quiet",
		"event_type": "host", "type": "agent_health", "agent_version": "0.9.0", "lost_total": 7,
		"losses": map[string]int{"kernel_lost": 5, "backlog": 2}})))
	ctx := browser(t)
	c.signIn(t, ctx, c.AnalystA)

	c.open(t, ctx, "/hosts?silent_after=1ms", "#hosts")
	hosts := eval[[]string](t, ctx, `[...document.querySelectorAll('#hosts a.host-link')].map(a => a.textContent)`)
	if len(hosts) != 8 || !slices.Contains(hosts, victimHost) || hosts[0] != "quiet-1" {
		t.Fatalf("the hosts page lists %q, want the fleet's 7 hosts with %s, after the silent quiet-1", hosts, victimHost)
	}
	if got := text(t, ctx, "#hosts tbody tr.status-silent"); !strings.Contains(got, "silent") || !strings.Contains(got, "kernel_lost 5, backlog 2") {
		t.Errorf("the silent agent's row says %q", got)
	}
	if got := text(t, ctx, "#hosts-summary"); got != "8 hosts, 1 silent" {
		t.Errorf("summary %q", got)
	}
	screenshot(t, ctx, "hosts")

	navigate(t, ctx, "open the victim's page", "#timeline",
		chromedp.Click(chromedp.CSS(`#hosts a.host-link[href="/hosts/`+victimAgent+`"]`)))
	if got := text(t, ctx, "#host-name"); !strings.HasPrefix(got, victimHost) {
		t.Errorf("host page title %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#timeline rect.bar').length`); n == 0 {
		t.Error("the timeline has no bars")
	}
	if got := text(t, ctx, "#diff-prompt"); !strings.Contains(got, "Choose the window") {
		t.Errorf("without a window the page should ask for one, says %q", got)
	}

	// The first alert of tmp-binary-exec (seed 000's implants run from
	// /tmp) is one click from what changed in its bar, against the host's
	// own past.
	spans := eval[[]string](t, ctx, `[...document.querySelectorAll('#alert-spans a')].map(a => a.textContent)`)
	i := slices.IndexFunc(spans, func(s string) bool { return strings.HasPrefix(s, "tmp-binary-exec ") })
	if i < 0 {
		t.Fatalf("the alert windows %q lack tmp-binary-exec", spans)
	}
	navigate(t, ctx, "diff the bar in which tmp-binary-exec first alerted", "#diff-note",
		chromedp.Click(chromedp.CSS(`#alert-spans a:nth-of-type(`+strconv.Itoa(i+1)+`)`)))
	wantNew(t, diffRows(t, ctx), "executable /tmp/sliver new", "executable /tmp/nmap new", "executable /usr/bin/wget new")
	if u := eval[string](t, ctx, `location.search`); !strings.Contains(u, "since=2020-02-13") {
		t.Errorf("the window is not in the URL, or not the week of the compromise: %s", u)
	}

	// The same window against a golden host of the same image that was
	// never attacked.
	navigate(t, ctx, "diff against a golden host", "#diff-note",
		chromedp.SetValue(chromedp.CSS("#against"), goldenAgent),
		chromedp.Click(chromedp.CSS("#diff-run")))
	if got := text(t, ctx, "#diff-note"); !strings.Contains(got, "against host "+goldenAgent) || !strings.Contains(got, "2020-02-13T00:00:00.000Z .. 2020-02-19T23:59:59.999Z") {
		t.Errorf("the diff says %q", got)
	}
	wantNew(t, diffRows(t, ctx), "executable /tmp/sliver new", "executable /tmp/nmap new")
	screenshot(t, ctx, "host-diff")

	// Sessions, and the process tree of one.
	navigate(t, ctx, "open the logon sessions", "#hunt",
		chromedp.Click(chromedp.CSS(`nav.tabs a[href*="tab=sessions"]`)))
	if n := eval[int](t, ctx, `document.querySelectorAll('#hunt tbody tr').length`); n == 0 {
		t.Fatal("no logon sessions in the compromise's window")
	}
	navigate(t, ctx, "open a session's process tree", "#tree",
		chromedp.Click(chromedp.CSS(`#hunt tbody tr td.open a`)))
	screenshot(t, ctx, "host-sessions")

	navigate(t, ctx, "open the connections", "#hunt",
		chromedp.Click(chromedp.CSS(`nav.tabs a[href*="tab=connections"]`)))
	conns := eval[[]string](t, ctx, `[...document.querySelectorAll('#hunt tbody tr td:first-child')].map(td => td.textContent)`)
	if len(conns) == 0 {
		t.Error("no connections in the compromise's window")
	}
	screenshot(t, ctx, "host-connections")
}

// navigate runs steps that load a new page (a click on a link, a form
// submitted) and waits until that page shows sel: the old page is marked
// first, so its own sel does not count.
func navigate(t testing.TB, ctx context.Context, what, sel string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	eval[bool](t, ctx, `document.documentElement.dataset.old = "1"; true`)
	steps = append(steps, chromedp.WaitVisible(chromedp.CSS(`html:not([data-old]) `+sel)))
	do(t, ctx, what, steps...)
}

// wantNew fails the test unless the diff rows hold each of want, and
// none of them is sshd, which every host ran before.
func wantNew(t testing.TB, rows []string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !slices.Contains(rows, w) {
			t.Errorf("the diff lacks %q; rows:\n%s", w, strings.Join(rows, "\n"))
		}
	}
	for _, r := range rows {
		if strings.HasPrefix(r, "executable /usr/sbin/sshd ") {
			t.Errorf("sshd ran before too, yet the diff lists it: %q", r)
		}
	}
}

// diffRows reads the diff table as "category item status" lines.
func diffRows(t testing.TB, ctx context.Context) []string {
	t.Helper()
	return eval[[]string](t, ctx, `(() => {
	  const head = [...document.querySelectorAll('#hunt thead th')].map(th => th.textContent);
	  const at = name => head.indexOf(name);
	  return [...document.querySelectorAll('#hunt tbody tr')].map(tr => {
	    const td = [...tr.children].map(c => c.textContent);
	    return td[at('category')] + ' ' + td[at('item')] + ' ' + td[at('status')];
	  });
	})()`)
}

// One organization's session never reaches another's host: the host page
// of orgA's victim is 404 to orgB, in the browser and over plain HTTP.
func TestHostOfAnotherOrganization(t *testing.T) {
	c := startConsole(t)
	now := time.Now()
	c.ingest(t, c.AdminA, []byte(eventLine("a-1", "secret-a", now, map[string]any{"agent_id": victimAgent, "event_type": "audit", "exe": "/bin/ls"})))
	c.ingest(t, c.AdminB, []byte(eventLine("b-1", "web-b", now, map[string]any{"event_type": "audit", "exe": "/bin/ls"})))

	jarA, jarB := c.session(t, c.AnalystA), c.session(t, c.AnalystB)
	if code, body := getWith(t, jarA, c.URL+"/hosts/"+victimAgent); code != 200 || !strings.Contains(body, "secret-a") {
		t.Fatalf("orgA's own host: %d", code)
	}
	code, body := getWith(t, jarB, c.URL+"/hosts/"+victimAgent)
	if code != http.StatusNotFound || strings.Contains(body, "secret-a") {
		t.Fatalf("orgB reading orgA's host: %d, want 404 without its name", code)
	}
	if _, body := getWith(t, jarB, c.URL+"/hosts"); strings.Contains(body, "secret-a") || !strings.Contains(body, "web-b") {
		t.Fatalf("orgB's hosts list shows another organization's host, or not its own")
	}

	ctx := browser(t)
	c.signIn(t, ctx, c.AnalystB)
	resp := get(t, ctx, "open orgA's host", chromedp.NavigateResponse(c.URL+"/hosts/"+url.PathEscape(victimAgent)))
	if resp.Status != http.StatusNotFound {
		t.Errorf("orgB's browser got %d for orgA's host, want 404", resp.Status)
	}
	if got := text(t, ctx, "main"); strings.Contains(got, "secret-a") || !strings.Contains(got, "no host") {
		t.Errorf("the page says %q", got)
	}
}

// session signs in over plain HTTP and returns the cookie jar holding the
// session.
func (c *console) session(t testing.TB, token string) *cookiejar.Jar {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.PostForm(c.URL+"/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	return jar
}

// getWith reads a console page with a session's cookies.
func getWith(t testing.TB, jar http.CookieJar, u string) (int, string) {
	t.Helper()
	cl := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
