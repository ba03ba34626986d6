package timeline

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/spoor-dev/spoor/internal/hunt"
)

// palette gives event types their colours, in order of first appearance
// in the sorted list of types.
var palette = []string{
	"#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2",
	"#edc948", "#9c755f", "#ff9da7", "#bab0ac", "#86bcb6",
}

// Chart geometry.
const (
	width, height            = 960, 420
	left, right, top, bottom = 64, 160, 24, 48
)

type bar struct {
	start, end time.Time
	typ        string
	n          int64
}

// SVG draws a Run table as a stacked bar chart: one bar per bucket, one
// segment (a rect of class "bar") per event type with events in it, one
// colour per type, a red tick (class "alert") above the buckets in which
// alerts started, axes and a legend.
func SVG(t hunt.Table, w io.Writer) error {
	col := map[string]int{}
	for i, c := range t.Columns {
		col[c] = i
	}
	for _, c := range Columns {
		if _, ok := col[c]; !ok {
			return fmt.Errorf("table has no column %s", c)
		}
	}
	var bars []bar
	type alertMark struct {
		start, end time.Time
		n          int64
		rules      []string
	}
	var marks []alertMark
	totals := map[time.Time]int64{}
	var types []string
	var lo, hi time.Time
	for i, r := range t.Rows {
		start, ok1 := r[col["bucket"]].(time.Time)
		end, ok2 := r[col["bucket_end"]].(time.Time)
		n, ok3 := r[col["count"]].(int64)
		typ, _ := r[col["event_type"]].(string)
		if !ok1 || !ok2 || !ok3 {
			return fmt.Errorf("row %d: bad bucket or count", i)
		}
		if lo.IsZero() || start.Before(lo) {
			lo = start
		}
		if end.After(hi) {
			hi = end
		}
		if na, _ := r[col["alerts"]].(int64); na > 0 {
			rules, _ := r[col["alert_rules"]].([]string)
			marks = append(marks, alertMark{start, end, na, rules})
		}
		if n <= 0 {
			continue
		}
		bars = append(bars, bar{start, end, typ, n})
		totals[start] += n
		if !slices.Contains(types, typ) {
			types = append(types, typ)
		}
	}
	slices.Sort(types)
	colour := func(typ string) string { return palette[slices.Index(types, typ)%len(palette)] }
	var peak int64
	for _, n := range totals {
		peak = max(peak, n)
	}
	yMax := niceCeil(peak)
	plotW, plotH := float64(width-left-right), float64(height-top-bottom)
	span := float64(hi.Sub(lo))
	if span <= 0 {
		span = 1
	}
	x := func(at time.Time) float64 { return left + plotW*float64(at.Sub(lo))/span }
	y := func(n int64) float64 { return top + plotH - plotH*float64(n)/float64(yMax) }

	b := bufio.NewWriter(w)
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	// axes
	fmt.Fprintf(b, `<g class="axes" stroke="#333"><line x1="%d" y1="%d" x2="%d" y2="%d"/><line x1="%d" y1="%d" x2="%d" y2="%d"/></g>`+"\n",
		left, top, left, height-bottom, left, height-bottom, width-right, height-bottom)
	for i := range 5 {
		v := yMax * int64(i) / 4
		fmt.Fprintf(b, `<g class="ytick"><line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#333"/><text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%d</text></g>`+"\n",
			left-4, y(v), left, y(v), left-6, y(v), v)
	}
	if len(bars)+len(marks) > 0 {
		layout := "2006-01-02 15:04"
		if hi.Sub(lo) < 10*time.Minute {
			layout = "15:04:05"
		}
		for i := range 5 {
			at := lo.Add(time.Duration(float64(hi.Sub(lo)) * float64(i) / 4))
			fmt.Fprintf(b, `<g class="xtick"><line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#333"/><text x="%.1f" y="%d" text-anchor="middle">%s</text></g>`+"\n",
				x(at), height-bottom, x(at), height-bottom+4, x(at), height-bottom+16, esc(at.UTC().Format(layout)))
		}
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">time (UTC)</text>`+"\n", left+int(plotW)/2, height-10)
	fmt.Fprintf(b, `<text transform="translate(14 %d) rotate(-90)" text-anchor="middle">events</text>`+"\n", top+int(plotH)/2)
	// bars, stacked in type order
	slices.SortFunc(bars, func(a, c bar) int {
		if d := a.start.Compare(c.start); d != 0 {
			return d
		}
		return slices.Index(types, a.typ) - slices.Index(types, c.typ)
	})
	var base int64
	for i, br := range bars {
		if i == 0 || !br.start.Equal(bars[i-1].start) {
			base = 0
		}
		x0, x1 := x(br.start), x(br.end)
		wd := math.Max(x1-x0-1, 1)
		fmt.Fprintf(b, `<rect class="bar" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %d</title></rect>`+"\n",
			x0, y(base+br.n), wd, y(base)-y(base+br.n), colour(br.typ), esc(br.start.UTC().Format(time.RFC3339)), esc(typeLabel(br.typ)), br.n)
		base += br.n
	}
	for _, m := range marks {
		cx := (x(m.start) + x(m.end)) / 2
		fmt.Fprintf(b, `<line class="alert" x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="red" stroke-width="3"><title>%d alert(s) started %s: %s</title></line>`+"\n",
			cx, top-14, cx, top-2, m.n, esc(m.start.UTC().Format(time.RFC3339)), esc(strings.Join(m.rules, ", ")))
	}
	// legend
	lx := width - right + 16
	for i, typ := range types {
		ly := top + i*18
		fmt.Fprintf(b, `<g class="legend"><rect class="legend" x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d" dominant-baseline="middle">%s</text></g>`+"\n",
			lx, ly, colour(typ), lx+18, ly+6, esc(typeLabel(typ)))
	}
	if len(marks) > 0 {
		ly := top + len(types)*18
		fmt.Fprintf(b, `<g class="legend"><line x1="%d" y1="%d" x2="%d" y2="%d" stroke="red" stroke-width="3"/><text x="%d" y="%d" dominant-baseline="middle">alert started</text></g>`+"\n",
			lx+6, ly, lx+6, ly+12, lx+18, ly+6)
	}
	b.WriteString("</svg>\n")
	return b.Flush()
}

func typeLabel(typ string) string {
	if typ == "" {
		return "(none)"
	}
	return typ
}

func esc(s string) string {
	var sb strings.Builder
	xml.EscapeText(&sb, []byte(s))
	return sb.String()
}

// niceCeil rounds n up to 1, 2 or 5 times a power of ten (at least 1).
func niceCeil(n int64) int64 {
	if n <= 1 {
		return 1
	}
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
	}
}
