package web_test

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The events pages, newest first, follow each other in order with none
// left out or shown twice, from the newest hour (which the first page
// reads alone when it holds a page) to the oldest events.
func TestEventsPagesInOrder(t *testing.T) {
	for _, newest := range []int{60, 30} { // more than a page of 50 in the newest hour, and fewer
		t.Run(fmt.Sprint(newest), func(t *testing.T) { pagesInOrder(t, newest) })
	}
}

func pagesInOrder(t *testing.T, newest int) {
	c := startConsole(t)
	last := time.Now().UTC().Truncate(time.Hour).Add(10 * time.Minute)
	var b strings.Builder
	var want []string
	for i := newest - 1; i >= 0; i-- { // in the newest hour
		id := fmt.Sprintf("new-%02d", i)
		b.WriteString(eventLine(id, "h", last.Add(time.Duration(i)*time.Second), map[string]any{"event_type": "audit"}))
		want = append(want, id)
	}
	for i := 59; i >= 0; i-- { // 60 two hours before
		id := fmt.Sprintf("old-%02d", i)
		b.WriteString(eventLine(id, "h", last.Add(-2*time.Hour+time.Duration(i)*time.Second), map[string]any{"event_type": "audit"}))
		want = append(want, id)
	}
	c.ingest(t, c.AdminA, []byte(b.String()))
	cl, _ := c.httpSession(t, c.AnalystA)
	idRe := regexp.MustCompile(`href="/events/([a-z]+-[0-9]+)\?t=`)
	nextRe := regexp.MustCompile(`<a href="([^"]+)" rel="next">`)
	var got []string
	page := "/events"
	for n := 0; page != "" && n < 10; n++ {
		resp, err := cl.Get(c.URL + page)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, m := range idRe.FindAllSubmatch(body, -1) {
			got = append(got, string(m[1]))
		}
		page = ""
		if m := nextRe.FindSubmatch(body); m != nil {
			page = strings.ReplaceAll(string(m[1]), "&amp;", "&")
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("pages newest first:\n got %v\nwant %v", got, want)
	}
}
