package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/spf13/cobra"

	"github.com/spoor-dev/spoor/internal/gen"
)

type genOptions struct {
	seed      uint64
	hosts     int
	orgs      int
	days      int
	rate      float64
	start     string
	out       string
	labels    string
	scenarios string
}

func newGenCmd() *cobra.Command {
	var o genOptions
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "synthetic fleet telemetry with labelled attack scenarios",
		Long: `gen writes a synthetic fleet's telemetry as Threat Stack raw events (NDJSON):
Linux audit, logins, network, file integrity, containers, Windows Security and
Sysmon, and CloudTrail, with the attacks of the seed documents planted and
labelled in a second NDJSON file.

By default the fleet covers the seeds' own windows (2020-02-05 for 12 days and
2020-09-15 for 3 days) and the scenarios sit at the seeds' dates with their
identifiers, so the seeds' queries run as written. --start/--days give one
window instead; the scenarios are then placed near its end.

The same seed and flags give byte-identical output.`,
		Example: `  # The seeds' fleet, gzipped, with its labels beside it
  spoor gen --out fleet.ndjson.gz

  # Five hosts for a day, no attacks, straight into a data directory
  spoor gen --hosts 5 --start 2024-06-01 --days 1 --scenarios none | spoor ingest --data lake -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runGen(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.Uint64Var(&o.seed, "seed", 1, "random seed")
	f.IntVar(&o.hosts, "hosts", gen.DefaultHosts, "number of hosts")
	f.IntVar(&o.orgs, "orgs", gen.DefaultOrgs, "number of organizations")
	f.IntVar(&o.days, "days", 0, "days to generate from --start (default: the seeds' windows; 3 with --start)")
	f.Float64Var(&o.rate, "rate", gen.DefaultRate, "average events per host per hour")
	f.StringVar(&o.start, "start", "", "start of the window: RFC 3339, YYYY-MM-DD or epoch ms (default: the seeds' windows)")
	f.StringVar(&o.out, "out", "-", "events file (NDJSON, gzip when it ends in .gz); - for stdout")
	f.StringVar(&o.labels, "labels", "", "labels file (default: OUT with .labels.ndjson; none for stdout)")
	f.StringVar(&o.scenarios, "scenarios", "all", "comma-separated scenarios ("+strings.Join(gen.AllScenarios, ",")+"), all or none")
	return cmd
}

func (o genOptions) options() (gen.Options, error) {
	opts := gen.Options{Seed: o.seed, Hosts: o.hosts, Orgs: o.orgs, Days: o.days, Rate: o.rate}
	if o.hosts <= 0 || o.orgs <= 0 || o.rate <= 0 || o.days < 0 {
		return opts, usagef("--hosts, --orgs and --rate must be positive, --days not negative")
	}
	if o.start != "" {
		ms, err := parseTime(o.start, time.Now())
		if err != nil {
			return opts, usageError{fmt.Errorf("--start: %w", err)}
		}
		opts.Start = time.UnixMilli(ms).UTC()
	}
	switch s := strings.TrimSpace(o.scenarios); s {
	case "all", "":
	case "none":
		opts.Scenarios = []string{}
	default:
		opts.Scenarios = []string{}
		for _, n := range strings.Split(s, ",") {
			opts.Scenarios = append(opts.Scenarios, strings.TrimSpace(n))
		}
	}
	n, err := opts.Normalize()
	if err != nil {
		return opts, usageError{err}
	}
	return n, nil
}

// labelsPath derives the labels file from the events file.
func labelsPath(out string) string {
	base := strings.TrimSuffix(out, ".gz")
	for _, ext := range []string{".ndjson", ".jsonl", ".json"} {
		if strings.HasSuffix(base, ext) {
			base = strings.TrimSuffix(base, ext)
			break
		}
	}
	return base + ".labels.ndjson"
}

func runGen(ctx context.Context, o genOptions, stdout, stderr io.Writer) error {
	opts, err := o.options()
	if err != nil {
		return err
	}
	var (
		events io.Writer
		closes []func() error
	)
	if o.out == "-" {
		events = stdout
	} else {
		f, err := os.Create(o.out)
		if err != nil {
			return err
		}
		defer f.Close()
		events = f
		closes = append(closes, f.Close)
	}
	bw := bufio.NewWriterSize(events, 1<<20)
	events = bw
	if strings.HasSuffix(o.out, ".gz") {
		zw := newParallelGzip(bw, runtime.GOMAXPROCS(0))
		events = zw
		closes = append([]func() error{zw.Close, bw.Flush}, closes...)
	} else {
		closes = append([]func() error{bw.Flush}, closes...)
	}

	var labels io.Writer
	lpath := o.labels
	if lpath == "" && o.out != "-" {
		lpath = labelsPath(o.out)
	}
	if lpath != "" {
		lf, err := os.Create(lpath)
		if err != nil {
			return err
		}
		defer lf.Close()
		lb := bufio.NewWriterSize(lf, 256<<10)
		labels = lb
		closes = append(closes, lb.Flush, lf.Close)
	}

	start := time.Now()
	st, err := gen.Generate(ctx, opts, events, labels)
	if err != nil {
		return err
	}
	for _, c := range closes {
		if err := c(); err != nil {
			return fmt.Errorf("close output: %w", err)
		}
	}
	d := time.Since(start)
	var span []string
	for _, w := range st.Windows {
		span = append(span, w.Start.Format("2006-01-02T15:04Z")+".."+w.End.Format("2006-01-02T15:04Z"))
	}
	var by []string
	for _, s := range st.ByScenario {
		by = append(by, fmt.Sprintf("%s %d", s.Scenario, s.Events))
	}
	scen := fmt.Sprintf("%d scenario events", st.ScenarioEvents)
	if len(by) > 0 {
		scen += " (" + strings.Join(by, ", ") + ")"
	}
	fmt.Fprintf(stderr, "gen: %d events, %s, %d hosts in %d org(s), %s, %s; %.1fs (%.0f MB/s)\n",
		st.Events, bytesHuman(float64(st.Bytes)), st.Hosts, st.Orgs, strings.Join(span, " + "), scen,
		d.Seconds(), float64(st.Bytes)/1e6/d.Seconds())
	return nil
}

// parallelGzip compresses fixed-size blocks as independent gzip members on
// several goroutines and writes them in order. Concatenated members are one
// valid gzip file (RFC 1952), and the bytes depend only on the input.
type parallelGzip struct {
	w       io.Writer
	buf     []byte
	pending chan chan []byte // results in input order
	done    chan error
	sem     chan struct{}
	closed  bool
}

const gzipBlock = 4 << 20

func newParallelGzip(w io.Writer, workers int) *parallelGzip {
	z := &parallelGzip{w: w, pending: make(chan chan []byte, workers+1), done: make(chan error, 1), sem: make(chan struct{}, max(1, workers))}
	go func() {
		var err error
		for res := range z.pending {
			b := <-res
			if err == nil {
				_, err = z.w.Write(b)
			}
		}
		z.done <- err
	}()
	return z
}

func (z *parallelGzip) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		k := min(len(p), gzipBlock-len(z.buf))
		z.buf = append(z.buf, p[:k]...)
		p = p[k:]
		if len(z.buf) == gzipBlock {
			z.flush()
		}
	}
	select {
	case err := <-z.done:
		z.done <- err // keep it for Close
		if err != nil {
			return 0, err
		}
	default:
	}
	return n, nil
}

// flush hands the current block to a worker.
func (z *parallelGzip) flush() {
	block := z.buf
	z.buf = make([]byte, 0, gzipBlock)
	res := make(chan []byte, 1)
	z.sem <- struct{}{}
	z.pending <- res
	go func() {
		defer func() { <-z.sem }()
		var out bytes.Buffer
		out.Grow(len(block) / 6)
		zw, _ := gzip.NewWriterLevel(&out, gzip.DefaultCompression)
		zw.Write(block)
		zw.Close()
		res <- out.Bytes()
	}()
}

func (z *parallelGzip) Close() error {
	if z.closed {
		return nil
	}
	z.closed = true
	if len(z.buf) > 0 {
		z.flush()
	}
	close(z.pending)
	return <-z.done
}
