package web_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
)

// paintProbe runs before a page's own scripts (injected by DevTools, past
// the CSP) and records when the page's first frame with its rows was
// painted: two animation frames after the DOM is complete (server-rendered
// rows are in it by then), in ms since navigation start (performance's
// time origin).
const paintProbe = `document.addEventListener('DOMContentLoaded', () => {
  const rows = document.querySelectorAll('#results tbody tr, #alerts tbody tr').length;
  requestAnimationFrame(() => requestAnimationFrame(() => { window.__painted = {ms: performance.now(), rows: rows}; }));
});`

// pageLoad is one measured navigation.
type pageLoad struct {
	MS     float64 `json:"ms"`     // navigation start to rows painted
	Rows   int     `json:"rows"`   // rows on the page
	HTML   int     `json:"html"`   // bytes of the document
	Assets int     `json:"assets"` // bytes of its CSS and JS
}

// measure navigates to path and reads the paint probe and the page's
// weight (decoded bytes, whether cached or not) from the Performance API.
func (c *console) measure(t testing.TB, ctx context.Context, path string) pageLoad {
	t.Helper()
	do(t, ctx, "open "+path, chromedp.Navigate(c.URL+path))
	return get(t, ctx, "measure "+path, chromedp.Poll[pageLoad](`window.__painted && {
  ms: window.__painted.ms, rows: window.__painted.rows,
  html: performance.getEntriesByType('navigation')[0].decodedBodySize,
  assets: performance.getEntriesByType('resource').reduce((n, r) => n + r.decodedBodySize, 0)}`))
}

// envInt reads an integer setting of the benchmark from the environment.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkConsolePages measures, in a real browser over a demo-sized
// lake (spoor demo's fleet: 20 hosts at 200 events an hour over the seeds'
// 15 days, about 1.5M events; SPOOR_BENCH_HOSTS and SPOOR_BENCH_RATE
// change it), the time from navigation start to the rows painted and the
// page weight (HTML, CSS and JS bytes) of the events page (all events,
// and the seed-001 search), an event and the alerts page. Targets (issue
// 15): first rows within 1 s, at most 150 KB a page.
func BenchmarkConsolePages(b *testing.B) {
	c := startConsole(b)
	n := c.loadFleet(b, c.AdminA, envInt("SPOOR_BENCH_HOSTS", 20), float64(envInt("SPOOR_BENCH_RATE", 200)))
	b.Logf("lake: %d events", n)
	ctx := browser(b)
	c.signIn(b, ctx, c.AnalystA)
	probeWith(b, ctx, paintProbe)
	pages := []struct{ name, path string }{
		{"events", "/events"},
		{"search", "/events?q=event_type+%3D+%22login%22+AND+agent_id+%3D+%22436dd34c-f795-11ea-a752-21e3e3eb7c50%22"},
		{"event", ""}, // the first event of the search, filled in below
		{"alerts", "/alerts"},
	}
	c.measure(b, ctx, pages[1].path)
	pages[2].path = get(b, ctx, "first event", chromedp.Evaluate[string](`document.querySelector('#results td.open a').getAttribute('href')`))
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			var total float64
			var last pageLoad
			for b.Loop() {
				last = c.measure(b, ctx, p.path)
				total += last.MS
			}
			b.ReportMetric(total/float64(b.N), "ms/first-rows")
			b.ReportMetric(float64(last.HTML+last.Assets), "B/page")
			b.ReportMetric(float64(last.Rows), "rows")
		})
	}
}
