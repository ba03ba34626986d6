// Package analysis runs a hunting analysis by name with one request shape,
// so the command line and the API offer the same analyses the same way.
package analysis

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/hunt"
	"github.com/spoor-dev/spoor/internal/hunt/cluster"
	"github.com/spoor-dev/spoor/internal/hunt/diff"
	"github.com/spoor-dev/spoor/internal/hunt/logins"
	"github.com/spoor-dev/spoor/internal/hunt/network"
	"github.com/spoor-dev/spoor/internal/hunt/sessions"
	"github.com/spoor-dev/spoor/internal/hunt/sweep"
	"github.com/spoor-dev/spoor/internal/hunt/timeline"
	"github.com/spoor-dev/spoor/internal/timespec"
)

// Request holds every analysis's parameters; each reads its own.
type Request struct {
	Host        string   `json:"host,omitempty"`
	AgainstHost string   `json:"against_host,omitempty"`
	Baseline    string   `json:"baseline,omitempty"` // "T1..T2"
	Window      string   `json:"window,omitempty"`   // "T3..T4"
	Disappeared bool     `json:"disappeared,omitempty"`
	Categories  []string `json:"categories,omitempty"`
	Since       string   `json:"since,omitempty"`
	Until       string   `json:"until,omitempty"`
	Query       string   `json:"query,omitempty"` // the filter language
	Field       string   `json:"field,omitempty"`
	IoCs        []string `json:"iocs,omitempty"` // one IoC each, as in an IoC file's lines
	Session     int64    `json:"session,omitempty"`
	PID         int64    `json:"pid,omitempty"`
	Bucket      string   `json:"bucket,omitempty"` // a duration: 1h, 15m
	Addr        string   `json:"addr,omitempty"`
}

// UsageError is a request an analysis cannot run: the caller's mistake.
type UsageError struct {
	Err error
	// need, for a request that lacks parameters, says what the analysis
	// needs, each parameter by its Request JSON name in braces:
	// "diff needs {host} and {window}".
	need string
}

// Error names the parameters as the API's request fields ("host").
func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Named is the message with each missing parameter named by name(field),
// so the command line can name its flags ("--host") where the API names
// its fields.
func (e UsageError) Named(name func(field string) string) string {
	if e.need == "" {
		return e.Err.Error()
	}
	return fieldRef.ReplaceAllStringFunc(e.need, func(ref string) string { return name(ref[1 : len(ref)-1]) })
}

var fieldRef = regexp.MustCompile(`\{[a-z_]+\}`)

func usage(format string, a ...any) error { return UsageError{Err: fmt.Errorf(format, a...)} }

// needs is the UsageError of a request that lacks parameters (see
// UsageError.need).
func needs(text string) error {
	e := UsageError{need: text}
	e.Err = errors.New(e.Named(strconv.Quote))
	return e
}

// Check reports what a request lacks for the analysis called name, before
// anything is read.
func Check(name string, r Request) error {
	if _, ok := analyses[name]; !ok {
		return usage("unknown analysis %q (one of %s)", name, strings.Join(Names(), ", "))
	}
	switch {
	case name == "diff" && (r.Host == "" || r.Window == "" || (r.Baseline == "" && r.AgainstHost == "")):
		return needs("diff needs {host}, {window} and {baseline} or {against_host}")
	case name == "sweep" && len(r.IoCs) == 0:
		return needs("sweep needs {iocs}")
	case (name == "sessions" || name == "connections") && r.Host == "":
		return needs(name + " needs {host}")
	case name == "tree" && (r.Host == "" || (r.Session == 0 && r.PID == 0)):
		return needs("tree needs {host} and {session} or {pid}")
	case name == "talkers" && r.Addr == "":
		return needs("talkers needs {addr}")
	}
	return nil
}

type runner func(ctx context.Context, db *datadir.DB, org string, r Request, now time.Time) (hunt.Table, error)

var analyses = map[string]runner{
	"diff":        runDiff,
	"sweep":       runSweep,
	"sessions":    runSessions,
	"tree":        runTree,
	"cluster":     runCluster,
	"timeline":    runTimeline,
	"talkers":     runTalkers,
	"connections": runConnections,
	"logins":      runLogins,
}

// Names lists the analyses.
func Names() []string {
	var n []string
	for k := range analyses {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Run runs the analysis called name over org's events.
func Run(ctx context.Context, db *datadir.DB, org, name string, r Request) (hunt.Table, error) {
	if err := Check(name, r); err != nil {
		return hunt.Table{}, err
	}
	return analyses[name](ctx, db, org, r, time.Now())
}

// span reads "T1..T2" (either side may be empty).
func span(s string, now time.Time) (from, to int64, err error) {
	a, b, ok := strings.Cut(s, "..")
	if !ok {
		return 0, 0, usage("%q: want FROM..TO (RFC 3339, epoch ms, YYYY-MM-DD or a duration ago)", s)
	}
	from, to, err = timespec.Range(strings.TrimSpace(a), strings.TrimSpace(b), now)
	if err != nil {
		return 0, 0, UsageError{Err: err}
	}
	return from, to, nil
}

func rangeOf(r Request, now time.Time) (int64, int64, error) {
	from, to, err := timespec.Range(r.Since, r.Until, now)
	if err != nil {
		return 0, 0, UsageError{Err: err}
	}
	return from, to, nil
}

func runDiff(ctx context.Context, db *datadir.DB, org string, r Request, now time.Time) (hunt.Table, error) {
	o := diff.Options{Host: r.Host, AgainstHost: r.AgainstHost, Categories: r.Categories, Disappeared: r.Disappeared}
	var err error
	if o.WindowFrom, o.WindowTo, err = span(r.Window, now); err != nil {
		return hunt.Table{}, err
	}
	if r.Baseline != "" {
		if o.BaselineFrom, o.BaselineTo, err = span(r.Baseline, now); err != nil {
			return hunt.Table{}, err
		}
	}
	return diff.Run(ctx, db, org, o)
}

func runSweep(ctx context.Context, db *datadir.DB, org string, r Request, now time.Time) (hunt.Table, error) {
	iocs, errs := sweep.ParseIoCs(strings.NewReader(strings.Join(r.IoCs, "\n")))
	if len(errs) > 0 {
		return hunt.Table{}, UsageError{Err: errors.Join(errs...)}
	}
	if len(iocs) == 0 { // lines, but blank ones
		return hunt.Table{}, needs("sweep needs {iocs}")
	}
	from, to, err := rangeOf(r, now)
	if err != nil {
		return hunt.Table{}, err
	}
	return sweep.Run(ctx, db, org, iocs, from, to)
}

func runSessions(ctx context.Context, db *datadir.DB, org string, r Request, now time.Time) (hunt.Table, error) {
	from, to, err := rangeOf(r, now)
	if err != nil {
		return hunt.Table{}, err
	}
	return sessions.Sessions(ctx, db, org, r.Host, from, to)
}

func runTree(ctx context.Context, db *datadir.DB, org string, r Request, now time.Time) (hunt.Table, error) {
	from, to, err := rangeOf(r, now)
	if err != nil {
		return hunt.Table{}, err
	}
	return sessions.Tree(ctx, db, org, r.Host, r.Session, r.PID, from, to)
}

func runCluster(ctx context.Context, db *datadir.DB, org string, r Request, now time.Time) (hunt.Table, error) {
	from, to, err := rangeOf(r, now)
	if err != nil {
		return hunt.Table{}, err
	}
	return cluster.Run(ctx, db, org, r.Query, from, to, r.Field)
}

func runTimeline(ctx context.Context, db *datadir.DB, org string, r Request, now time.Time) (hunt.Table, error) {
	from, to, err := rangeOf(r, now)
	if err != nil {
		return hunt.Table{}, err
	}
	var bucket time.Duration
	if r.Bucket != "" {
		if bucket, err = timespec.Duration(r.Bucket); err != nil {
			return hunt.Table{}, UsageError{Err: err}
		}
	}
	return timeline.Run(ctx, db, org, r.Query, from, to, bucket)
}

func runTalkers(ctx context.Context, db *datadir.DB, org string, r Request, now time.Time) (hunt.Table, error) {
	from, to, err := rangeOf(r, now)
	if err != nil {
		return hunt.Table{}, err
	}
	return network.Talkers(ctx, db, org, r.Addr, from, to)
}

func runConnections(ctx context.Context, db *datadir.DB, org string, r Request, now time.Time) (hunt.Table, error) {
	from, to, err := rangeOf(r, now)
	if err != nil {
		return hunt.Table{}, err
	}
	return network.Connections(ctx, db, org, r.Host, from, to)
}

func runLogins(ctx context.Context, db *datadir.DB, org string, r Request, now time.Time) (hunt.Table, error) {
	from, to, err := rangeOf(r, now)
	if err != nil {
		return hunt.Table{}, err
	}
	return logins.Run(ctx, db, org, r.Host, from, to)
}
