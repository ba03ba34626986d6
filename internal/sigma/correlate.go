package sigma

import (
	"errors"
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spoor-dev/spoor/internal/event"
)

// What a correlator remembers is bounded. A group forgets what is more
// than the lateness and a timespan behind its newest match; where a bound
// is reached, the groups more than two timespans behind the correlator's
// newest match are forgotten (at most once per sweep interval of event
// time), and when that frees nothing, what does not fit is not
// remembered: a new group, a match.
const (
	maxCorrGroups = 100_000 // groups of one correlator (a rule in one organization)
	// maxCorrEvents is how many base-rule matches a correlator remembers,
	// all groups; a group keeps at most maxCorrGroupEvents (or the
	// condition's count and one, when higher): past it a sliding group
	// forgets its oldest, and a fixed window stops counting and does not
	// fire.
	maxCorrEvents      = 200_000
	maxCorrGroupEvents = 10_000
	// corrLateness is how far behind the newest match of its group a
	// match may reach the correlator and still count exactly as it would
	// have in event-time order (and how long after its end a fixed window
	// waits before it is decided): the chunks of files ingested at once,
	// rotated logs named newest first.
	corrLateness = 24 * time.Hour
)

// Firing is what one Feed (or Flush) adds to a correlation's hits in one
// group: the events newly found in a window where the correlation holds.
// The same matches yield the same events in all, whatever the order they
// were fed in; how they are split into Firings depends on that order.
type Firing struct {
	Rule        *Rule
	Group       string   // group-by values joined by "\x00", "" without group-by
	GroupValues []string // one per group-by field
	// Count is how many events (event_count), distinct values
	// (value_count) or rules (temporal, temporal_ordered: in order) the
	// largest window that holds counted.
	Count  int64
	Events []Member // in event-time order
}

// Member is an event a correlation names.
type Member struct {
	ID          string
	Time        time.Time
	Host, Agent string
}

// Correlator runs one correlation rule over the matches of its base rules,
// in one organization. Safe for concurrent use.
//
// A window holds when the correlation's condition holds on the group's
// matches inside it: their number (event_count), their distinct values of
// the field (value_count, case-insensitive), the distinct rules among them
// (temporal), or how many of the rules match in their order by event time
// (temporal_ordered; equal times are in order). Without a condition, the
// temporal types need every rule.
//
// With gt, gte or no condition, windows slide: each is the timespan
// starting at one of the group's matches (at a match of the first rule,
// for temporal_ordered), both ends included, and the correlation names
// every match of every window that holds. Its hits are then those of
// event-time order whatever the order the matches are fed in: a match
// that completes a window names the earlier ones, and a window that
// already holds names each match fed later.
//
// With lt, lte or eq, a count can only be decided once no more matches
// can join it, so windows are fixed: a timespan long, aligned on the Unix
// epoch, as alert windows are. A window is decided, and fires with all its
// matches when its condition holds, once the correlator has seen a match
// corrLateness past its end (or Flush is called past it); a match for a
// window already decided is not counted.
type Correlator struct {
	rule     *Rule
	corr     *Correlation
	fixed    bool  // lt, lte, eq: fixed windows
	span     int64 // timespan, ms
	lateness int64 // ms
	every    int64 // sweep interval, ms
	groupCap int
	seed     maphash.Seed

	base   map[string]int // base rule ID or name → position in corr.Rules
	fields []map[int]*field
	value  map[int]*field

	mu      sync.Mutex
	scratch tally // slideCount's
	groups  map[string]*group
	events  int   // matches held, all groups
	newest  int64 // the newest match time seen, all groups
	swept   int64 // newest when groups were last swept
	flushed int64 // Flush's time: fixed windows ending by it are decided
}

// member is a base-rule match held by a group.
type member struct {
	t     int64  // event time, ms
	id    uint64 // hash of the event id: with t and rule, the match's identity
	vh    uint64 // value_count: hash of the value, lowercased
	vi    int32  // value_count, sliding windows: the value's number in its group
	rule  int32  // position in corr.Rules
	named bool   // already in a Firing
	// what a Firing says of it
	eventID, host, agent string
}

func cmpMember(a, b *member) int {
	if a.t != b.t {
		return cmpInt(a.t, b.t)
	}
	if a.id != b.id {
		if a.id < b.id {
			return -1
		}
		return 1
	}
	return int(a.rule - b.rule)
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// firstAt is the index of the first member at t or later.
func firstAt(ms []member, t int64) int {
	i, _ := slices.BinarySearchFunc(ms, t, func(m member, t int64) int { return cmpInt(m.t, t) })
	return i
}

// NewCorrelator prepares correlation rule corr. base holds the compiled
// base rules it names (by ID or name): their mapping sources say how to
// read the group-by fields (and value_count's field) on their events.
func NewCorrelator(corr *Rule, base []*Compiled) (*Correlator, error) {
	if corr.Correlation == nil {
		return nil, errors.New("sigma: not a correlation rule")
	}
	cc := corr.Correlation
	c := &Correlator{rule: corr, corr: cc, base: map[string]int{}, groups: map[string]*group{},
		span: max(cc.Timespan.Milliseconds(), 1), lateness: corrLateness.Milliseconds(),
		groupCap: maxCorrGroupEvents, seed: maphash.MakeSeed(), swept: -1 << 62, flushed: -1 << 62}
	c.every = max(c.span/8, time.Minute.Milliseconds())
	switch cc.Condition.Op {
	case "lt", "lte", "eq":
		c.fixed = true
	}
	if cc.Condition.HasOp && cc.Condition.Value < int64(maxCorrEvents) {
		c.groupCap = max(c.groupCap, int(cc.Condition.Value)+1)
	}
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
// at time t, and returns what that adds to the correlation's hits: the
// events of the sliding windows the match completes or joins, and of the
// fixed windows decided meanwhile. A match fed twice counts once.
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
	m := member{t: t.UnixMilli(), rule: int32(ri)}
	m.id = maphash.String(c.seed, d.e.Str[event.ID])
	m.eventID = strings.Clone(d.e.Str[event.ID])
	m.host, m.agent = strings.Clone(d.e.Str[event.Hostname]), strings.Clone(d.e.Str[event.AgentID])
	if cc.Type == "value_count" {
		vs := d.values(c.value[ri])
		if len(vs) == 0 {
			return nil
		}
		m.vh = maphash.String(c.seed, strings.ToLower(vs[0]))
	}
	key := strings.Join(vals, "\x00")

	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Firing
	c.newest = max(c.newest, m.t)
	if c.newest >= c.swept+c.every {
		full := len(c.groups) >= maxCorrGroups || c.events >= maxCorrEvents
		out, _ = c.sweep(out, full, nil)
	}
	if c.fixed && windowStart(m.t, c.span)+c.span <= c.closed() {
		return out // its window is decided
	}
	g := c.groups[key]
	if g == nil {
		if len(c.groups) >= maxCorrGroups {
			var freed bool
			if out, freed = c.sweep(out, true, nil); !freed {
				return out // not remembered
			}
		}
		g = &group{vals: vals, newest: m.t}
		c.groups[key] = g
	}
	if c.fixed {
		out = c.addFixed(g, m, out)
	} else {
		out = c.addSliding(key, g, m, out)
	}
	if g.empty() {
		delete(c.groups, key)
	}
	return out
}

// closed is the time by which fixed windows are decided: those ending at
// or before it.
func (c *Correlator) closed() int64 { return max(c.flushed, c.newest-c.lateness) }

// room says whether one more match may be held, sweeping (all groups but
// keep) when the correlator is full.
func (c *Correlator) room(out []Firing, keep *group) ([]Firing, bool) {
	if c.events < maxCorrEvents {
		return out, true
	}
	out, _ = c.sweep(out, true, keep)
	return out, c.events < maxCorrEvents
}

// sweep decides the fixed windows that closed and forgets the groups, but
// keep, that nothing a match within the lateness could need is left in
// (force: also those more than two timespans behind the newest match), at
// most once per sweep interval of event time. It reports whether it
// forgot any.
func (c *Correlator) sweep(out []Firing, force bool, keep *group) ([]Firing, bool) {
	if c.newest < c.swept+c.every {
		return out, false
	}
	c.swept = c.newest
	closed := c.closed()
	forgot := false
	for k, g := range c.groups {
		if c.fixed {
			out = c.decide(k, g, closed, out)
		}
		stale := g.newest < c.newest-c.lateness-c.span || (force && g.newest < c.newest-2*c.span)
		if g != keep && (stale || g.empty()) {
			c.events -= g.count()
			delete(c.groups, k)
			forgot = true
		}
	}
	return out, forgot
}

// Flush says no match at or before now will be fed any more: it decides
// the fixed windows that ended by now, returns their firings, and forgets
// the groups no later match could need.
func (c *Correlator) Flush(now time.Time) []Firing {
	c.mu.Lock()
	defer c.mu.Unlock()
	ms := now.UnixMilli()
	c.flushed = max(c.flushed, ms)
	c.swept = -1 << 62 // sweep now
	out, _ := c.sweep(nil, false, nil)
	for k, g := range c.groups {
		if !c.fixed && g.newest < ms-c.span {
			c.events -= g.count()
			delete(c.groups, k)
		}
	}
	return out
}

// Groups returns how many groups the correlator holds.
func (c *Correlator) Groups() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.groups)
}

// firing is the Firing naming ms in group key.
func (c *Correlator) firing(key string, g *group, n int64, ms []*member) Firing {
	f := Firing{Rule: c.rule, Group: key, GroupValues: g.vals, Count: n, Events: make([]Member, len(ms))}
	for i, m := range ms {
		f.Events[i] = Member{ID: m.eventID, Time: time.UnixMilli(m.t).UTC(), Host: m.host, Agent: m.agent}
	}
	return f
}

// windowStart is the start of the fixed window of length w (ms) that
// holds t: windows are aligned on multiples of their length since the
// Unix epoch.
func windowStart(t, w int64) int64 {
	s := t - t%w
	if t%w < 0 {
		s -= w
	}
	return s
}
