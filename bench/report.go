package main

import (
	"fmt"
	"os"
	"strings"
	"time"
)

// Targets from the issue.
const (
	targetIngest = 150_000 // events/s, at least
	targetBytes  = 40      // bytes/event on disk, at most
)

// report is everything measured, rendered by markdown.
type report struct {
	command           string
	threads           int // DuckDB threads of the baselines
	started, finished time.Time
	machine           machineInfo
	gen               genInfo

	spoor      spoorIngest
	ingestRows []ingestRow // spoor, DuckDB COPY, zstd
	gzipBytes  int64
	columns    []sizeColumn
	partFiles  int64
	partRows   int64

	needle     needle
	queries    []*queryRow
	cliFloor   []time.Duration
	queryParts int
	baseView   string

	http []httpRow

	profile    profileInfo
	mismatches []string
}

func (r *report) ingestMet() bool {
	return len(r.ingestRows) > 0 && r.ingestRows[0].rate() >= targetIngest
}

func (r *report) bytesPerEvent() float64 {
	return float64(r.spoor.partBytes) / float64(r.spoor.stored)
}

func (b *bench) write() error {
	md := b.rep.markdown()
	if b.cfg.out == "-" {
		_, err := os.Stdout.WriteString(md)
		return err
	}
	// The format readers' section comes from bench/formats.sh: keep it.
	if old, err := os.ReadFile(b.cfg.out); err == nil {
		// The sections of bench/formats.sh, detect.sh, hunt.sh and gate.sh: kept.
		if i := firstIndex(string(old), formatsBegin, detectBegin, huntBegin, gateBegin); i >= 0 {
			md = strings.TrimRight(md, "\n") + "\n\n" + string(old[i:])
		}
	}
	tmp := b.cfg.out + ".tmp"
	if err := os.WriteFile(tmp, []byte(md), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, b.cfg.out)
}

// formatsBegin, detectBegin, huntBegin and gateBegin open the sections
// bench/formats.sh, detect.sh, hunt.sh and gate.sh write, after this
// program's.
const (
	formatsBegin = "<!-- formats:begin -->"
	detectBegin  = "<!-- detect:begin -->"
	huntBegin    = "<!-- hunt:begin -->"
	gateBegin    = "<!-- gate:begin -->"
)

// firstIndex is the first position in s of any of subs, or -1.
func firstIndex(s string, subs ...string) int {
	at := -1
	for _, sub := range subs {
		if i := strings.Index(s, sub); i >= 0 && (at < 0 || i < at) {
			at = i
		}
	}
	return at
}

func metStr(ok bool) string {
	if ok {
		return "met"
	}
	return "**not met**"
}

func ratio(a, b float64) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func rate(v float64) string { return commas(int64(v+0.5)) + " ev/s" }

// targetTable is section 4: every target beside what was measured.
func (r *report) targetTable() string {
	var sb strings.Builder
	sb.WriteString("| target | measured (spoor) | baseline, same run, same data | result |\n|---|---|---|---|\n")
	if len(r.ingestRows) == 3 {
		s, d, z := r.ingestRows[0], r.ingestRows[1], r.ingestRows[2]
		fmt.Fprintf(&sb, "| ingest ≥ %s events/s | %s | DuckDB COPY %s; %s %s | %s |\n",
			commas(targetIngest), rate(s.rate()), rate(d.rate()), z.name, rate(z.rate()), metStr(s.rate() >= targetIngest))
		fmt.Fprintf(&sb, "| size ≤ %d bytes/event | %.1f B/event | raw NDJSON %.0f; gzip -6 %.1f; %s %.1f; DuckDB Parquet %.1f | %s |\n",
			targetBytes, r.bytesPerEvent(), float64(r.gen.bytes)/float64(r.gen.events), float64(r.gzipBytes)/float64(r.gen.events),
			z.name, float64(z.outSize)/float64(r.gen.events), float64(d.outSize)/float64(d.events), metStr(r.bytesPerEvent() <= targetBytes))
	}
	for _, q := range r.queries {
		e, c, bs := median(q.engine), median(q.cli), median(q.base)
		fmt.Fprintf(&sb, "| %s p50 ≤ %s, in engine | %s | DuckDB on raw NDJSON %s | %s |\n", q.name, ms(q.target), ms(e), ms(bs), metStr(e <= q.target))
		fmt.Fprintf(&sb, "| %s p50 ≤ %s, CLI | %s | DuckDB on raw NDJSON %s | %s |\n", q.name, ms(q.target), ms(c), ms(bs), metStr(c <= q.target))
	}
	if len(r.http) > 0 {
		h := r.http[0]
		other := ""
		if len(r.http) > 1 {
			other = fmt.Sprintf("%s: %s, p99 %s", r.http[1].name, rate(r.http[1].rate()), r.http[1].p99.Round(time.Millisecond))
		}
		fmt.Fprintf(&sb, "| HTTP ingest ≥ %s events/s, %d senders | %s | %s | %s |\n", commas(targetHTTP), httpSenders, rate(h.rate()), other, metStr(h.rate() >= targetHTTP))
		fmt.Fprintf(&sb, "| HTTP ingest p99 ack ≤ %s | %s | | %s |\n", targetHTTPp99, h.p99.Round(time.Millisecond), metStr(h.p99 <= targetHTTPp99))
	}
	return sb.String()
}

// bounds says, for each target not met, what holds the figure where it is.
func (r *report) bounds() []string {
	var out []string
	if len(r.ingestRows) == 3 && !r.ingestMet() {
		s, d, z := r.ingestRows[0], r.ingestRows[1], r.ingestRows[2]
		cpuPerEv := s.cpu().Seconds() / float64(s.events) * 1e6
		budget := float64(r.machine.nproc) / targetIngest * 1e6
		util := s.cpu().Seconds() / (s.wall().Seconds() * float64(r.machine.nproc)) * 100
		line := fmt.Sprintf("**Ingest** (%s, %.2f× the target): ", rate(s.rate()), s.rate()/targetIngest)
		if z.rate() >= targetIngest {
			line += fmt.Sprintf("not the disk: %s reads, compresses and writes the same file at %s. ", z.name, rate(z.rate()))
		} else {
			line += fmt.Sprintf("%s itself only reaches %s here, so the disk or page cache is part of the bound. ", z.name, rate(z.rate()))
		}
		if d.rate() > s.rate() {
			line += fmt.Sprintf("Nor JSON→Parquet as such: DuckDB does it at %s (%s spoor) on %d threads. ", rate(d.rate()), ratio(d.rate(), s.rate()), r.threads)
		} else {
			line += fmt.Sprintf("DuckDB's own JSON→Parquet is no faster (%s). ", rate(d.rate()))
		}
		line += fmt.Sprintf("spoor spends %.1f µs of CPU per event where %d cores at %s ev/s allow %.1f µs (%.1f×), and keeps the cores %.0f%% busy over its wall clock",
			cpuPerEv, r.machine.nproc, commas(targetIngest), budget, cpuPerEv/budget, util)
		if util < 80 {
			line += " (the rest is waiting: fsync, or a stage that runs on one core such as reading the file or the final flush)"
		}
		line += "."
		if len(r.profile.flat) > 0 {
			var f, c []string
			for _, e := range r.profile.flat[:min(5, len(r.profile.flat))] {
				f = append(f, fmt.Sprintf("`%s` %s", shortFunc(e.name), e.flatPct))
			}
			for _, e := range r.profile.cum {
				if !strings.Contains(e.name, "spoor/internal/") {
					continue
				}
				c = append(c, fmt.Sprintf("`%s` %s", shortFunc(e.name), e.cumPct))
				if len(c) == 5 {
					break
				}
			}
			line += " CPU profile (below), most samples in: " + strings.Join(f, ", ") + "."
			if len(c) > 0 {
				line += " By spoor stage (cumulative): " + strings.Join(c, ", ") + "."
			}
		}
		out = append(out, line)
	}
	if r.spoor.stored > 0 && r.bytesPerEvent() > targetBytes && len(r.columns) > 0 {
		var total int64
		for _, c := range r.columns {
			total += c.bytes
		}
		perEv := func(b int64) float64 { return float64(b) / float64(r.spoor.stored) }
		var top []string
		var rawB int64
		for _, c := range r.columns {
			if c.name == "raw" {
				rawB = c.bytes
			} else if len(top) < 4 {
				top = append(top, fmt.Sprintf("`%s` %.1f", c.name, perEv(c.bytes)))
			}
		}
		over := r.spoor.partBytes - total
		line := fmt.Sprintf("**Size** (%.1f B/event, %.2f× the target): ", r.bytesPerEvent(), r.bytesPerEvent()/targetBytes)
		if rawB > 0 {
			line += fmt.Sprintf("the verbatim original in `raw` is %.1f B/event", perEv(rawB))
			if perEv(rawB) > targetBytes {
				line += ", more than the whole target"
			}
			line += "; "
		}
		line += fmt.Sprintf("the typed columns add %.1f (largest: %s); Parquet footers and page headers add %.1f, because %d parts hold %.0f events each. "+
			"For scale, on the same data: %s of the whole NDJSON is %.1f B/event and DuckDB's own zstd Parquet %.1f.",
			perEv(total-rawB), strings.Join(top, ", "), perEv(over), r.spoor.parts, float64(r.spoor.stored)/float64(max(r.spoor.parts, 1)),
			r.ingestRows[2].name, float64(r.ingestRows[2].outSize)/float64(r.gen.events), float64(r.ingestRows[1].outSize)/float64(r.ingestRows[1].events))
		out = append(out, line)
	}
	floor := median(r.cliFloor)
	for _, q := range r.queries {
		e, c := median(q.engine), median(q.cli)
		if e <= q.target && c <= q.target {
			continue
		}
		fixed := fmt.Sprintf("the CLI adds %s to the open engine's time: process start, opening the lake and DuckDB (`spoor sql 'SELECT 1'` takes %s), and reading the Parquet footers of the parts afresh, which a long-running engine caches", ms(max(c-e, 0)), ms(floor))
		if e <= q.target {
			out = append(out, fmt.Sprintf("**%s, CLI** (%s): the query itself takes %s in an open engine; %s.", q.name, ms(c), ms(e), fixed))
			continue
		}
		line := fmt.Sprintf("**%s** (in engine %s, CLI %s): DuckDB reads spoor's %d parts", q.name, ms(e), ms(c), r.queryParts)
		if q.name == "needle" {
			line += " pruned to the hour partitions of the 90 s window, then row groups by their agent_id and event_time statistics"
		}
		line += fmt.Sprintf(" (DuckDB on the raw NDJSON takes %s); %s.", ms(median(q.base)), fixed)
		out = append(out, line)
	}
	if len(r.http) > 0 {
		h := r.http[0]
		if h.rate() < targetHTTP || h.p99 > targetHTTPp99 {
			inFlight := float64(httpSenders * httpBatchEvents)
			out = append(out, fmt.Sprintf("**HTTP ingest** (%s, p99 %s): every event costs the server the CPU of a CLI ingest (normalising, the WAL, "+
				"Parquet parts written by the background flush) plus HTTP; on %d cores that caps the rate near the CLI's. At saturation "+
				"%d senders with %d events each in flight wait %.0f ms per batch on average (Little's law: %.0f events in flight / %s), "+
				"and the p99 adds flush and GC pauses: a p99 of %s needs either fewer events in flight (smaller batches, fewer senders) "+
				"or a faster event path.",
				rate(h.rate()), h.p99.Round(time.Millisecond), r.machine.nproc, httpSenders, httpBatchEvents,
				inFlight/h.rate()*1000, inFlight, rate(h.rate()), targetHTTPp99))
		}
	}
	return out
}

func (r *report) markdown() string {
	var sb strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&sb, format, a...) }
	m := r.machine
	w("# spoor benchmarks\n\n")
	w("Regenerate with (from the repository root; it needs about %s of free disk under /tmp and runs for a while):\n\n```\n%s\n```\n\n",
		gib(r.gen.events*approxEventBytes*13/10), r.command)
	commit := m.commit
	if commit == "" {
		commit = "unknown (no git)"
	}
	if m.dirty {
		commit += " (with uncommitted changes)"
	}
	w("Measured %s (took %s) at commit %s on %d CPUs (%s), %s RAM, %s; %s; DuckDB %s through duckdb-go %s; %s.\n\n",
		r.started.UTC().Format("2006-01-02 15:04 MST"), r.finished.Sub(r.started).Round(time.Second), commit, m.nproc, m.cpuModel, gib(m.memBytes),
		m.kernel, m.goVersion, m.duckdbLib, m.duckdbGo, orDash(m.zstdVersion, "zstd command not found"))
	w("Every spoor figure stands beside a baseline measured in the same run on the same data. The machine may be shared and noisy (load average at the start %s, at the end %s): read medians and ratios, not single runs.\n\n", m.loadStart, orDash(m.loadEnd, "?"))
	if len(r.mismatches) > 0 {
		w("## RESULT MISMATCH\n\nspoor and the baseline returned different results; the figures below are not valid:\n\n")
		for _, l := range r.mismatches {
			w("- %s\n", l)
		}
		w("\n")
	}
	w("Data: `%s`: %s events (%d hosts, the default windows 2020-02-05..17 and 2020-09-15..18), %s of NDJSON, %.0f bytes/event; gen took %.1f s.\n\n",
		r.gen.command, commas(r.gen.events), r.gen.hosts, gib(r.gen.bytes), float64(r.gen.bytes)/float64(r.gen.events), r.gen.wall.Seconds())

	// 1. Ingest
	w("## 1. Ingest\n\n")
	runs := 1
	if len(r.ingestRows) > 0 {
		runs = len(r.ingestRows[0].walls)
	}
	if runs == 1 {
		w("One run each, from the generated NDJSON (read once beforehand, after a sync, so every command starts with it in the page cache and no writeback pending) to bytes on disk, into a fresh directory. spoor ingests 10,000 lines once, untimed, before its run.\n\n")
	} else {
		w("Median of %d runs each (fastest–slowest in brackets), from the generated NDJSON (read once before every run, after a sync, so every command starts with it in the page cache and no writeback pending) to bytes on disk, into a fresh directory every run. spoor ingests 10,000 lines once, untimed, before its first run.\n\n", runs)
	}
	w("| | command | wall | events/s | vs spoor | CPU (user+sys) | CPU µs/event | peak RSS | output |\n|---|---|---|---|---|---|---|---|---|\n")
	for i, row := range r.ingestRows {
		rss := "–"
		if row.maxRSS > 0 {
			rss = gib(row.maxRSS)
		}
		vs := "1.00×"
		if i > 0 {
			vs = ratio(row.rate(), r.ingestRows[0].rate())
		}
		wall := fmt.Sprintf("%.2f s", row.wall().Seconds())
		if len(row.walls) > 1 {
			wall += fmt.Sprintf(" (%.2f–%.2f)", minD(row.walls).Seconds(), maxD(row.walls).Seconds())
		}
		w("| %s | `%s` | %s | %s | %s | %.2f s | %.1f | %s | %s |\n", row.name, row.command, wall, rate(row.rate()), vs,
			row.cpu().Seconds(), row.cpu().Seconds()/float64(row.events)*1e6, rss, gib(row.outSize))
	}
	w("\n")
	for _, row := range r.ingestRows {
		w("- %s: %s.\n", row.name, row.note)
	}
	w("- spoor's summary: stored %s, duplicates %s, rejected %s; %d parts. Target: at least %s events/s.\n\n",
		commas(r.spoor.stored), commas(r.spoor.duplicates), commas(r.spoor.rejected), r.spoor.parts, commas(targetIngest))

	// 2. Size
	w("## 2. Size\n\n")
	n := float64(r.gen.events)
	w("| | bytes | bytes/event | vs spoor |\n|---|---|---|---|\n")
	sp := r.bytesPerEvent()
	w("| spoor parts (sum of part-*.parquet / stored events) | %s | %.1f | 1.00× |\n", commas(r.spoor.partBytes), sp)
	w("| raw NDJSON | %s | %.1f | %s |\n", commas(r.gen.bytes), float64(r.gen.bytes)/n, ratio(float64(r.gen.bytes)/n, sp))
	w("| gzip -6 of the NDJSON (klauspost gzip level 6, 16 MiB members) | %s | %.1f | %s |\n", commas(r.gzipBytes), float64(r.gzipBytes)/n, ratio(float64(r.gzipBytes)/n, sp))
	if len(r.ingestRows) == 3 {
		z, d := r.ingestRows[2], r.ingestRows[1]
		w("| %s of the NDJSON | %s | %.1f | %s |\n", z.name, commas(z.outSize), float64(z.outSize)/n, ratio(float64(z.outSize)/n, sp))
		w("| DuckDB COPY to zstd Parquet (read_json_auto schema) | %s | %.1f | %s |\n", commas(d.outSize), float64(d.outSize)/float64(d.events), ratio(float64(d.outSize)/float64(d.events), sp))
	}
	w("\nTarget: at most %d bytes/event. The parts hold %s rows in %d files (the lake's own count: %d parts).\n\n", targetBytes, commas(r.partRows), r.partFiles, r.spoor.parts)
	if len(r.columns) > 0 {
		w("Where spoor's bytes go (compressed column chunks, from the parts' Parquet metadata):\n\n| column | bytes/event | share of the parts |\n|---|---|---|\n")
		var total int64
		for _, c := range r.columns {
			total += c.bytes
		}
		var rest int64
		for i, c := range r.columns {
			if i >= 10 {
				rest += c.bytes
				continue
			}
			w("| `%s` | %.2f | %.1f%% |\n", c.name, float64(c.bytes)/float64(r.spoor.stored), float64(c.bytes)/float64(r.spoor.partBytes)*100)
		}
		if rest > 0 {
			w("| the other %d columns | %.2f | %.1f%% |\n", len(r.columns)-10, float64(rest)/float64(r.spoor.stored), float64(rest)/float64(r.spoor.partBytes)*100)
		}
		over := r.spoor.partBytes - total
		w("| footers, page headers and indexes | %.2f | %.1f%% |\n\n", float64(over)/float64(r.spoor.stored), float64(over)/float64(r.spoor.partBytes)*100)
	}

	// 3. Queries
	w("## 3. Queries\n\n")
	base := 0
	if len(r.queries) > 0 {
		base = len(r.queries[0].engine)
	}
	w("Over %s stored events (%d parts). spoor is timed two ways: the whole CLI command, process start included, and the query inside one open engine "+
		"(`internal/datadir`, as a server runs it, rows read to the end). Medians of %d runs after one warm-up; the spoor runs of the three queries are interleaved. "+
		"The baseline is DuckDB in-process (duckdb-go, threads = %d) straight on the raw NDJSON through this view:\n\n```sql\n%s\n```\n\n",
		commas(r.spoor.stored), r.queryParts, base, r.threads, r.baseView)
	w("Needle: agent `%s`, event_time %d..%d (%s..%s UTC, 90 s), taken from the event after the middle of the file.\n\n",
		r.needle.agent, r.needle.from, r.needle.to, time.UnixMilli(r.needle.from).UTC().Format("2006-01-02 15:04:05"), time.UnixMilli(r.needle.to).UTC().Format("15:04:05"))
	w("| query | target | spoor in engine p50 | spoor CLI p50 | DuckDB on raw NDJSON p50 | raw / engine | result (equal on all three) |\n|---|---|---|---|---|---|---|\n")
	for _, q := range r.queries {
		e, c, bs := median(q.engine), median(q.cli), median(q.base)
		w("| %s | ≤ %s | %s (%s–%s) | %s (%s–%s) | %s (%s–%s) | %s | %s |\n", q.name, ms(q.target),
			ms(e), ms(minD(q.engine)), ms(maxD(q.engine)), ms(c), ms(minD(q.cli)), ms(maxD(q.cli)),
			ms(bs), ms(minD(q.base)), ms(maxD(q.base)), ratio(float64(bs), float64(e)), q.result)
	}
	w("\nIn brackets: fastest–slowest run. The fixed cost of a CLI command on this data dir (`spoor sql --format csv 'SELECT 1'`, median): %s.\n\n", ms(median(r.cliFloor)))
	for _, q := range r.queries {
		w("- %s: spoor `%s`; baseline `%s`", q.name, q.cliCmd, q.baseSQL)
		if q.name == "needle" {
			w(" (spoor prints whole original events; the baseline returns their `_id`s, compared as sets)")
		}
		if q.name == "top exe" {
			w(" (rows tied on the smallest count may be cut differently at the LIMIT; those are compared by count only)")
		}
		if q.baseNote != "" {
			w("; baseline: %s", q.baseNote)
		}
		w(".\n")
	}
	w("\n")

	// 5. HTTP ingest (before the targets, numbered after them)
	if len(r.http) > 0 {
		w("## 3b. Durable HTTP ingest\n\n")
		w("A fresh `spoor serve` on loopback, %d concurrent senders posting the generated NDJSON in batches of %d events (plain, one connection each); a batch is acknowledged only once it is fsynced in the WAL. Wall clock from the first send to the last acknowledgement; latency per request.\n\n", httpSenders, httpBatchEvents)
		w("| endpoint | events | wall | events/s | p50 ack | p99 ack | retries (429/503) |\n|---|---|---|---|---|---|---|\n")
		for _, h := range r.http {
			w("| %s `%s` | %s | %.2f s | %s | %s | %s | %d |\n", h.name, h.endpoint, commas(h.events), h.wall.Seconds(), rate(h.rate()), h.p50.Round(time.Millisecond), h.p99.Round(time.Millisecond), h.retries)
		}
		w("\nTargets: at least %s events/s with %d senders, p99 acknowledgement at most %s.\n\n", commas(targetHTTP), httpSenders, targetHTTPp99)
	}

	// 4. Targets
	w("## 4. Targets\n\n")
	sb.WriteString(r.targetTable())
	w("\n")
	if b := r.bounds(); len(b) > 0 {
		w("What bounds each target not met:\n\n")
		for _, l := range b {
			w("- %s\n", l)
		}
		w("\n")
	}
	if len(r.profile.flat) > 0 {
		p := r.profile
		w("### CPU profile of spoor ingest\n\n`%s` (one more run into a fresh data dir, %.1f s with profiling on). %s\n\n", p.command, p.wall.Seconds(), p.header)
		w("| flat%% | function | | cum%% | function |\n|---|---|---|---|---|\n")
		for i := range max(len(p.flat), len(p.cum)) {
			var a, b profEntry
			if i < len(p.flat) {
				a = p.flat[i]
			}
			if i < len(p.cum) {
				b = p.cum[i]
			}
			w("| %s | `%s` | | %s | `%s` |\n", a.flatPct, shortFunc(a.name), b.cumPct, shortFunc(b.name))
		}
		w("\n")
	}
	return sb.String()
}

func orDash(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func minD(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	m := d[0]
	for _, x := range d {
		m = min(m, x)
	}
	return m
}

func maxD(d []time.Duration) time.Duration {
	m := time.Duration(0)
	for _, x := range d {
		m = max(m, x)
	}
	return m
}

// shortFunc drops the module path from a function name.
func shortFunc(name string) string {
	name = strings.TrimPrefix(name, modulePath+"/internal/")
	name = strings.TrimPrefix(name, "github.com/")
	return name
}
