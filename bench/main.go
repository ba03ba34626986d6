// Command bench measures spoor against baselines run in the same process, on
// the same machine and the same generated data, and writes BENCHMARKS.md:
//
//	go run ./bench [-events N] [-o BENCHMARKS.md]
//
// It builds spoor, generates a synthetic fleet with `spoor gen`, times
// `spoor ingest` beside DuckDB's own JSON-to-Parquet COPY and zstd -3,
// measures bytes per event, and times three queries (through the CLI and
// inside one open engine) beside DuckDB reading the raw NDJSON. Results of
// spoor and of the baselines are compared; a mismatch fails the run.
// Everything it writes lives in one scratch directory under /tmp, removed at
// the end. Progress goes to stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type config struct {
	events     int64
	out        string
	runs       int
	ingestRuns int
	seed       uint64
	scratch    string
	keep       bool
	profile    bool
	timeout    time.Duration
	threads    int
	goZstd     bool
}

func main() {
	var c config
	flag.Int64Var(&c.events, "events", 10_000_000, "events to generate (at least); the real count is read from ingest's summary")
	flag.StringVar(&c.out, "o", "BENCHMARKS.md", "report file ('-' for stdout)")
	flag.IntVar(&c.runs, "runs", 5, "timed runs per query (after one warm-up); the median is reported")
	flag.IntVar(&c.ingestRuns, "ingest-runs", 3, "timed runs of each ingest-style command (each into a fresh directory); the median is reported")
	flag.Uint64Var(&c.seed, "seed", 1, "spoor gen --seed")
	flag.StringVar(&c.scratch, "scratch", "", "scratch directory (default: a new /tmp/bench-* directory, removed at the end)")
	flag.BoolVar(&c.keep, "keep", false, "keep the scratch directory")
	flag.BoolVar(&c.profile, "profile", true, "when ingest misses its target, run it once more with --cpuprofile and summarise the profile")
	flag.DurationVar(&c.timeout, "timeout", 4*time.Hour, "stop the whole run after this long")
	flag.IntVar(&c.threads, "threads", 2, "DuckDB threads for the baselines")
	flag.BoolVar(&c.goZstd, "go-zstd", false, "use klauspost zstd level 3 in Go for the I/O floor even when the zstd command exists")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: go run ./bench [flags]\n\nRegenerates BENCHMARKS.md. Flags:\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if c.events < 1000 || c.runs < 1 || c.ingestRuns < 1 || c.threads < 1 {
		fmt.Fprintln(os.Stderr, "bench: -events must be at least 1000, -runs, -ingest-runs and -threads at least 1")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	err := run(ctx, c)
	cancel()
	stop()
	if err != nil {
		var m mismatchError
		if errors.As(err, &m) {
			fmt.Fprintf(os.Stderr, "\nbench: FAILED: spoor and the baseline disagree:\n%s\n", m)
		} else {
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		if ctx.Err() == context.DeadlineExceeded {
			fmt.Fprintf(os.Stderr, "bench: stopped after -timeout %s\n", c.timeout)
		} else if ctx.Err() != nil {
			fmt.Fprintln(os.Stderr, "bench: interrupted")
		}
		os.Exit(1)
	}
}

// mismatchError is a disagreement between spoor and a baseline.
type mismatchError struct{ lines []string }

func (m mismatchError) Error() string { return strings.Join(m.lines, "\n") }

var started = time.Now()

// logf prints progress to stderr, stamped with the time since start.
func logf(format string, a ...any) {
	d := time.Since(started).Round(time.Second)
	fmt.Fprintf(os.Stderr, "[%02d:%02d:%02d] %s\n", int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60, fmt.Sprintf(format, a...))
}

// heartbeat logs every minute that what is still running, until stopped.
func heartbeat(what string) (stop func()) {
	done := make(chan struct{})
	t0 := time.Now()
	go func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				logf("  ... %s still running (%s)", what, time.Since(t0).Round(time.Second))
			}
		}
	}()
	return func() { close(done) }
}

func run(ctx context.Context, c config) error {
	root, err := repoRoot()
	if err != nil {
		return err
	}
	if c.out != "-" {
		if c.out, err = filepath.Abs(c.out); err != nil {
			return err
		}
	}
	dir := c.scratch
	if dir == "" {
		if dir, err = os.MkdirTemp("/tmp", "bench-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	if c.keep {
		logf("scratch directory %s (kept: -keep)", dir)
	} else {
		logf("scratch directory %s (removed at the end)", dir)
		defer func() {
			if err := os.RemoveAll(dir); err != nil {
				logf("could not remove %s: %v", dir, err)
			} else {
				logf("removed %s", dir)
			}
		}()
	}
	b := &bench{cfg: c, root: root, dir: dir}
	b.rep.command = regenCommand()
	b.rep.threads = c.threads
	b.rep.started = time.Now()
	if err := b.run(ctx); err != nil {
		var m mismatchError
		if errors.As(err, &m) {
			// Keep the last good report; write this one beside it.
			b.rep.mismatches = m.lines
			if b.cfg.out != "-" {
				b.cfg.out += ".mismatch.md"
			}
			if werr := b.write(); werr != nil {
				logf("writing the report: %v", werr)
			} else if b.cfg.out != "-" {
				logf("wrote the failed run's report to %s", b.cfg.out)
			}
		}
		return err
	}
	if err := b.write(); err != nil {
		return err
	}
	if c.out != "-" {
		logf("wrote %s", c.out)
	}
	fmt.Fprintln(os.Stderr)
	fmt.Fprint(os.Stderr, b.rep.targetTable())
	return nil
}

// regenCommand is the command line that regenerates the report.
func regenCommand() string {
	parts := []string{"go", "run", "./bench"}
	for _, a := range os.Args[1:] {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// bench is one run of the harness.
type bench struct {
	cfg   config
	root  string // repository root
	dir   string // scratch
	spoor string // built binary
	raw   string // generated NDJSON
	data  string // spoor data dir used by the queries
	rep   report
}

func (b *bench) run(ctx context.Context) error {
	if err := b.machine(ctx); err != nil {
		return err
	}
	if err := b.checkDisk(); err != nil {
		return err
	}
	if err := b.build(ctx); err != nil {
		return err
	}
	if err := b.generate(ctx); err != nil {
		return err
	}
	if err := b.ingest(ctx); err != nil {
		return err
	}
	if err := b.size(ctx); err != nil {
		return err
	}
	if err := b.queries(ctx); err != nil {
		return err
	}
	if err := b.httpIngest(ctx); err != nil {
		return err
	}
	if b.cfg.profile && !b.rep.ingestMet() {
		if err := b.cpuProfile(ctx); err != nil {
			return err
		}
	}
	b.rep.finished = time.Now()
	b.rep.machine.loadEnd = loadAvg()
	return nil
}
