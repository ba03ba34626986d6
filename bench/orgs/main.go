// Command orgs measures what spreading the same events over many
// organizations costs (issue 16, section 1), in one run on one machine:
//
//	go run ./bench/orgs            (make bench-orgs; EVENTS=50000 for a quick run)
//
// For 1 organization and for each of -orgs (400 and 5,000), a file of the
// same number of events from `spoor gen` goes through `spoor ingest
// --no-detect` (wall, CPU, peak RSS, lake bytes per event, parts per
// organization and day, a needle query of one organization), through
// `spoor serve` with one token per organization and one sender per
// organization at once, and through VictoriaLogs with one AccountID per
// organization. It prints the BENCHMARKS.md section (between its orgs
// markers) on stdout, each figure beside the 1-organization one and the
// ratio; progress goes to stderr. Every count is checked against the file:
// a mismatch fails the run. Everything lives in one scratch directory under
// /tmp, removed at the end unless -keep (KEEP=1).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type config struct {
	events   int
	orgs     []int // besides the 1-organization baseline
	httpOrgs int   // the file that goes through HTTP too (0: none)
	senders  int
	batch    int
	vlChunk  int
	runs     int
	hosts    int
	rate     float64
	days     int
	start    string
	keep     bool
	vlogs    string
	timeout  time.Duration
	scratch  string
	spoor    string
	repoRoot string
}

func main() {
	c, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-orgs:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := runAll(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "bench-orgs:", err)
		os.Exit(1)
	}
}

func parseFlags() (*config, error) {
	c := &config{}
	var orgs string
	flag.IntVar(&c.events, "events", envInt("EVENTS", 550_000), "events in each file ($EVENTS)")
	flag.StringVar(&orgs, "orgs", envStr("ORGS", "400,5000"), "numbers of organizations measured beside 1 ($ORGS)")
	flag.IntVar(&c.httpOrgs, "http-orgs", envInt("HTTP_ORGS", 400), "the file (by organizations) also sent through spoor serve, beside the 1-organization file; 0 for none ($HTTP_ORGS)")
	flag.IntVar(&c.senders, "senders", envInt("SENDERS", 400), "concurrent HTTP senders ($SENDERS)")
	flag.IntVar(&c.batch, "batch", envInt("BATCH", 250), "events per POST ($BATCH)")
	flag.IntVar(&c.vlChunk, "vl-chunk", 25_000, "most events per VictoriaLogs request")
	flag.IntVar(&c.runs, "runs", 5, "timed needle queries (after one warm-up); the median is reported")
	flag.IntVar(&c.hosts, "hosts", envInt("HOSTS", 0), "hosts of every fleet (default: the largest of -orgs, which spoor gen needs at least) ($HOSTS)")
	flag.Float64Var(&c.rate, "rate", 1, "spoor gen --rate (events per host and hour over the hourly floor of every host)")
	flag.StringVar(&c.start, "start", "2024-06-01", "spoor gen --start")
	flag.BoolVar(&c.keep, "keep", os.Getenv("KEEP") == "1", "keep the scratch directory ($KEEP=1)")
	flag.StringVar(&c.vlogs, "vlogs", envStr("VLOGS", ""), "victoria-logs binary, or skip (default: on PATH, else built with go install) ($VLOGS)")
	flag.DurationVar(&c.timeout, "timeout", 3*time.Hour, "stop the run after this long")
	flag.Parse()
	if flag.NArg() > 0 {
		return nil, fmt.Errorf("no arguments expected, got %q", flag.Args())
	}
	for _, s := range strings.Split(orgs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 2 {
			return nil, fmt.Errorf("-orgs %q: want numbers of organizations above 1, comma-separated", orgs)
		}
		c.orgs = append(c.orgs, n)
		c.hosts = max(c.hosts, n)
	}
	if c.events < 1000 || c.batch < 1 || c.senders < 1 || c.runs < 1 || c.vlChunk < 1 {
		return nil, fmt.Errorf("-events (at least 1000), -batch, -senders, -runs and -vl-chunk must be positive")
	}
	// A host writes about 200 events a day at the least: enough days for
	// the file, with room.
	c.days = 1 + c.events/(c.hosts*150)
	return c, nil
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func envStr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, a...)...)
}

// drop removes a run's directory unless the scratch directory is kept.
func (c *config) drop(dir string) {
	if c.keep {
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		logf("could not remove %s: %v", dir, err)
	}
}

func runAll(ctx context.Context, c *config) error {
	t0 := time.Now()
	root, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(root)), "go.mod") {
		return fmt.Errorf("run from inside spoor's module (go env GOMOD: %v)", err)
	}
	c.repoRoot = filepath.Dir(strings.TrimSpace(string(root)))
	if c.scratch, err = os.MkdirTemp("/tmp", "spoor-orgs-"); err != nil {
		return err
	}
	if c.keep {
		defer logf("kept %s", c.scratch)
	} else {
		defer os.RemoveAll(c.scratch)
	}
	c.spoor = filepath.Join(c.scratch, "spoor")
	logf("building spoor into %s", c.scratch)
	build := exec.CommandContext(ctx, "go", "build", "-o", c.spoor, "./cmd/spoor")
	build.Dir = c.repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	rep := &report{c: c, commit: gitCommit(c.repoRoot)}
	for _, n := range append([]int{1}, c.orgs...) {
		ds, err := generate(ctx, c, n)
		if err != nil {
			return err
		}
		rep.sets = append(rep.sets, ds)
	}
	for _, ds := range rep.sets {
		row, err := ingestFile(ctx, c, ds)
		if err != nil {
			return err
		}
		rep.ingest = append(rep.ingest, row)
	}
	if c.httpOrgs > 0 {
		for _, ds := range rep.sets {
			if ds.orgs != 1 && ds.orgs != c.httpOrgs {
				continue
			}
			row, err := ingestHTTP(ctx, c, ds)
			if err != nil {
				return err
			}
			rep.http = append(rep.http, row)
		}
	}
	bin, why := vlogsBinary(ctx, c)
	rep.vlNote = why
	if bin != "" {
		for _, ds := range rep.sets {
			row, err := ingestVL(ctx, c, bin, ds)
			if err != nil {
				// The peer failing is no reason to lose spoor's figures.
				logf("VictoriaLogs: %v", err)
				rep.vlNote = fmt.Sprintf("failed on the %d-organization file: %v", ds.orgs, firstLine(err.Error()))
				rep.vl = nil
				break
			}
			rep.vl = append(rep.vl, row)
		}
	}
	rep.took = time.Since(t0)
	fmt.Print(rep.markdown())
	logf("done in %s", secs(rep.took))
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func gitCommit(dir string) string {
	cmd := exec.Command("git", "rev-parse", "--short", "HEAD")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "unknown commit"
	}
	s := strings.TrimSpace(string(out))
	cmd = exec.Command("git", "status", "--porcelain", "--untracked-files=no")
	cmd.Dir = dir
	if out, err := cmd.Output(); err == nil && len(out) > 0 {
		s += " with local changes"
	}
	return s
}
