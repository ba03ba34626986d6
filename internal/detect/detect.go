// Package detect evaluates rules on events as they are ingested: it holds
// the live rule set (native and Sigma rules, indexed so an event meets only
// the rules that can match it), reloads it when the rules directory
// changes, and turns hits into alerts.
//
// Evaluation and acknowledgement: a batch is acknowledged only once its
// events are durable in the lake and the alerts they raised are durable in
// the alert journal. A batch that was not acknowledged (the process died
// between the two) is sent again by its sender; the lake keeps its events
// once and the alert journal counts each event once per alert, so no
// event escapes evaluation and none counts twice.
package detect

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spoor-dev/spoor/internal/alert"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/rules"
	"github.com/spoor-dev/spoor/internal/sigma"
)

// MappingFile is the optional file in a rules directory that overrides
// Sigma's field mapping.
const MappingFile = "sigma-mapping.yaml"

// Set is one loaded rule set.
type Set struct {
	native   map[string][]*rules.Compiled // by event_type; "" for rules of any type
	nNative  int
	sigma    *sigma.Set
	sigmas   []*sigma.Compiled
	Problems []Problem

	// Sigma correlation rules: their base rules (by ID and name) and a
	// correlator per organization, made on first use.
	corrs  []*corrDef
	byBase map[string][]*corrDef
}

type corrDef struct {
	rule *sigma.Rule
	base []*sigma.Compiled
	orgs sync.Map // organization → *sigma.Correlator
}

func (c *corrDef) correlator(org string) *sigma.Correlator {
	if v, ok := c.orgs.Load(org); ok {
		return v.(*sigma.Correlator)
	}
	cr, err := sigma.NewCorrelator(c.rule, c.base)
	if err != nil {
		return nil // checked when the set was loaded
	}
	v, _ := c.orgs.LoadOrStore(org, cr)
	return v.(*sigma.Correlator)
}

// Problem is a rule file that could not be loaded.
type Problem struct {
	File string `json:"file"`
	Err  string `json:"error"`
}

// Stats says what a set holds.
func (s *Set) Stats() (native, sigmaRules, problems int) {
	return s.nNative, len(s.sigmas), len(s.Problems)
}

// Load reads a rules directory: native rules and Sigma rules side by side
// (and under extra Sigma folders, such as a SigmaHQ checkout). A rule that
// does not load is a Problem; the others load.
func Load(dir *rules.Dir, extraSigma ...string) *Set {
	set := &Set{native: map[string][]*rules.Compiled{}}
	rs, probs := dir.Load()
	for _, p := range probs {
		set.Problems = append(set.Problems, Problem{File: p.File, Err: p.Error()})
	}
	for _, r := range rs {
		if !r.Enabled {
			continue
		}
		c, err := rules.Compile(r)
		if err != nil {
			set.Problems = append(set.Problems, Problem{File: r.Source, Err: err.Error()})
			continue
		}
		set.nNative++
		types := c.EventTypes()
		if len(types) == 0 {
			types = []string{""}
		}
		for _, t := range types {
			set.native[t] = append(set.native[t], c)
		}
	}
	mapping := sigma.DefaultMapping()
	if b, err := os.ReadFile(filepath.Join(dir.Path(), MappingFile)); err == nil {
		m, err := sigma.LoadMapping(b)
		if err != nil {
			set.Problems = append(set.Problems, Problem{File: MappingFile, Err: err.Error()})
		} else {
			mapping = m
		}
	}
	files := append([]string(nil), dir.SigmaFiles()...)
	for _, root := range extraSigma {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (filepath.Ext(p) == ".yml" || filepath.Ext(p) == ".yaml") {
				files = append(files, p)
			}
			return nil
		})
	}
	sort.Strings(files)
	var corrRules []*sigma.Rule
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			set.Problems = append(set.Problems, Problem{File: f, Err: err.Error()})
			continue
		}
		parsed, err := sigma.Parse(b)
		if err != nil {
			set.Problems = append(set.Problems, Problem{File: f, Err: err.Error()})
			continue
		}
		for _, r := range parsed {
			if r.Correlation != nil {
				corrRules = append(corrRules, r)
				continue
			}
			c, err := sigma.Compile(r, mapping)
			if err != nil {
				set.Problems = append(set.Problems, Problem{File: f, Err: err.Error()})
				continue
			}
			set.sigmas = append(set.sigmas, c)
		}
	}
	set.sigma = sigma.NewSet(set.sigmas)
	set.loadCorrelations(corrRules)
	return set
}

// loadCorrelations pairs each correlation rule with the loaded base rules
// it names.
func (set *Set) loadCorrelations(corrRules []*sigma.Rule) {
	set.byBase = map[string][]*corrDef{}
	byRef := map[string]*sigma.Compiled{}
	for _, c := range set.sigmas {
		for _, ref := range []string{c.Rule.ID, c.Rule.Name} {
			if ref != "" {
				byRef[ref] = c
			}
		}
	}
	for _, r := range corrRules {
		def := &corrDef{rule: r}
		var missing []string
		for _, ref := range r.Correlation.Rules {
			if c, ok := byRef[ref]; ok {
				def.base = append(def.base, c)
			} else {
				missing = append(missing, ref)
			}
		}
		if len(missing) > 0 {
			set.Problems = append(set.Problems, Problem{File: sigmaName(r), Err: "correlation names base rules that are not loaded: " + strings.Join(missing, ", ")})
			continue
		}
		if _, err := sigma.NewCorrelator(r, def.base); err != nil {
			set.Problems = append(set.Problems, Problem{File: sigmaName(r), Err: err.Error()})
			continue
		}
		set.corrs = append(set.corrs, def)
		for _, c := range def.base {
			for _, ref := range []string{c.Rule.ID, c.Rule.Name} {
				if ref != "" {
					set.byBase[ref] = append(set.byBase[ref], def)
				}
			}
		}
	}
}

// Hits evaluates the set on one event of org.
func (s *Set) Hits(org string, e *event.Event, doc *sigma.Doc, out []alert.Hit) []alert.Hit {
	base := alert.Hit{EventID: e.Str[event.ID], EventTime: e.Int[event.EventTime], Hostname: e.Str[event.Hostname], AgentID: e.Str[event.AgentID]}
	for _, list := range [2][]*rules.Compiled{s.native[e.Str[event.EventType]], s.native[""]} {
		for _, c := range list {
			if ok, suppressed := c.Match(e); ok && !suppressed {
				r := c.Rule
				h := base
				h.Rule, h.Kind, h.Title, h.Severity = r.Name, "native", r.Title, r.Severity
				h.GroupKey, h.Window, h.Threshold = c.GroupKey(e), r.Window, int64(r.Threshold)
				out = append(out, h)
			}
		}
	}
	if len(s.sigmas) > 0 {
		doc.Reset(e)
		s.sigma.Match(doc, func(c *sigma.Compiled) {
			h := base
			h.Rule, h.Kind, h.Title, h.Severity = sigmaName(c.Rule), "sigma", c.Rule.Title, sigmaSeverity(c.Rule.Level)
			h.GroupKey, h.Window, h.Threshold = e.Str[event.Hostname], time.Hour, 1
			out = append(out, h)
			out = s.correlate(org, c, doc, e, out)
		})
	}
	return out
}

// correlate feeds a base rule's match to the correlations that name it;
// a firing becomes hits of the correlation rule, one per event involved.
func (s *Set) correlate(org string, c *sigma.Compiled, doc *sigma.Doc, e *event.Event, out []alert.Hit) []alert.Hit {
	seen := map[*corrDef]bool{}
	for _, ref := range []string{c.Rule.ID, c.Rule.Name} {
		for _, def := range s.byBase[ref] {
			if ref == "" || seen[def] {
				continue
			}
			seen[def] = true
			cr := def.correlator(org)
			if cr == nil {
				continue
			}
			for _, f := range cr.Feed(ref, doc, e.Time()) {
				span := def.rule.Correlation.Timespan
				for _, id := range f.EventIDs {
					out = append(out, alert.Hit{Rule: sigmaName(def.rule), Kind: "correlation", Title: def.rule.Title,
						Severity: sigmaSeverity(def.rule.Level), GroupKey: f.Group, Window: max(span, time.Minute), Threshold: 1,
						EventID: id, EventTime: f.Last.UnixMilli(), Hostname: e.Str[event.Hostname], AgentID: e.Str[event.AgentID]})
				}
			}
		}
	}
	return out
}

// sigmaName names a Sigma rule's alerts: its name when it has one, else
// its id, else its title.
func sigmaName(r *sigma.Rule) string {
	for _, s := range []string{r.Name, r.ID, r.Title} {
		if s != "" {
			return s
		}
	}
	return "sigma"
}

// sigmaSeverity maps a Sigma level onto spoor's severities (1 high).
func sigmaSeverity(level string) int {
	switch level {
	case "critical", "high":
		return 1
	case "medium":
		return 2
	}
	return 3
}

// Detector evaluates batches with the live set and records their alerts.
type Detector struct {
	dir     *rules.Dir
	extra   []string
	set     atomic.Pointer[Set]
	alerts  *alert.Store
	webhook *alert.Webhook
	log     *slog.Logger
	docs    sync.Pool

	hits, opened atomic.Int64
}

// Counts says how many rule hits the detector has seen and how many
// alerts they opened.
func (d *Detector) Counts() (hits, opened int64) { return d.hits.Load(), d.opened.Load() }

// New loads the rules of dir (and extra Sigma folders) into a detector
// writing alerts to st. webhook may be nil.
func New(dir *rules.Dir, st *alert.Store, webhook *alert.Webhook, log *slog.Logger, extraSigma ...string) *Detector {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Detector{dir: dir, extra: extraSigma, alerts: st, webhook: webhook, log: log}
	d.docs.New = func() any { return sigma.NewDoc(nil) }
	d.Reload()
	return d
}

// Reload reads the rules again; the new set takes over at once.
func (d *Detector) Reload() *Set {
	s := Load(d.dir, d.extra...)
	d.set.Store(s)
	n, sg, p := s.Stats()
	d.log.Info("rules loaded", "native", n, "sigma", sg, "problems", len(s.Problems))
	for _, pr := range s.Problems[:min(p, 20)] {
		d.log.Warn("rule not loaded", "file", pr.File, "err", pr.Err)
	}
	return s
}

// Set returns the live rule set.
func (d *Detector) Set() *Set { return d.set.Load() }

// Watch reloads the rules within a second of a change to the directory.
func (d *Detector) Watch(ctx context.Context) {
	if err := d.dir.Watch(ctx, 250*time.Millisecond, func() { d.Reload() }); err != nil && ctx.Err() == nil {
		d.log.Warn("rules directory not watched", "err", err)
	}
}

// Process evaluates a batch of events and makes the alerts they raise
// durable, each in its event's organization, before it returns; the
// caller acknowledges the batch after. Events already stored (a batch
// sent again) are evaluated too: the journal counts each event once.
func (d *Detector) Process(ctx context.Context, evs []*event.Event) error {
	set := d.set.Load()
	doc := d.docs.Get().(*sigma.Doc)
	defer d.docs.Put(doc)
	byOrg := map[string][]alert.Hit{}
	for _, e := range evs {
		org := e.Str[event.OrganizationID]
		byOrg[org] = set.Hits(org, e, doc, byOrg[org])
	}
	for org, hits := range byOrg {
		if len(hits) == 0 {
			continue
		}
		opened, err := d.alerts.Observe(org, hits)
		if err != nil {
			return fmt.Errorf("record alerts: %w", err)
		}
		d.hits.Add(int64(len(hits)))
		d.opened.Add(int64(len(opened)))
		d.webhook.Send(opened)
	}
	return ctx.Err()
}
