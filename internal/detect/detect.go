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
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spoor-dev/spoor/internal/alert"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/rules"
	"github.com/spoor-dev/spoor/internal/sigma"
)

// MappingFile is the optional file in a rules directory that overrides
// Sigma's field mapping.
const MappingFile = "sigma-mapping.yaml"

// Set is one loaded rule set: the shared rules, or one organization's own.
type Set struct {
	native   map[string][]*rules.Compiled // by event_type; "" for rules of any type
	nNative  int
	seqs     map[*rules.Compiled]*sequence // the rules with After
	names    map[string]bool               // every native rule's name, enabled or not
	sigma    *sigma.Set
	sigmas   []*sigma.Compiled
	mapping  *sigma.Mapping
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

// Problem is a rule file that could not be loaded. File is relative to
// its rules directory (or, for an extra Sigma folder, to the folder's
// parent), never a full path of the server.
type Problem struct {
	File   string `json:"file"`
	Err    string `json:"error"`
	Origin string `json:"origin"` // rules.OriginShared or rules.OriginOrg
}

// Stats says what a set holds.
func (s *Set) Stats() (native, sigmaRules, problems int) {
	return s.nNative, len(s.sigmas), len(s.Problems)
}

// SigmaRules returns the Sigma rules the set evaluates (compiled and
// mapped), in load order.
func (s *Set) SigmaRules() []*sigma.Rule {
	out := make([]*sigma.Rule, len(s.sigmas))
	for i, c := range s.sigmas {
		out[i] = c.Rule
	}
	return out
}

// Load reads the shared rules of a rules directory: native rules and Sigma
// rules side by side (and under extra Sigma folders, such as a SigmaHQ
// checkout). A rule that does not load is a Problem; the others load.
func Load(dir *rules.Dir, extraSigma ...string) *Set {
	var probs []Problem
	mapping := sigma.DefaultMapping()
	if b, err := os.ReadFile(filepath.Join(dir.Path(), MappingFile)); err == nil {
		m, err := sigma.LoadMapping(b)
		if err != nil {
			probs = append(probs, Problem{File: MappingFile, Err: err.Error(), Origin: rules.OriginShared})
		} else {
			mapping = m
		}
	}
	set := load(dir, mapping, nil, extraSigma)
	set.Problems = append(probs, set.Problems...)
	return set
}

// LoadOrg reads an organization's own rules (dir is rules.Dir.Org's) with
// the shared set's Sigma mapping. A rule named like a shared rule is a
// Problem, not loaded: the shared rule stays the one of that name.
func LoadOrg(dir *rules.Dir, shared *Set) *Set {
	return load(dir, shared.mapping, shared.names, nil)
}

// load reads one directory's rules; native rules named in taken are not
// loaded.
func load(dir *rules.Dir, mapping *sigma.Mapping, taken map[string]bool, extraSigma []string) *Set {
	origin := rules.OriginShared
	if dir.OrgName() != "" {
		origin = rules.OriginOrg
	}
	set := &Set{native: map[string][]*rules.Compiled{}, names: map[string]bool{}, mapping: mapping, seqs: map[*rules.Compiled]*sequence{}}
	problem := func(file, err string) {
		set.Problems = append(set.Problems, Problem{File: file, Err: err, Origin: origin})
	}
	rs, probs := dir.Load()
	for _, p := range probs {
		problem(p.File, p.Error())
	}
	for _, r := range rs {
		if taken[r.Name] {
			problem(r.Source, fmt.Sprintf("rule %s: the name is taken by a shared rule, which stays the one of that name", r.Name))
			continue
		}
		set.names[r.Name] = true
		if !r.Enabled {
			continue
		}
		c, err := rules.Compile(r)
		if err != nil {
			problem(r.Source, err.Error())
			continue
		}
		set.nNative++
		if r.After != nil {
			set.seqs[c] = newSequence(c)
		}
		types := c.EventTypes()
		if len(types) == 0 {
			types = []string{""}
		}
		for _, t := range types {
			set.native[t] = append(set.native[t], c)
		}
	}
	// Sigma files, each with the name it is reported by.
	files := map[string]string{}
	for _, f := range dir.SigmaFiles() {
		files[f] = dir.Rel(f)
	}
	for _, root := range extraSigma {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && (filepath.Ext(p) == ".yml" || filepath.Ext(p) == ".yaml") {
				rel, _ := filepath.Rel(filepath.Dir(filepath.Clean(root)), p)
				files[p] = filepath.ToSlash(rel)
			}
			return nil
		})
	}
	paths := slices.Sorted(maps.Keys(files))
	var corrRules []*sigma.Rule
	for _, f := range paths {
		b, err := os.ReadFile(f)
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the message names the file by its full path
		}
		if err != nil {
			problem(files[f], err.Error())
			continue
		}
		parsed, err := sigma.Parse(b)
		if err != nil {
			problem(files[f], err.Error())
			continue
		}
		for _, r := range parsed {
			if r.Correlation != nil {
				corrRules = append(corrRules, r)
				continue
			}
			c, err := sigma.Compile(r, mapping)
			if err != nil {
				problem(files[f], err.Error())
				continue
			}
			set.sigmas = append(set.sigmas, c)
		}
	}
	set.sigma = sigma.NewSet(set.sigmas)
	set.loadCorrelations(corrRules, origin)
	return set
}

// loadCorrelations pairs each correlation rule with the loaded base rules
// it names.
func (set *Set) loadCorrelations(corrRules []*sigma.Rule, origin string) {
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
			set.Problems = append(set.Problems, Problem{File: sigmaName(r), Err: "correlation names base rules that are not loaded: " + strings.Join(missing, ", "), Origin: origin})
			continue
		}
		if _, err := sigma.NewCorrelator(r, def.base); err != nil {
			set.Problems = append(set.Problems, Problem{File: sigmaName(r), Err: err.Error(), Origin: origin})
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
			ok, suppressed := c.Match(e)
			if seq := s.seqs[c]; seq != nil {
				out = seq.observe(org, e, ok && !suppressed, base, out)
			} else if ok && !suppressed {
				out = append(out, nativeHit(c, base, c.GroupKey(e)))
			}
		}
	}
	if len(s.sigmas) > 0 {
		doc.Reset(e)
		s.sigma.Match(doc, func(c *sigma.Compiled) {
			h := base
			h.Rule, h.Kind, h.Title, h.Severity = sigmaName(c.Rule), "sigma", c.Rule.Title, sigmaSeverity(c.Rule.Level)
			h.Technique = c.Rule.Technique()
			h.GroupKey, h.Window, h.Threshold = e.Str[event.Hostname], time.Hour, 1
			out = append(out, h)
			out = s.correlate(org, c, doc, e, out)
		})
	}
	return out
}

// nativeHit is the hit of native rule c on the event of base (its id,
// time, host and agent) in group.
func nativeHit(c *rules.Compiled, base alert.Hit, group string) alert.Hit {
	r := c.Rule
	h := base
	h.Rule, h.Kind, h.Title, h.Severity, h.Technique = r.Name, "native", r.Title, r.Severity, r.Technique
	h.GroupKey, h.Window, h.Threshold = group, r.Window, int64(r.Threshold)
	return h
}

// correlate feeds a base rule's match to the correlations that name it;
// a firing becomes hits of the correlation rule, one per event it names,
// each with that event's own time, host and agent: the same events make
// the same alerts whatever the order they arrive in.
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
				for _, m := range f.Events {
					out = append(out, alert.Hit{Rule: sigmaName(def.rule), Kind: "correlation", Title: def.rule.Title, Technique: def.rule.Technique(),
						Severity: sigmaSeverity(def.rule.Level), GroupKey: f.Group, Window: max(span, time.Minute), Threshold: 1,
						EventID: m.ID, EventTime: m.Time.UnixMilli(), Hostname: m.Host, AgentID: m.Agent})
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
