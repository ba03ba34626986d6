package timeline

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/alert"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/hunt"
	"github.com/spoor-dev/spoor/internal/hunt/hunttest"
)

// The fleet is built once for the package (package hunttest).
func TestMain(m *testing.M) { hunttest.Main(m) }

func sqlCount(t *testing.T, f *hunttest.Fleet, sql string, args ...any) int64 {
	t.Helper()
	tab, err := hunt.Query(context.Background(), f.DB, f.Org, 0, event.MaxTime, sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	return tab.Rows[0][0].(int64)
}

func TestBucket(t *testing.T) {
	for _, c := range []struct {
		span, want time.Duration
	}{
		{0, time.Second}, {30 * time.Second, time.Second}, {time.Hour, time.Minute},
		{3 * time.Hour, 5 * time.Minute}, {24 * time.Hour, 30 * time.Minute}, {12 * 24 * time.Hour, 6 * time.Hour},
	} {
		if got := Bucket(c.span); got != c.want {
			t.Errorf("Bucket(%v) = %v, want %v", c.span, got, c.want)
		}
	}
}

// Counts sum to the SQL count, buckets are about 60 and in order, and an
// alert is marked in the bucket where it started.
func TestTimeline(t *testing.T) {
	f := hunttest.Shared(t)
	ctx := context.Background()
	// seed000's first victim, the day of the compromise
	var host string
	var at int64
	for _, l := range f.Labels {
		if l.Scenario == "seed000" && l.Step == "wget nmap" {
			host, at = l.Hostname, l.EventTime
			break
		}
	}
	if host == "" {
		t.Fatal("no seed000 wget in the labels")
	}
	day := at - at%86_400_000
	from, to := day, day+86_400_000-1
	_, err := f.DB.Alerts.Observe(f.Org, []alert.Hit{{Rule: "test-wget", Kind: "native", Title: "wget to /tmp",
		Severity: 2, Window: time.Hour, Threshold: 1, EventID: "x1", EventTime: at, Hostname: host}})
	if err != nil {
		t.Fatal(err)
	}
	filter := `hostname = "` + host + `"`
	tab, err := Run(ctx, f.DB, f.Org, filter, from, to, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := sqlCount(t, f, `SELECT count(*) FROM events WHERE hostname = ? AND epoch_ms(event_time) BETWEEN ? AND ?`, host, from, to)
	var sum, alerts int64
	buckets := map[time.Time]bool{}
	var marked []time.Time
	for i, r := range tab.Rows {
		sum += r[3].(int64)
		b := r[0].(time.Time)
		buckets[b] = true
		if i > 0 && b.Before(tab.Rows[i-1][0].(time.Time)) {
			t.Errorf("row %d out of order", i)
		}
		if n := r[4].(int64); n > 0 {
			alerts += n
			marked = append(marked, b)
			if !slices.Contains(r[5].([]string), "test-wget") {
				t.Errorf("alert rules %v", r[5])
			}
			if s, e := b.UnixMilli(), r[1].(time.Time).UnixMilli(); at < s || at >= e {
				t.Errorf("alert at %d marked in bucket [%d, %d)", at, s, e)
			}
		}
	}
	if sum != want || want == 0 {
		t.Errorf("counts sum to %d, SQL counts %d", sum, want)
	}
	if len(buckets) < 20 || len(buckets) > 61 {
		t.Errorf("%d buckets", len(buckets))
	}
	if alerts != 1 || len(marked) != 1 {
		t.Errorf("alerts %d in buckets %v", alerts, marked)
	}
	// another host's timeline does not show the alert
	other, err := Run(ctx, f.DB, f.Org, `hostname != "`+host+`"`, from, to, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range other.Rows {
		if r[4].(int64) != 0 {
			t.Errorf("alert of %s on other hosts' timeline: %v", host, r)
		}
		if d := r[1].(time.Time).Sub(r[0].(time.Time)); d != time.Hour {
			t.Errorf("bucket width %v", d)
		}
	}

	var buf bytes.Buffer
	if err := SVG(tab, &buf); err != nil {
		t.Fatal(err)
	}
	rects, ticks := countSVG(t, buf.Bytes())
	nonEmpty := 0
	for _, r := range tab.Rows {
		if r[3].(int64) > 0 {
			nonEmpty++
		}
	}
	if rects != nonEmpty || ticks != 1 {
		t.Errorf("svg: %d bars for %d non-empty bucket/types, %d alert ticks", rects, nonEmpty, ticks)
	}
}

// countSVG parses an SVG and counts its bar rects and alert ticks.
func countSVG(t *testing.T, b []byte) (rects, ticks int) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	root := true
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("svg is not XML: %v\n%s", err, b)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if root && (se.Name.Local != "svg" || se.Name.Space != "http://www.w3.org/2000/svg") {
			t.Errorf("root %v", se.Name)
		}
		root = false
		for _, a := range se.Attr {
			if a.Name.Local == "class" && se.Name.Local == "rect" && a.Value == "bar" {
				rects++
			}
			if a.Name.Local == "class" && a.Value == "alert" {
				ticks++
			}
		}
	}
	return rects, ticks
}

func TestSVGEdgeCases(t *testing.T) {
	var buf bytes.Buffer
	if err := SVG(hunt.Table{Columns: Columns}, &buf); err != nil {
		t.Fatal(err)
	}
	if r, k := countSVG(t, buf.Bytes()); r != 0 || k != 0 {
		t.Errorf("empty: %d %d", r, k)
	}
	t0 := time.Date(2020, 2, 14, 0, 0, 0, 0, time.UTC)
	tab := hunt.Table{Columns: Columns, Rows: [][]any{
		{t0, t0.Add(time.Hour), `a<b&"c"`, int64(3), int64(2), []string{"r<1>", "r&2"}},
		{t0, t0.Add(time.Hour), "file", int64(1), int64(0), []string(nil)},
		{t0.Add(2 * time.Hour), t0.Add(3 * time.Hour), "", int64(0), int64(1), []string{"x"}},
	}}
	buf.Reset()
	if err := SVG(tab, &buf); err != nil {
		t.Fatal(err)
	}
	if r, k := countSVG(t, buf.Bytes()); r != 2 || k != 2 {
		t.Errorf("bars %d ticks %d\n%s", r, k, buf.Bytes())
	}
	if err := SVG(hunt.Table{Columns: []string{"x"}}, &buf); err == nil {
		t.Error("table without the columns accepted")
	}
}

func TestBadInput(t *testing.T) {
	f := hunttest.Shared(t)
	if _, err := Run(context.Background(), f.DB, f.Org, `hostname =`, 0, event.MaxTime, 0); err == nil {
		t.Error("bad filter accepted")
	}
	if _, err := Run(context.Background(), f.DB, f.Org, ``, 0, event.MaxTime, time.Millisecond); err == nil {
		t.Error("millions of buckets accepted")
	}
}
