package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spoor-dev/spoor/internal/alert"
	"github.com/spoor-dev/spoor/internal/detect"
	"github.com/spoor-dev/spoor/internal/diskspace"
	"github.com/spoor-dev/spoor/internal/engine"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/ingest"
	"github.com/spoor-dev/spoor/internal/parse/formats"
	"github.com/spoor-dev/spoor/internal/rules"
)

type ingestOptions struct {
	data       dataFlags
	headEvents int
	format     string
	host       string
	strict     bool
	rules      string
	sigma      []string
	noDetect   bool
	progress   bool
	stdin      io.Reader // what "-" reads (default os.Stdin)
}

func newIngestCmd() *cobra.Command {
	var o ingestOptions
	cmd := &cobra.Command{
		Use:   "ingest [flags] PATH...",
		Short: "Store events from files and directories (Threat Stack JSON, auditd, EVTX, Windows JSON, CloudTrail; plain, gzip, zstd or zip; '-' for stdin)",
		Long: `Store events from files and directories (read recursively; hidden files
skipped), each file's format recognised from its content: Threat Stack JSON
(lines, an array, or pretty-printed), raw auditd logs, EVTX, Windows events as
JSON (NXLog, evtx-dump, Winlogbeat), CloudTrail and Kubernetes audit logs;
plain, gzip, zstd or zip. Bad records are rejected with their file, line and
reason; the rest is kept. Events already stored (by _id) are skipped, so an
ingest can be run again. The summary says per format the lines and records
read and the events stored.`,
		Example: `  # A directory of exports, into ./spoor-data (or $SPOOR_DATA)
  spoor ingest exports/

  # A raw audit.log names no host: say whose it is
  spoor ingest --data lake --host web01 /var/log/audit/audit.log

  # Into a server, in the organization of the token
  spoor ingest --server http://127.0.0.1:7878 --token "$SPOOR_TOKEN" Security.evtx

  # From standard input
  spoor gen --hosts 5 --days 1 --start 2024-06-01 | spoor ingest --data lake -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIngest(cmd.Context(), o, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	o.data.add(cmd)
	// A local ingest sets Go's soft limit to it (see runIngest), with its own default.
	cmd.Flags().Lookup("memory-limit").Usage = "memory a local ingest may use, e.g. 2GB (default " + defaultIngestMemory + "; Go's soft limit, GOMEMLIMIT wins)"
	// A local ingest runs no query; through --server, requests may take
	// long (a file sent whole is read and stored before the answer).
	o.data.Timeout = 10 * time.Minute
	timeout := cmd.Flags().Lookup("timeout")
	timeout.DefValue = o.data.Timeout.String()
	timeout.Usage = "with --server: how long one request (a batch of lines, or a file sent whole) may take"
	cmd.Flags().StringVar(&o.format, "format", "auto", "input format: "+strings.Join(formats.Names(), ", ")+" (auto detects each file's from its content)")
	cmd.Flags().StringVar(&o.host, "host", "", "hostname of events whose data names none (raw auditd logs)")
	cmd.Flags().StringVar(&o.rules, "rules", "", "rules directory the events are evaluated with (default DATA/rules)")
	cmd.Flags().StringSliceVar(&o.sigma, "sigma", nil, "more folders of Sigma rules to evaluate (a SigmaHQ checkout's rules/, say)")
	cmd.Flags().BoolVar(&o.noDetect, "no-detect", false, "store events without evaluating rules")
	cmd.Flags().BoolVar(&o.strict, "strict", false, "exit 1 when any line is rejected")
	cmd.Flags().BoolVar(&o.progress, "progress", isTerminal(os.Stderr), "show a progress line, with the share done and the time left when the inputs' size is known (default on a terminal)")
	cmd.Flags().StringVar(&o.data.reserve, "disk-reserve", os.Getenv("SPOOR_DISK_RESERVE"), diskReserveUsage)
	cmd.Flags().IntVar(&o.headEvents, "head-events", 0, "flush the head to parts every N events (default 262144)")
	cmd.Flags().MarkHidden("head-events")
	return cmd
}

// defaultIngestMemory is a local ingest's soft memory limit when
// --memory-limit names none.
const defaultIngestMemory = "768MiB"

func runIngest(ctx context.Context, o ingestOptions, paths []string, stdout, stderr io.Writer) error {
	if _, err := formats.ByName(o.format); err != nil {
		return usagef("--format: %v", err)
	}
	for _, p := range paths {
		if p == "-" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return usagef("%v", err)
		}
	}
	if c, err := o.data.client(); err != nil {
		return err
	} else if c != nil {
		if o.data.Timeout > 0 {
			c.HTTP.Timeout = o.data.Timeout
		}
		start := time.Now()
		sum, err := c.Ingest(ctx, paths, o.format, o.host)
		printSummary(stdout, sum, time.Since(start), -1, 0)
		if err != nil {
			return err
		}
		if o.strict && sum.Rejected > 0 {
			return fmt.Errorf("%d line(s) rejected (--strict)", sum.Rejected)
		}
		return nil
	}
	memory := o.data.Memory
	if memory == "" {
		memory = defaultIngestMemory
	}
	limit, err := engine.ParseBytes(memory)
	if err != nil || limit <= 0 {
		return usagef("--memory-limit %q: want a size such as 768MiB or 2GB", memory)
	}
	if os.Getenv("GOGC") == "" {
		// Ingest allocates fast and keeps a large head: collecting half as
		// often costs ~40% more peak memory and saves ~13% of the CPU
		// (measured on 1.3M events: 2.0 -> 2.8 GB, 22.6 -> 19.6 CPU-s)...
		debug.SetGCPercent(200)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// ...and a soft limit bounds the peak: the collector works harder
		// only near it. The head (lake.Options.HeadMaxBytes) and a flush
		// under way hold about 300 MB (measured on 560k events of 1.7 KB:
		// peak RSS 1.4 GB -> 0.8 GB, the same CPU).
		debug.SetMemoryLimit(limit)
	}
	o.data.headEvents = o.headEvents
	st, err := o.data.openLake(ctx)
	if err != nil {
		return err
	}
	for _, p := range st.Problems() {
		fmt.Fprintln(stderr, "spoor: recovered:", p)
	}
	org := o.data.Org
	if org == "" {
		org = "default"
	}
	start := time.Now()
	// --org wins over what the events say, as a token's organization does
	// over HTTP; without it they keep their own (default: "default").
	opts := ingest.Options{Org: org, ForceOrg: o.data.Org != "", Format: o.format, Host: o.host, Stdin: o.stdin}
	var progress *progressLine
	if o.progress {
		progress = newProgressLine(stderr, time.Now, inputSize(paths))
		opts.Progress = progress.update
	}
	det, closeDet, err := localDetector(o.data.Dir, o.rules, o.noDetect, o.sigma...)
	if err != nil {
		st.Abandon()
		return err
	}
	defer closeDet()
	var orgMu sync.Mutex
	orgs := map[string]int{} // events stored, by organization
	sink := func(ctx context.Context, evs []*event.Event) (int, int, error) {
		// Files are loaded without the WAL: they stay on disk, and the
		// events are durable when the final flush returns.
		r, err := st.Load(ctx, evs)
		orgMu.Lock()
		for _, e := range evs {
			orgs[e.Str[event.OrganizationID]]++
		}
		orgMu.Unlock()
		if err == nil && det != nil {
			// Evaluated once stored; a run killed before its flush is run
			// again, and the journal counts each event once per alert.
			err = det.Process(ctx, evs)
		}
		return r.Stored, r.Duplicates, err
	}
	sum, runErr := ingest.Run(ctx, paths, sink, opts)
	if progress != nil {
		progress.clear()
	}
	// Whatever the sink acknowledged is in the WAL; Close makes it parts.
	closeCtx := context.WithoutCancel(ctx)
	if err := st.Flush(closeCtx); err != nil {
		// Loaded events are not in the WAL (see sink): what the head holds
		// is lost with the process, and read again from the files.
		held := int64(st.Stats().HeadEvents)
		st.Abandon()
		return fmt.Errorf("flush: %w\n  %d new events were stored, %d read were not%s", err, sum.Stored-held, held, resumeHint(err, o.data.Dir))
	}
	if _, err := st.Compact(closeCtx, time.Now()); err != nil {
		fmt.Fprintln(stderr, "spoor: compaction:", err)
	}
	stats := st.Stats()
	if err := st.Close(closeCtx); err != nil {
		return err
	}
	printSummary(stdout, sum, time.Since(start), stats.Parts, stats.PartBytes)
	printOrgs(stdout, orgs)
	if det != nil {
		n, sg, p := det.Set().Stats()
		hits, opened := det.Counts()
		fmt.Fprintf(stdout, "  detection:  %d native and %d Sigma rules (%d not loaded): %d hits, %d alerts opened (spoor alerts list)\n", n, sg, p, hits, opened)
	}
	if runErr != nil {
		if stoppedForSpace(runErr) {
			return fmt.Errorf("%w\n  %d new events were stored before it stopped%s", runErr, sum.Stored, resumeHint(runErr, o.data.Dir))
		}
		return runErr
	}
	if len(sum.Refused) > 0 {
		return usagef("%s", strings.Join(sum.Refused, "; "))
	}
	if len(sum.FileErrors) > 0 {
		return fmt.Errorf("%d file(s) could not be read to the end", len(sum.FileErrors))
	}
	if o.strict && sum.Rejected > 0 {
		return fmt.Errorf("%d line(s) rejected (--strict)", sum.Rejected)
	}
	return nil
}

// localDetector evaluates a local ingest with the rules directory's rules,
// writing alerts into the data directory; nil when detection is off.
func localDetector(data, rulesFlag string, off bool, sigmaDirs ...string) (*detect.Detector, func(), error) {
	if off {
		return nil, func() {}, nil
	}
	dir, err := rules.OpenDir(rulesDirOf(data, rulesFlag))
	if err != nil {
		return nil, nil, err
	}
	abs, err := filepath.Abs(data)
	if err != nil {
		return nil, nil, err
	}
	st, err := alert.Open(filepath.Join(abs, "lake"), nil)
	if err != nil {
		return nil, nil, fmt.Errorf("alerts: %w", err)
	}
	// A file load is durable as a whole when it ends (see runIngest);
	// its alerts are fsynced then too, by Close.
	st.DeferSync = true
	return detect.New(dir, st, nil, nil, sigmaDirs...), func() { st.Close() }, nil
}

func printSummary(w io.Writer, s ingest.Summary, d time.Duration, parts int, partBytes int64) {
	fmt.Fprintf(w, "ingested %d file(s) in %.1fs (%s events/s, %s read)\n",
		s.Files, d.Seconds(), human(float64(s.Stored+s.Duplicates)/d.Seconds()), bytesHuman(float64(s.Bytes)))
	if len(s.Formats) > 0 {
		var fs []string
		for f, n := range s.Formats {
			fs = append(fs, fmt.Sprintf("%s %d", f, n))
		}
		sort.Strings(fs)
		fmt.Fprintf(w, "  formats:    %s\n", strings.Join(fs, ", "))
		printPerFormat(w, s)
	}
	fmt.Fprintf(w, "  stored:     %d new events\n", s.Stored)
	fmt.Fprintf(w, "  duplicates: %d (already stored, skipped)\n", s.Duplicates)
	fmt.Fprintf(w, "  rejected:   %d\n", s.Rejected)
	reasons := make([]string, 0, len(s.ByReason))
	for r := range s.ByReason {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	for _, r := range reasons {
		fmt.Fprintf(w, "    %-22s %d\n", r+":", s.ByReason[r])
	}
	for _, r := range s.Samples {
		fmt.Fprintf(w, "    %s\n", r)
	}
	if int64(len(s.Samples)) < s.Rejected {
		fmt.Fprintf(w, "    ... and %d more\n", s.Rejected-int64(len(s.Samples)))
	}
	counts := make([]string, 0, len(s.Counts))
	for c := range s.Counts {
		counts = append(counts, c)
	}
	sort.Strings(counts)
	for _, c := range counts {
		fmt.Fprintf(w, "  %s: %d\n", c, s.Counts[c])
	}
	if s.Skipped > 0 {
		fmt.Fprintf(w, "  skipped:    %d file(s) found in directories or zips\n", s.Skipped)
		for _, k := range s.Skips {
			fmt.Fprintf(w, "    %s\n", k)
		}
		if s.Skipped > int64(len(s.Skips)) {
			fmt.Fprintf(w, "    ... and %d more\n", s.Skipped-int64(len(s.Skips)))
		}
	}
	for _, r := range s.Refused {
		fmt.Fprintf(w, "  refused:    %s\n", r)
	}
	for _, e := range s.FileErrors {
		fmt.Fprintf(w, "  unreadable: %s\n", e)
	}
	if parts >= 0 {
		fmt.Fprintf(w, "  lake:       %d parts, %s\n", parts, bytesHuman(float64(partBytes)))
	}
}

// printPerFormat says per format what was read and the events that came
// of it: "auditd: 1,234 lines, 1,200 records → 456 events". Lines are
// counted as wc -l counts them (plus an unterminated last line) for every
// text format; Threat Stack lines, a record each, say their lines only.
func printPerFormat(w io.Writer, s ingest.Summary) {
	names := make([]string, 0, len(s.Formats))
	for f := range s.Formats {
		names = append(names, f)
	}
	sort.Strings(names)
	for _, f := range names {
		recs, ok := s.Records[f]
		if !ok {
			continue
		}
		read := count(recs, "record")
		ff, _ := formats.ByName(f)
		if lines, ok := s.LinesBy[f]; ok && !ff.Binary {
			if ff.Kind == formats.Lines && lines == recs {
				read = count(lines, "line")
			} else {
				read = count(lines, "line") + ", " + read
			}
		}
		if ev, ok := s.Events[f]; ok {
			read += " → " + count(ev, "event")
		}
		fmt.Fprintf(w, "  %-12s %s\n", f+":", read)
	}
}

// count is "1 record" or "1,234 records".
func count(n int64, unit string) string { return thousands(n) + " " + plural(n, unit) }

// thousands writes n with commas between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func human(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func bytesHuman(v float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", v), ".0") + " " + units[i]
}

// printOrgs names the organizations that received the events (stored or
// already there), so an import into the wrong one is seen at once.
func printOrgs(w io.Writer, orgs map[string]int) {
	if len(orgs) == 0 {
		return
	}
	names := make([]string, 0, len(orgs))
	for o := range orgs {
		names = append(names, o)
	}
	sort.Strings(names)
	for i, o := range names {
		names[i] = fmt.Sprintf("%s %d", o, orgs[o])
	}
	fmt.Fprintf(w, "  organizations: %s\n", strings.Join(names, ", "))
}

// plural is "1 record" or "2 records": unit with an s unless n is 1.
func plural(n int64, unit string) string {
	if n == 1 {
		return unit
	}
	return unit + "s"
}

// stoppedForSpace says whether err came of a full disk or its reserve.
func stoppedForSpace(err error) bool {
	return errors.Is(err, diskspace.ErrLow) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// resumeHint tells how to go on after an ingest stopped on err: the same
// command again, which skips (by _id) what is stored already.
func resumeHint(err error, dir string) string {
	again := "run the same command again: events already stored are skipped"
	if stoppedForSpace(err) {
		return fmt.Sprintf("; free space on the disk of %s (or lower --disk-reserve) and %s", dir, again)
	}
	return "; " + again
}
