package web_test

import (
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The alerts page shows a hundred alerts a page, the rest a link away,
// and each alert's events through a short link that leads to their search.
func TestAlertsPages(t *testing.T) {
	c := startConsole(t)
	now := time.Now()
	var b strings.Builder
	for i := range 120 {
		b.WriteString(tmpExec(fmt.Sprintf("x-%d", i), "web-1", fmt.Sprintf("/tmp/implant-%03d", i), now.Add(time.Duration(i)*time.Second)))
	}
	c.ingest(t, c.AdminA, []byte(b.String()))
	cl, _ := c.httpSession(t, c.AnalystA)
	get := func(path string) (int, string, string) {
		t.Helper()
		resp, err := cl.Get(c.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location"), string(body)
	}
	rowRe := regexp.MustCompile(`<tr data-id="([0-9a-f]+)">`)
	nextRe := regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
	_, _, first := get("/alerts")
	m := nextRe.FindStringSubmatch(first)
	if n := len(rowRe.FindAllString(first, -1)); n != 100 || m == nil {
		t.Fatalf("first page: %d alerts, next link %v", n, m)
	}
	_, _, second := get(strings.ReplaceAll(m[1], "&amp;", "&"))
	if n := len(rowRe.FindAllString(second, -1)); n != 20 || nextRe.MatchString(second) {
		t.Fatalf("second page: %d alerts, want the last 20 and no next page", n)
	}
	// The newest alert's events: a short link, sent on to the search.
	id := rowRe.FindStringSubmatch(first)[1]
	if !strings.Contains(first, `href="/alerts/`+id+`/events"`) {
		t.Fatalf("no short events link for alert %s", id)
	}
	code, to, _ := get("/alerts/" + id + "/events")
	if code != 303 || !strings.Contains(to, "q=_id+in+%28%22x-119%22%29") {
		t.Fatalf("the events link of the newest alert: %d to %s", code, to)
	}
	if code, _, _ := get("/alerts/nope/events"); code != 404 {
		t.Errorf("an unknown alert's events: %d, want 404", code)
	}
	// A filter over the alerts' fields, and a bad one marked where it fails.
	_, _, one := get("/alerts?q=" + url.QueryEscape(`group_key contains "implant-007"`))
	if n := len(rowRe.FindAllString(one, -1)); n != 1 || !strings.Contains(one, "implant-007") {
		t.Errorf("filtered to one alert: %d rows", n)
	}
	code, _, bad := get("/alerts?q=" + url.QueryEscape(`severity = `))
	if code != 400 || !strings.Contains(bad, `id="qerror"`) || !strings.Contains(bad, "<mark> </mark>") {
		t.Errorf("a bad alert filter: %d\n%s", code, bad)
	}
}
