package sigma

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spoor-dev/spoor/internal/event"
)

// Firing is one correlation hit: the group it holds for, how many events
// (event_count), distinct values (value_count) or distinct rules
// (temporal) were counted, and the ids of the events involved.
type Firing struct {
	Rule        *Rule
	Group       string   // group-by values joined by "\x00", "" without group-by
	GroupValues []string // one per group-by field
	Count       int64
	EventIDs    []string
	First, Last time.Time
}

// Correlator runs one correlation rule over the matches of its base rules.
// Feed it each base-rule match; it keeps, per group, only the matches
// inside the timespan, and drops groups older than the timespan, so its
// memory is bounded by the events of one timespan (and MaxGroups). Safe for
// concurrent use.
type Correlator struct {
	rule *Rule
	corr *Correlation
	// MaxGroups caps the groups held at once (default 100,000): past it,
	// the stalest groups are dropped.
	MaxGroups int

	base   map[string]int // base rule ID or name → position in corr.Rules
	fields []map[int]*field
	value  map[int]*field

	mu     sync.Mutex
	groups map[string]*group
	latest time.Time
	swept  time.Time
}

type hit struct {
	t     time.Time
	rule  int
	id    string
	value string
}

type group struct {
	vals []string
	hits []hit
	last time.Time
}

// NewCorrelator prepares correlation rule corr. base holds the compiled
// base rules it names (by ID or name): their mapping sources say how to
// read the group-by fields (and value_count's field) on their events.
func NewCorrelator(corr *Rule, base []*Compiled) (*Correlator, error) {
	if corr.Correlation == nil {
		return nil, errors.New("sigma: not a correlation rule")
	}
	c := &Correlator{rule: corr, corr: corr.Correlation, base: map[string]int{}, groups: map[string]*group{}, MaxGroups: 100000}
	cc := corr.Correlation
	c.fields = make([]map[int]*field, len(cc.GroupBy))
	for i := range c.fields {
		c.fields[i] = map[int]*field{}
	}
	c.value = map[int]*field{}
	for i, ref := range cc.Rules {
		var b *Compiled
		for _, x := range base {
			if x.Rule.ID == ref || (x.Rule.Name != "" && x.Rule.Name == ref) {
				b = x
				break
			}
		}
		if b == nil {
			return nil, fmt.Errorf("sigma: correlation %s: base rule %s not given", corr.Title, ref)
		}
		c.base[b.Rule.ID] = i
		if b.Rule.Name != "" {
			c.base[b.Rule.Name] = i
		}
		src := b.variants[0].src
		fieldOf := func(name string) (*field, error) {
			if al, ok := cc.Aliases[name]; ok {
				if f, ok := al[b.Rule.Name]; ok {
					name = f
				} else if f, ok := al[b.Rule.ID]; ok {
					name = f
				}
			}
			var ts []string
			for _, v := range b.variants {
				t, ok := v.src.targets(name)
				if !ok {
					return nil, fmt.Errorf("sigma: correlation %s: field %s: no data for it in mapping %s", corr.Title, name, src.Name)
				}
				ts = append(ts, t...)
			}
			return internField(name, dedupeStrings(ts))
		}
		for j, g := range cc.GroupBy {
			f, err := fieldOf(g)
			if err != nil {
				return nil, err
			}
			c.fields[j][i] = f
		}
		if cc.Type == "value_count" {
			f, err := fieldOf(cc.Field)
			if err != nil {
				return nil, err
			}
			c.value[i] = f
		}
	}
	return c, nil
}

func dedupeStrings(s []string) []string {
	var out []string
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// Rule returns the correlation rule.
func (c *Correlator) Rule() *Rule { return c.rule }

// Feed records that base rule ruleRef (ID or name) matched the event in d
// at time t, and returns the firings that match completes. A group fires
// once per window: its hits are then dropped. Conditions lt and lte are
// decided when a group's window closes, so they fire from Feed or Flush
// with the hits of the closed window.
func (c *Correlator) Feed(ruleRef string, d *Doc, t time.Time) []Firing {
	ri, ok := c.base[ruleRef]
	if !ok {
		return nil
	}
	cc := c.corr
	vals := make([]string, len(cc.GroupBy))
	for j := range cc.GroupBy {
		vs := d.values(c.fields[j][ri])
		if len(vs) == 0 {
			return nil // events without the group-by field are not correlated
		}
		vals[j] = strings.Clone(vs[0])
	}
	h := hit{t: t, rule: ri}
	if d.e.Has(event.ID) {
		h.id = d.e.Str[event.ID]
	}
	if cc.Type == "value_count" {
		vs := d.values(c.value[ri])
		if len(vs) == 0 {
			return nil
		}
		h.value = strings.Clone(vs[0])
	}
	key := strings.Join(vals, "\x00")

	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Firing
	if t.After(c.latest) {
		c.latest = t
	}
	if c.latest.Sub(c.swept) > cc.Timespan || len(c.groups) > c.MaxGroups {
		out = c.sweep(c.latest, out)
	}
	g := c.groups[key]
	if g == nil {
		g = &group{vals: vals}
		c.groups[key] = g
	}
	out = c.expire(key, g, t, out)
	if c.groups[key] == nil {
		c.groups[key] = g
	}
	g.hits = append(g.hits, h)
	if t.After(g.last) {
		g.last = t
	}
	if lowOp(cc.Condition.Op) {
		return out
	}
	if n, ok := c.holds(g); ok {
		out = append(out, c.firing(key, g, n))
		g.hits = g.hits[:0]
	}
	return out
}

func lowOp(op string) bool { return op == "lt" || op == "lte" }

// expire drops g's hits older than the timespan before t; for lt/lte it
// first decides the window that closes.
func (c *Correlator) expire(key string, g *group, t time.Time, out []Firing) []Firing {
	cut := t.Add(-c.corr.Timespan)
	if len(g.hits) > 0 && g.hits[0].t.Before(cut) && lowOp(c.corr.Condition.Op) {
		if n, ok := c.holds(g); ok {
			out = append(out, c.firing(key, g, n))
		}
		g.hits = g.hits[:0]
		return out
	}
	i := 0
	for i < len(g.hits) && g.hits[i].t.Before(cut) {
		i++
	}
	if i > 0 {
		g.hits = append(g.hits[:0], g.hits[i:]...)
	}
	return out
}

// sweep drops the groups with nothing inside the timespan before now, and
// the stalest ones past MaxGroups.
func (c *Correlator) sweep(now time.Time, out []Firing) []Firing {
	c.swept = now
	for k, g := range c.groups {
		out = c.expire(k, g, now, out)
		if len(g.hits) == 0 {
			delete(c.groups, k)
		}
	}
	if over := len(c.groups) - c.MaxGroups; over > 0 {
		type kt struct {
			k string
			t time.Time
		}
		all := make([]kt, 0, len(c.groups))
		for k, g := range c.groups {
			all = append(all, kt{k, g.last})
		}
		slices.SortFunc(all, func(a, b kt) int { return a.t.Compare(b.t) })
		for _, x := range all[:over] {
			delete(c.groups, x.k)
		}
	}
	return out
}

// Flush closes the windows that ended before now, returns the lt/lte
// firings they yield and drops the groups left empty.
func (c *Correlator) Flush(now time.Time) []Firing {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sweep(now, nil)
}

// Groups returns how many groups the correlator holds.
func (c *Correlator) Groups() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.groups)
}

// holds evaluates the condition on g's hits.
func (c *Correlator) holds(g *group) (int64, bool) {
	cc := c.corr
	switch cc.Type {
	case "event_count":
		n := int64(len(g.hits))
		return n, cc.Condition.Holds(n)
	case "value_count":
		seen := map[string]struct{}{}
		for _, h := range g.hits {
			seen[strings.ToLower(h.value)] = struct{}{}
		}
		n := int64(len(seen))
		return n, cc.Condition.Holds(n)
	case "temporal":
		seen := map[int]struct{}{}
		for _, h := range g.hits {
			seen[h.rule] = struct{}{}
		}
		n := int64(len(seen))
		if !cc.Condition.HasOp {
			return n, int(n) == len(cc.Rules)
		}
		return n, cc.Condition.Holds(n)
	case "temporal_ordered":
		// the rules in their order, each after the one before
		next := 0
		for _, h := range g.hits { // hits are in arrival order
			if h.rule == next {
				next++
				if next == len(cc.Rules) {
					return int64(next), true
				}
			}
		}
		return int64(next), false
	}
	return 0, false
}

func (c *Correlator) firing(key string, g *group, n int64) Firing {
	f := Firing{Rule: c.rule, Group: key, GroupValues: g.vals, Count: n}
	for i, h := range g.hits {
		if h.id != "" {
			f.EventIDs = append(f.EventIDs, h.id)
		}
		if i == 0 || h.t.Before(f.First) {
			f.First = h.t
		}
		if h.t.After(f.Last) {
			f.Last = h.t
		}
	}
	return f
}
