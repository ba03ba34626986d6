package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The goals, each figure of N organizations against 1 organization.
const (
	goalIngest   = 0.8     // ingest rate at least this share
	goalBytes    = 1.3     // lake bytes per event at most this multiple
	goalNeedle   = 1.5     // needle query time at most this multiple
	goalRSS      = 1 << 30 // peak RSS, absolute
	goalFewParts = 4       // "a few" parts per organization and day, after compaction
)

type report struct {
	c      *config
	commit string
	took   time.Duration
	sets   []*dataset
	ingest []*ingestRow
	http   []*httpRow
	vl     []*vlRow
	vlNote string
}

// table writes a markdown table whose columns are the 1-organization figure,
// then for every other file its figure and the ratio to the first.
type table struct {
	b     *strings.Builder
	heads []string
}

func newTable(b *strings.Builder, first string, orgs []int) *table {
	t := &table{b: b}
	heads := []string{first}
	for i, n := range orgs {
		heads = append(heads, orgsName(n))
		if i > 0 {
			heads = append(heads, "ratio")
		}
	}
	heads = append(heads, "goal")
	fmt.Fprintf(b, "| %s |\n|%s\n", strings.Join(heads, " | "), strings.Repeat("---|", len(heads)))
	return t
}

// row writes name's cells: val(i) for each file, ratio(i) beside the others'
// (empty ratio: none).
func (t *table) row(name string, n int, val func(i int) string, ratio func(i int) string, goal string) {
	cells := []string{name}
	for i := 0; i < n; i++ {
		cells = append(cells, val(i))
		if i > 0 {
			r := ""
			if ratio != nil {
				r = ratio(i)
			}
			cells = append(cells, r)
		}
	}
	cells = append(cells, goal)
	fmt.Fprintf(t.b, "| %s |\n", strings.Join(cells, " | "))
}

func orgsName(n int) string {
	if n == 1 {
		return "1 organization"
	}
	return commas(int64(n)) + " organizations"
}

func (r *report) markdown() string {
	var b strings.Builder
	c := r.c
	fmt.Fprintf(&b, "## Many organizations (`make bench-orgs`; %s events per file; %s, commit %s, %s)\n\n",
		commas(int64(c.events)), time.Now().UTC().Format("2006-01-02"), r.commit, secs(r.took))
	fmt.Fprintf(&b, "Each file is the first %s events of `spoor gen --hosts %d --rate %g --days %d --start %s --scenarios none --orgs N`: "+
		"the same %s hosts spread over N organizations, cut after the same number of events (gen writes in time order):",
		commas(int64(c.events)), c.hosts, c.rate, c.days, c.start, commas(int64(c.hosts)))
	for i, ds := range r.sets {
		sep := ","
		if i == len(r.sets)-1 {
			sep = "."
		}
		fmt.Fprintf(&b, " %s, %s .. %s UTC, %s%s", orgsName(ds.orgs), msTime(ds.first), msTime(ds.last), bytesStr(ds.size), sep)
	}
	b.WriteString(" Ratios are N organizations over 1 organization, from the same run; the goals are issue 16's.\n\n")
	r.ingestTable(&b)
	r.httpTable(&b)
	r.vlTable(&b)
	return b.String()
}

func (r *report) ingestTable(b *strings.Builder) {
	var orgs []int
	for _, ds := range r.sets {
		orgs = append(orgs, ds.orgs)
	}
	in := r.ingest
	base := in[0]
	t := newTable(b, "`spoor ingest --no-detect`", orgs)
	n := len(in)
	t.row("events stored (ingest's summary)", n, func(i int) string { return commas(in[i].stored) }, nil, "")
	t.row("ingest rate", n, func(i int) string { return commas(int64(in[i].rate())) + " ev/s" },
		func(i int) string { return verdict(in[i].rate()/base.rate(), in[i].rate()/base.rate() >= goalIngest) },
		fmt.Sprintf("≥ %g×", goalIngest))
	t.row("wall / CPU", n, func(i int) string { return secs(in[i].cost.wall) + " / " + secs(in[i].cost.cpu) },
		func(i int) string { return times(in[i].cost.wall.Seconds() / base.cost.wall.Seconds()) }, "")
	t.row("peak RSS", n, func(i int) string { return rssCell(in[i].cost.rss) },
		func(i int) string { return times(float64(in[i].cost.rss) / float64(base.cost.rss)) }, "≤ 1 GiB")
	t.row("lake bytes/event after ingest", n, func(i int) string { return fmt.Sprintf("%.1f", in[i].lake.perEvent(in[i].stored)) },
		func(i int) string {
			x := in[i].lake.perEvent(in[i].stored) / base.lake.perEvent(base.stored)
			return verdict(x, x <= goalBytes)
		}, fmt.Sprintf("≤ %g×", goalBytes))
	t.row("after one more compaction", n, func(i int) string { return fmt.Sprintf("%.1f", in[i].compacted.perEvent(in[i].stored)) },
		func(i int) string {
			return times(in[i].compacted.perEvent(in[i].stored) / base.compacted.perEvent(base.stored))
		}, "")
	t.row("part files (days of event_time)", n, func(i int) string {
		return fmt.Sprintf("%s (%d)", commas(int64(in[i].compacted.parts)), in[i].compacted.days)
	}, func(i int) string { return times(float64(in[i].compacted.parts) / float64(base.compacted.parts)) }, "")
	t.row("parts holding one organization's events of a day: max / median", n, func(i int) string { return perOrgCell(in[i].compacted) },
		nil, fmt.Sprintf("a few (≤ %d)", goalFewParts))
	t.row(fmt.Sprintf("needle: one agent, 90 s, `spoor search --org` (median of %d)", r.c.runs), n,
		func(i int) string { return ms(median(in[i].needle)) },
		func(i int) string {
			x := median(in[i].needle).Seconds() / median(base.needle).Seconds()
			return verdict(x, x <= goalNeedle)
		}, fmt.Sprintf("≤ %g×", goalNeedle))
	t.row("needle events found (= the file's)", n, func(i int) string { return commas(int64(in[i].needleN)) }, nil, "")
	b.WriteString("\nLake bytes are the Parquet files under DATA/lake/events; `spoor ingest` compacts at its end, and the " +
		"second figure is after another compaction (an ingest of an empty file). Parts per organization and day count the " +
		"distinct files holding its events of each UTC day of event_time, whatever the layout. " +
		"The needle's wall time includes opening the data directory.\n\n")
}

func (r *report) httpTable(b *strings.Builder) {
	if len(r.http) == 0 {
		return
	}
	h := r.http
	base := h[0]
	var orgs []int
	for _, row := range h {
		orgs = append(orgs, row.ds.orgs)
	}
	t := newTable(b, fmt.Sprintf("`spoor serve --no-detect`, %d senders at once", base.senders), orgs)
	n := len(h)
	t.row("tokens (one per organization)", n, func(i int) string { return commas(int64(h[i].tokens)) }, nil, "")
	t.row("ingest rate (acknowledged)", n, func(i int) string { return commas(int64(h[i].rate())) + " ev/s" },
		func(i int) string { return verdict(h[i].rate()/base.rate(), h[i].rate()/base.rate() >= goalIngest) },
		fmt.Sprintf("≥ %g×", goalIngest))
	t.row("rate until all is in parts (the WAL empty)", n, func(i int) string {
		return fmt.Sprintf("%s ev/s (%s)", commas(int64(h[i].partsRate())), secs(h[i].toParts))
	}, func(i int) string {
		x := h[i].partsRate() / base.partsRate()
		return verdict(x, x >= goalIngest)
	}, fmt.Sprintf("≥ %g×", goalIngest))
	t.row(fmt.Sprintf("requests of %d events (sent again after 503)", r.c.batch), n,
		func(i int) string { return fmt.Sprintf("%s (%s)", commas(h[i].requests), commas(h[i].retries)) }, nil, "")
	t.row("server peak RSS", n, func(i int) string { return rssCell(h[i].server.rss) },
		func(i int) string { return times(float64(h[i].server.rss) / float64(base.server.rss)) }, "≤ 1 GiB")
	t.row("part files after its flushes / after one compaction", n, func(i int) string {
		return commas(int64(h[i].flushed.parts)) + " / " + commas(int64(h[i].compacted.parts))
	}, nil, "")
	// Before compaction each flush adds a part per day it holds: what
	// must not happen is more of them because tenants are more.
	t.row("parts per organization and day after its flushes: max / median", n, func(i int) string {
		return fmt.Sprintf("%d / %g", h[i].flushed.maxPerOrg(), h[i].flushed.medianPerOrg())
	}, func(i int) string {
		x := float64(h[i].flushed.maxPerOrg()) / float64(max(base.flushed.maxPerOrg(), 1))
		return verdict(x, x <= 1)
	}, "no more than with 1 organization")
	t.row("after one compaction: max / median", n, func(i int) string { return perOrgCell(h[i].compacted) }, nil,
		fmt.Sprintf("a few (≤ %d)", goalFewParts))
	fmt.Fprintf(b, "\nEach sender POSTs its organization's events (with one organization, a %d-th share of them, all with "+
		"the same token) in batches of %d to 127.0.0.1, sending a batch again after Retry-After when answered 503; "+
		"the rate runs from the first request to the last answer, the second to when the operator's /metrics shows an empty "+
		"write-ahead log. The server (flushing every 10 s) is stopped only then; the compaction is an ingest of an empty file after it stopped.\n\n", base.senders, r.c.batch)
}

func (r *report) vlTable(b *strings.Builder) {
	if len(r.vl) == 0 {
		fmt.Fprintf(b, "VictoriaLogs v1.52.2: %s\n", r.vlNote)
		return
	}
	v := r.vl
	base := v[0]
	var orgs []int
	for _, row := range v {
		orgs = append(orgs, row.ds.orgs)
	}
	in := r.ingest
	t := newTable(b, "beside VictoriaLogs v1.52.2 (one AccountID per organization)", orgs)
	n := len(v)
	t.row("VictoriaLogs ingest rate", n, func(i int) string { return commas(int64(v[i].rate())) + " ev/s" },
		func(i int) string { return times(v[i].rate() / base.rate()) }, "")
	t.row("spoor ingest rate (above)", n, func(i int) string { return commas(int64(in[i].rate())) + " ev/s" },
		func(i int) string { return times(in[i].rate() / in[0].rate()) }, "")
	t.row("VictoriaLogs bytes/event", n, func(i int) string { return fmt.Sprintf("%.1f", float64(v[i].bytes)/float64(v[i].ds.events)) },
		func(i int) string {
			return times(float64(v[i].bytes) / float64(v[i].ds.events) / (float64(base.bytes) / float64(base.ds.events)))
		}, "")
	t.row("spoor bytes/event (above)", n, func(i int) string { return fmt.Sprintf("%.1f", in[i].lake.perEvent(in[i].stored)) },
		func(i int) string {
			return times(in[i].lake.perEvent(in[i].stored) / in[0].lake.perEvent(in[0].stored))
		}, "")
	t.row("VictoriaLogs peak RSS", n, func(i int) string { return bytesStr(v[i].server.rss) },
		func(i int) string { return times(float64(v[i].server.rss) / float64(base.server.rss)) }, "")
	t.row("VictoriaLogs requests", n, func(i int) string { return commas(int64(v[i].requests)) }, nil, "")
	fmt.Fprintf(b, "\nVictoriaLogs gets each organization's events as requests of at most %s lines to /insert/jsonline "+
		"(AccountID = the organization's number, `_stream_fields=agent_id`, `_time_field=event_time`), four at a time; "+
		"its rate runs to the end of /internal/force_flush. Its bytes are its data directory's files after "+
		"/internal/force_merge (as spoor's lake is compacted) and a clean stop: force_flush makes the data searchable in memory, "+
		"not on disk.\n",
		commas(int64(r.c.vlChunk)))
}

// verdict prints a ratio with whether it meets its goal.
func verdict(x float64, ok bool) string {
	if ok {
		return times(x) + " met"
	}
	return times(x) + " **not met**"
}

func rssCell(n int64) string {
	if n > goalRSS {
		return bytesStr(n) + " **not met**"
	}
	return bytesStr(n)
}

func perOrgCell(l lakeFacts) string {
	s := fmt.Sprintf("%d / %g", l.maxPerOrg(), l.medianPerOrg())
	if l.maxPerOrg() > goalFewParts {
		s += " **not met**"
	}
	return s
}

func times(x float64) string { return fmt.Sprintf("%.2f×", x) }

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func msTime(t int64) string { return time.UnixMilli(t).UTC().Format("2006-01-02 15:04") }

func commas(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + commas(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func bytesStr(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
