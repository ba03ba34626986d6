package web

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// The host timeline's drawing box; the SVG stretches it to the page.
const (
	chartWidth  = 1000.0
	chartHeight = 110.0
	chartMark   = 8.0 // the alert marks' band above the bars
)

// hostChart is a host's events over time, as SVG bars that link to their
// own range (a click narrows the page to it), alerts marked above them.
type hostChart struct {
	Width, Height, Mark float64
	Bars                []chartBar
	From, To, Bucket    string
	Total, Alerts       int64
}

type chartBar struct {
	X, Y, W, H   float64
	Href, Title  string
	Label        string // the bucket's start, as the page shows times
	Since, Until string // the bucket's range, as the URL writes it
	Alerts       int64
	AlertTitle   string
	Rules        []string // of the alerts that started in it
}

// timelinePoint is a row of the timeline analysis's JSON answer.
type timelinePoint struct {
	Bucket     time.Time `json:"bucket"`
	BucketEnd  time.Time `json:"bucket_end"`
	EventType  string    `json:"event_type"`
	Count      int64     `json:"count"`
	Alerts     int64     `json:"alerts"`
	AlertRules []string  `json:"alert_rules"`
}

// hostTimeline asks the API's timeline analysis for the host's events per
// bucket (about 60 over their span in the page's range) and draws them.
func (c *Console) hostTimeline(ctx context.Context, s *session, h agentRow, q hostQuery) (*hostChart, error) {
	var rows []timelinePoint
	body := map[string]string{"query": h.filter(), "since": q.Since, "until": q.Until}
	if _, err := c.callJSON(ctx, s, "POST", "/api/v1/hunt/timeline?format=json", body, &rows); err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	return drawHostChart(rows, q), nil
}

// drawHostChart sums the timeline's rows per bucket and lays the bars out
// over the span from the first bucket to the last.
func drawHostChart(rows []timelinePoint, q hostQuery) *hostChart {
	type bucket struct {
		start, end time.Time
		n, alerts  int64
		types      map[string]int64
		rules      []string
	}
	var buckets []*bucket
	for _, r := range rows {
		if len(buckets) == 0 || !buckets[len(buckets)-1].start.Equal(r.Bucket) {
			buckets = append(buckets, &bucket{start: r.Bucket, end: r.BucketEnd, types: map[string]int64{}})
		}
		b := buckets[len(buckets)-1]
		b.n += r.Count
		if r.Count > 0 {
			b.types[r.EventType] += r.Count
		}
		b.alerts += r.Alerts
		b.rules = append(b.rules, r.AlertRules...)
	}
	ch := &hostChart{Width: chartWidth, Height: chartHeight, Mark: chartMark}
	if len(buckets) == 0 {
		return ch
	}
	width := buckets[0].end.Sub(buckets[0].start)
	first, last := buckets[0].start, buckets[len(buckets)-1].end
	slot := chartWidth / float64(last.Sub(first)/width)
	gap := min(slot*0.15, 2)
	var most int64
	for _, b := range buckets {
		most = max(most, b.n)
		ch.Total += b.n
		ch.Alerts += b.alerts
	}
	room := chartHeight - chartMark - 2
	for _, b := range buckets {
		hgt := 0.0
		if most > 0 && b.n > 0 {
			hgt = max(2, float64(b.n)/float64(most)*room)
		}
		// until is inclusive: the bucket's last millisecond.
		since, until := linkTimeMS(b.start.UnixMilli()), linkTimeMS(b.end.UnixMilli()-1)
		bar := chartBar{X: float64(b.start.Sub(first)/width) * slot, W: max(slot-gap, 1), H: hgt, Y: chartHeight - hgt,
			Href: q.link("since", since, "until", until, "session", "", "pid", ""), Since: since, Until: until,
			Label: fmtTime(b.start), Title: fmt.Sprintf("%s to %s: %d events%s", fmtTime(b.start), fmtTime(b.end), b.n, typeCounts(b.types)),
			Alerts: b.alerts}
		if b.alerts > 0 {
			bar.Rules = dedupe(b.rules)
			bar.AlertTitle = fmt.Sprintf("%d alerts started: %s", b.alerts, strings.Join(bar.Rules, ", "))
		}
		ch.Bars = append(ch.Bars, bar)
	}
	ch.From, ch.To, ch.Bucket = fmtTime(first), fmtTime(last), width.String()
	return ch
}

// typeCounts is " (audit 80, network 40)": a bucket's events by type,
// most first.
func typeCounts(types map[string]int64) string {
	if len(types) == 0 {
		return ""
	}
	if n, ok := types[""]; ok {
		types["(no type)"] = n
		delete(types, "")
	}
	return " (" + countsText(types) + ")"
}

// dedupe keeps the first of each string, in order.
func dedupe(l []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range l {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// fmtTime shows a time in UTC to the second, as the pages show times.
func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

// procNode is a process of a tree with the processes it started.
type procNode struct {
	PID, User, TargetUser, Exe, Args, Start string
	Event                                   string // the exec event's page
	Root                                    string // the tree rooted at this process
	Children                                []*procNode
}

// procTree nests the tree analysis's rows, which come depth first with
// their depth, into procNodes.
func procTree(rows []map[string]any, q hostQuery) []*procNode {
	var roots []*procNode
	var stack []*procNode // stack[i]: the last process at depth i
	for _, r := range rows {
		depth := 0
		fmt.Sscan(cellText(r["depth"]), &depth)
		pid := cellText(r["pid"])
		n := &procNode{PID: pid, User: cellText(r["user"]), TargetUser: cellText(r["target_user"]), Exe: cellText(r["exe"]),
			Args: cellText(r["arguments"]), Start: cellText(r["start"]), Event: eventPage(cellText(r["event_id"])),
			Root: q.link("tab", "sessions", "pid", pid, "session", "") + "#tree"}
		if n.Exe == "" {
			n.Exe = "? (exec not seen)"
		}
		if depth > len(stack) {
			depth = len(stack) // a gap in depths: hang it under the deepest
		}
		stack = append(stack[:depth], n)
		if depth == 0 {
			roots = append(roots, n)
		} else {
			p := stack[depth-1]
			p.Children = append(p.Children, n)
		}
	}
	return roots
}
