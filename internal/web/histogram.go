package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The histogram's drawing box; the SVG stretches it to the page's width.
const (
	histWidth  = 1000.0
	histHeight = 80.0
)

// histogram is the matches of an events search over time, drawn as SVG
// bars that link to their own range: a click narrows the search to it.
type histogram struct {
	Bars     []histBar
	From, To string // the first bucket's start, the last one's end
	Bucket   string // the width of a bar
	Total    int64
	Alerts   int64
}

type histBar struct {
	X, Y, W, H float64
	Href       string
	Title      string
	// Alerts started in the bar's range on the matched events' hosts.
	Alerts     int64
	AlertTitle string
}

// timelineRow is a row of the timeline analysis's JSON answer.
type timelineRow struct {
	Bucket     time.Time `json:"bucket"`
	BucketEnd  time.Time `json:"bucket_end"`
	EventType  string    `json:"event_type"`
	Count      int64     `json:"count"`
	Alerts     int64     `json:"alerts"`
	AlertRules []string  `json:"alert_rules"`
}

// linkTime is how the console writes a time into a URL: RFC 3339 in UTC,
// to the millisecond, which the API reads back exactly.
func linkTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// histogramOf asks the API's timeline analysis for the counts of e's
// matches per bucket (about 60 over the matched span) and draws them.
func (c *Console) histogramOf(ctx context.Context, s *session, e eventsQuery) (*histogram, error) {
	var rows []timelineRow
	body := map[string]string{"query": e.Q, "since": e.Since, "until": e.Until}
	if _, err := c.callJSON(ctx, s, "POST", "/api/v1/hunt/timeline?format=json", body, &rows); err != nil {
		return nil, err
	}
	return drawHistogram(rows, e), nil
}

// drawHistogram sums the timeline's rows per bucket and lays the bars out
// over the span from the first bucket to the last.
func drawHistogram(rows []timelineRow, e eventsQuery) *histogram {
	type bucket struct {
		start, end time.Time
		n, alerts  int64
		rules      []string
	}
	var buckets []*bucket
	for _, r := range rows {
		if len(buckets) == 0 || !buckets[len(buckets)-1].start.Equal(r.Bucket) {
			buckets = append(buckets, &bucket{start: r.Bucket, end: r.BucketEnd})
		}
		b := buckets[len(buckets)-1]
		b.n += r.Count
		b.alerts += r.Alerts
		b.rules = append(b.rules, r.AlertRules...)
	}
	h := &histogram{}
	if len(buckets) == 0 {
		return h
	}
	width := buckets[0].end.Sub(buckets[0].start)
	first, last := buckets[0].start, buckets[len(buckets)-1].end
	slots := float64(last.Sub(first) / width)
	var most int64
	for _, b := range buckets {
		most = max(most, b.n)
		h.Total += b.n
		h.Alerts += b.alerts
	}
	slot := histWidth / slots
	gap := min(slot*0.15, 2)
	for _, b := range buckets {
		x := float64(b.start.Sub(first)/width) * slot
		hgt := 0.0
		if most > 0 && b.n > 0 {
			hgt = max(2, float64(b.n)/float64(most)*(histHeight-6))
		}
		bar := histBar{X: x, W: slot - gap, H: hgt, Y: histHeight - hgt,
			// until is inclusive: the bucket's last millisecond.
			Href:   e.link("since", linkTime(b.start), "until", linkTime(b.end.Add(-time.Millisecond)), "cursor", ""),
			Title:  fmt.Sprintf("%s to %s: %d events", linkTime(b.start), linkTime(b.end), b.n),
			Alerts: b.alerts}
		if b.alerts > 0 {
			bar.AlertTitle = fmt.Sprintf("%d alerts started: %s", b.alerts, strings.Join(b.rules, ", "))
		}
		h.Bars = append(h.Bars, bar)
	}
	h.From, h.To, h.Bucket = linkTime(first), linkTime(last), width.String()
	return h
}

// histogramFrame draws the histogram of an events page in a frame of it,
// so the page's rows come without waiting for it: the two are queries of
// their own, and the histogram's is the costlier.
func (c *Console) histogramFrame(w http.ResponseWriter, r *http.Request, s *session) {
	e := eventsQueryOf(r)
	var d struct {
		Hist  *histogram
		Error string
	}
	var err error
	if d.Hist, err = c.histogramOf(r.Context(), s, e); err != nil {
		d.Error = err.Error()
	}
	c.renderFrame(w, "frame_histogram", d)
}
