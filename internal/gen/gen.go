// Package gen generates a realistic synthetic fleet's telemetry as Threat
// Stack raw events (NDJSON), with the attacks of the seed documents planted
// at their own dates and identifiers and labelled in a second NDJSON stream.
//
// Output is a pure function of the options: the same seed and options give
// the same bytes. Events are planned hour by hour (every host's events of
// the hour, sorted by time) and rendered with append-style JSON.
package gen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync/atomic"
	"time"
)

// Options says what fleet to generate.
type Options struct {
	Seed  uint64
	Hosts int     // number of hosts; default 20
	Orgs  int     // organizations; the first is 5a8c4a54e11909bd290021ed; default 1
	Rate  float64 // average events per host per hour; default 40
	// Start and Days give one window; when both are zero the fleet covers
	// the seeds' own windows (2020-02-05 for 12 days and 2020-09-15 for 3).
	Start time.Time
	Days  int
	// Scenarios to plant; nil means all, an empty slice none.
	Scenarios []string
}

// Defaults.
const (
	DefaultHosts = 20
	DefaultOrgs  = 1
	DefaultRate  = 40
	DefaultDays  = 3
)

// Window is a span of generated time.
type Window struct {
	Start, End time.Time
}

// DefaultWindows are the seeds' windows: seed 000's baseline and compromise,
// and seeds 001 and 003.
var DefaultWindows = []Window{
	{time.Date(2020, 2, 5, 0, 0, 0, 0, time.UTC), time.Date(2020, 2, 17, 0, 0, 0, 0, time.UTC)},
	{time.Date(2020, 9, 15, 0, 0, 0, 0, time.UTC), time.Date(2020, 9, 18, 0, 0, 0, 0, time.UTC)},
}

// ScenarioCount is the number of labelled events of one scenario.
type ScenarioCount struct {
	Scenario string
	Events   int64
}

// Stats summarises a generation.
type Stats struct {
	Events         int64
	Bytes          int64 // event bytes written (uncompressed)
	Hosts          int
	Orgs           int
	ScenarioEvents int64
	ByScenario     []ScenarioCount
	Windows        []Window
	First, Last    int64 // event times (epoch ms) of the first and last event
}

// Normalize fills in defaults and checks the options.
func (o Options) Normalize() (Options, error) {
	if o.Hosts == 0 {
		o.Hosts = DefaultHosts
	}
	if o.Orgs == 0 {
		o.Orgs = DefaultOrgs
	}
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.Hosts < 0 || o.Orgs < 0 || o.Rate < 0 || o.Days < 0 {
		return o, errors.New("hosts, orgs, rate and days must not be negative")
	}
	if o.Orgs > o.Hosts {
		return o, fmt.Errorf("%d organizations need at least as many hosts, have %d", o.Orgs, o.Hosts)
	}
	if !o.Start.IsZero() && o.Days == 0 {
		o.Days = DefaultDays
	}
	if o.Days > 0 && o.Start.IsZero() {
		o.Start = DefaultWindows[0].Start
	}
	o.Start = o.Start.UTC()
	if o.Scenarios == nil {
		o.Scenarios = AllScenarios
	}
	seen := map[string]bool{}
	sc := []string{} // non-nil: an empty list means none, nil means all
	for _, s := range o.Scenarios {
		if !slices.Contains(AllScenarios, s) {
			return o, errUnknownScenario(s)
		}
		if !seen[s] {
			seen[s] = true
			sc = append(sc, s)
		}
	}
	// plan in a fixed order whatever order they were given in
	sort.Slice(sc, func(i, j int) bool { return slices.Index(AllScenarios, sc[i]) < slices.Index(AllScenarios, sc[j]) })
	o.Scenarios = sc
	first := o.Hosts / o.Orgs // hosts of the first organization
	if o.Hosts%o.Orgs > 0 {
		first++
	}
	if first > MaxHostsPerOrg {
		return o, fmt.Errorf("%d hosts in one organization: at most %d fit in its address space; spread them with --orgs", first, MaxHostsPerOrg)
	}
	for _, s := range sc {
		if need := scenarioHosts[s]; first < need {
			return o, errFewHosts{s, need}
		}
	}
	return o, nil
}

// Windows returns the spans the options generate.
func (o Options) Windows() []Window {
	if o.Days == 0 {
		return DefaultWindows
	}
	return []Window{{o.Start, o.Start.Add(time.Duration(o.Days) * 24 * time.Hour)}}
}

// chunkSize is the size of the output chunks handed to the writer.
const chunkSize = 1 << 20

// Generate writes the fleet's events to events (NDJSON) and the scenario
// labels to labels (NDJSON; nil to skip). Neither writer needs buffering.
func Generate(ctx context.Context, opts Options, events io.Writer, labels io.Writer) (Stats, error) {
	opts, err := opts.Normalize()
	if err != nil {
		return Stats{}, err
	}
	wins := opts.Windows()
	firstMS := wins[0].Start.UnixMilli()
	orgs, err := buildFleet(ctx, opts.Seed, opts.Hosts, opts.Orgs, firstMS, opts.Rate, opts.Days == 0)
	if err != nil {
		return Stats{}, err
	}
	pl := defaultPlacement()
	if opts.Days > 0 {
		pl = customPlacement(firstMS, opts.Days)
	}
	scen, err := planScenarios(opts.Seed, orgs, opts.Scenarios, pl)
	if err != nil {
		return Stats{}, err
	}

	st := Stats{Hosts: opts.Hosts, Orgs: opts.Orgs, Windows: wins}
	w := &renderer{stats: &st, scen: map[string]int64{}, labels: labels != nil}
	out := newChunkWriter(events)
	defer out.close()
	w.buf = out.get()

	var hosts []*host
	for _, o := range orgs {
		hosts = append(hosts, o.hosts...)
	}
	g := &planner{}
	var keys []uint64
	for _, win := range wins {
		g.winEnd = win.End.UnixMilli()
		g.carry = g.carry[:0]
		for hs := win.Start.UnixMilli(); hs < g.winEnd; hs += 3600000 {
			if err := ctx.Err(); err != nil {
				return st, err
			}
			hour := uint64(hs / 3600000)
			g.start, g.end = hs, hs+3600000
			g.specs = g.specs[:0]
			carry := g.carry
			g.carry = nil
			for i := range carry {
				g.add(carry[i])
			}
			for len(scen) > 0 && scen[0].t < g.end {
				if scen[0].t >= hs {
					g.specs = append(g.specs, scen[0])
				}
				scen = scen[1:]
			}
			for _, h := range hosts {
				if h.since >= g.end {
					continue
				}
				r := newRand(opts.Seed, 0x1000+uint64(h.idx), hour)
				target := 0.92 * opts.Rate * h.weight * diurnal(hs, h.role) * (0.85 + 0.3*r.Float64())
				if h.since > hs {
					target *= float64(g.end-h.since) / 3600000
				}
				g.lbl, g.n = nil, 0
				if h.info.windows {
					h.planWindowsHour(g, r, hs, target)
				} else {
					h.planLinuxHour(g, r, hs, target)
				}
			}
			for _, o := range orgs {
				r := newRand(opts.Seed, 0xc7000+uint64(o.idx), hour)
				target := 0.08 * opts.Rate * float64(len(o.hosts)) * (0.6 + 0.6*workFactor(hs)) * (0.85 + 0.3*r.Float64())
				g.lbl, g.n = nil, 0
				o.planCloudTrailHour(g, r, hs, target)
			}
			// sort by time; ties keep plan order
			keys = keys[:0]
			for i := range g.specs {
				keys = append(keys, uint64(g.specs[i].t-hs)<<40|uint64(i))
			}
			slices.Sort(keys)
			w.r = newRand(opts.Seed, 0x7e4d, hour)
			for _, k := range keys {
				s := &g.specs[k&(1<<40-1)]
				if st.First == 0 {
					st.First = s.t
				}
				st.Last = s.t
				w.render(s)
				if len(w.buf) >= chunkSize {
					if err := out.put(w.buf); err != nil {
						return st, err
					}
					w.buf = out.get()
				}
				if len(w.lab) >= 64<<10 {
					if _, err := labels.Write(w.lab); err != nil {
						return st, fmt.Errorf("write labels: %w", err)
					}
					w.lab = w.lab[:0]
				}
			}
		}
	}
	if len(w.buf) > 0 {
		if err := out.put(w.buf); err != nil {
			return st, err
		}
	}
	if err := out.close(); err != nil {
		return st, err
	}
	if labels != nil && len(w.lab) > 0 {
		if _, err := labels.Write(w.lab); err != nil {
			return st, fmt.Errorf("write labels: %w", err)
		}
	}
	for _, n := range opts.Scenarios {
		st.ByScenario = append(st.ByScenario, ScenarioCount{n, w.scen[n]})
	}
	return st, nil
}

// sortSpecs sorts specs by time, stably.
func sortSpecs(s []spec) {
	slices.SortStableFunc(s, func(a, b spec) int {
		switch {
		case a.t < b.t:
			return -1
		case a.t > b.t:
			return 1
		}
		return 0
	})
}

// chunkWriter writes chunks on a goroutine of its own, so rendering and
// writing (or compressing) overlap.
type chunkWriter struct {
	w      io.Writer
	ch     chan []byte
	free   chan []byte
	done   chan struct{}
	failed atomic.Bool
	err    error // set by the goroutine before failed, read after
	shut   bool
}

func newChunkWriter(w io.Writer) *chunkWriter {
	c := &chunkWriter{w: w, ch: make(chan []byte, 2), free: make(chan []byte, 4), done: make(chan struct{})}
	for i := 0; i < 4; i++ {
		c.free <- make([]byte, 0, chunkSize+64<<10)
	}
	go func() {
		defer close(c.done)
		for b := range c.ch {
			if !c.failed.Load() {
				if _, err := c.w.Write(b); err != nil {
					c.err = fmt.Errorf("write events: %w", err)
					c.failed.Store(true)
				}
			}
			c.free <- b[:0]
		}
	}()
	return c
}

func (c *chunkWriter) get() []byte { return <-c.free }

func (c *chunkWriter) put(b []byte) error {
	if c.failed.Load() {
		return c.err
	}
	c.ch <- b
	return nil
}

func (c *chunkWriter) close() error {
	if !c.shut {
		c.shut = true
		close(c.ch)
		<-c.done
	}
	return c.err
}
