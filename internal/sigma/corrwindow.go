package sigma

import "slices"

// group is what a correlator holds of one group.
type group struct {
	vals   []string
	newest int64 // its newest match time: what it keeps is relative to it

	// Sliding windows: the matches, in cmpMember order.
	ms []member
	// While matches come in time order, tail tallies ms[tailAt:], the
	// matches within the timespan before the newest, so that each costs
	// O(1); every match from namedFrom on is named (but the newest, while
	// slideTail has not evaluated it).
	tail      tally
	tailAt    int
	tailOK    bool
	namedFrom int
	// value_count: a small number per distinct value (member.vi), so that
	// windows tally values in a slice; renumbered when it outgrows ms.
	dict map[uint64]int32

	// Fixed windows, by start; nFixed is the matches they hold.
	buckets map[int64]*fixedWindow
	nFixed  int
}

// fixedWindow is one fixed window of a group.
type fixedWindow struct {
	ms   []member // in cmpMember order
	dead bool     // can no longer hold, or outgrew the group's bound: never fires
}

// count is how many matches g holds.
func (g *group) count() int { return len(g.ms) + g.nFixed }

func (g *group) empty() bool { return len(g.ms) == 0 && len(g.buckets) == 0 }

// tally counts matches and their distinct keys (value_count's value
// numbers, the temporal types' rules).
type tally struct {
	n, distinct int
	by          []int32 // by key
}

func (t *tally) reset() {
	t.n, t.distinct = 0, 0
	clear(t.by)
}

// noKey is event_count's key: only the number of matches counts.
const noKey = ^uint64(0)

func (t *tally) add(k uint64) {
	t.n++
	if k == noKey {
		return
	}
	if k >= uint64(len(t.by)) {
		t.by = append(t.by, make([]int32, int(k)+1-len(t.by))...)
	}
	if t.by[k]++; t.by[k] == 1 {
		t.distinct++
	}
}

func (t *tally) remove(k uint64) {
	t.n--
	if k == noKey {
		return
	}
	if t.by[k]--; t.by[k] == 0 {
		t.distinct--
	}
}

// key is what distinguishes m for the correlation's count.
func (c *Correlator) key(m *member) uint64 {
	switch c.corr.Type {
	case "value_count":
		return uint64(m.vi)
	case "temporal", "temporal_ordered":
		return uint64(m.rule)
	}
	return noKey
}

// metric is what the condition is decided on, for event_count,
// value_count and temporal.
func (c *Correlator) metric(t *tally) int64 {
	if c.corr.Type == "event_count" {
		return int64(t.n)
	}
	return int64(t.distinct)
}

// holds decides the condition on n; without one (the temporal types),
// every rule is needed.
func (c *Correlator) holds(n int64) bool {
	if !c.corr.Condition.HasOp {
		return n == int64(len(c.corr.Rules))
	}
	return c.corr.Condition.Holds(n)
}

// addSliding adds m to g's matches and appends what it adds to the hits.
func (c *Correlator) addSliding(key string, g *group, m member, out []Firing) []Firing {
	if m.t < g.newest-c.lateness-c.span {
		return out // older than all the group keeps
	}
	i, found := slices.BinarySearchFunc(g.ms, &m, func(a member, b *member) int { return cmpMember(&a, b) })
	if found {
		return out // fed again
	}
	if len(g.ms) >= c.groupCap {
		if i == 0 {
			return out // older than all the full group keeps
		}
		c.dropFront(g, 1)
		i--
	} else {
		var ok bool
		if out, ok = c.room(out, g); !ok {
			return out
		}
	}
	c.events++
	if c.corr.Type == "value_count" {
		m.vi = g.number(m.vh)
	}
	g.ms = slices.Insert(g.ms, i, m)
	appended := i == len(g.ms)-1
	c.advance(g, m.t)
	if len(g.dict) > 2*len(g.ms)+1024 {
		g.renumber()
	}
	if !appended {
		if i >= g.namedFrom {
			g.namedFrom = i + 1
		} else {
			g.namedFrom++
		}
		g.tailOK = false
		return c.slideAll(key, g, firstAt(g.ms, m.t-c.span), firstAt(g.ms, m.t+1), out)
	}
	if c.corr.Type != "temporal_ordered" {
		return c.slideTail(key, g, out)
	}
	// The match is the newest: the window of the first match of the first
	// rule within the timespan before it holds all those of later ones,
	// and holds whenever one of them does.
	j := firstAt(g.ms, m.t-c.span)
	for j < len(g.ms) && g.ms[j].rule != 0 {
		j++
	}
	if j == len(g.ms) {
		return out
	}
	return c.slideAll(key, g, firstAt(g.ms, g.ms[j].t), firstAt(g.ms, g.ms[j].t+1), out)
}

// number is value hash vh's number in g.
func (g *group) number(vh uint64) int32 {
	if g.dict == nil {
		g.dict = map[uint64]int32{}
	}
	vi, ok := g.dict[vh]
	if !ok {
		vi = int32(len(g.dict))
		g.dict[vh] = vi
	}
	return vi
}

// renumber forgets the numbers of values g no longer holds.
func (g *group) renumber() {
	clear(g.dict)
	for j := range g.ms {
		g.ms[j].vi = g.number(g.ms[j].vh)
	}
	g.tailOK = false
}

// advance makes t the group's newest time if it is, and forgets the
// matches no match within the lateness of it can share a window with.
func (c *Correlator) advance(g *group, t int64) {
	if t <= g.newest {
		return
	}
	g.newest = t
	if i := firstAt(g.ms, t-c.lateness-c.span); i > 0 {
		c.dropFront(g, i)
	}
}

// dropFront forgets g's n oldest matches.
func (c *Correlator) dropFront(g *group, n int) {
	if g.tailOK {
		for j := g.tailAt; j < n; j++ {
			g.tail.remove(c.key(&g.ms[j]))
		}
	}
	clear(g.ms[:n])
	g.ms = g.ms[n:]
	g.tailAt = max(g.tailAt-n, 0)
	g.namedFrom = max(g.namedFrom-n, 0)
	c.events -= n
}

// slideTail evaluates the windows of a match newer than all the group's
// others. Those windows hold only matches from the timespan before it,
// and the largest, tail, holds all the others: when it holds, every match
// in it is named; when not, none of them holds.
func (c *Correlator) slideTail(key string, g *group, out []Firing) []Firing {
	n := len(g.ms)
	last := &g.ms[n-1]
	if !g.tailOK {
		g.tail.reset()
		g.tailAt = firstAt(g.ms, last.t-c.span)
		for j := g.tailAt; j < n; j++ {
			g.tail.add(c.key(&g.ms[j]))
		}
		g.tailOK = true
	} else {
		g.tail.add(c.key(last))
		for g.ms[g.tailAt].t < last.t-c.span {
			g.tail.remove(c.key(&g.ms[g.tailAt]))
			g.tailAt++
		}
	}
	met := c.metric(&g.tail)
	if !c.holds(met) {
		g.namedFrom = n // the newest is not named
		return out
	}
	// Every match before the newest from namedFrom on is named already.
	var named []*member
	for j := g.tailAt; j < n; j++ {
		if j >= g.namedFrom {
			j = n - 1
		}
		if !g.ms[j].named {
			g.ms[j].named = true
			named = append(named, &g.ms[j])
		}
	}
	g.namedFrom = min(g.namedFrom, g.tailAt)
	if len(named) == 0 {
		return out
	}
	return append(out, c.firing(key, g, met, named))
}

// slideAll evaluates the windows starting at the matches g.ms[lo:hi]
// (lo the first of its time), all holding one match, and names the
// matches of those that hold.
func (c *Correlator) slideAll(key string, g *group, lo, hi int, out []Firing) []Firing {
	ms := g.ms
	var from, to int
	var best int64
	if c.corr.Type == "temporal_ordered" {
		from, to, best = c.slideOrdered(ms, lo, hi)
	} else {
		from, to, best = c.slideCount(ms, lo, hi)
	}
	var named []*member
	for j := from; j < to; j++ {
		if !ms[j].named {
			ms[j].named = true
			named = append(named, &ms[j])
		}
	}
	if len(named) == 0 {
		return out
	}
	return append(out, c.firing(key, g, best, named))
}

// slideCount evaluates the windows starting at ms[lo:hi] for
// event_count, value_count and temporal, and returns the span of ms
// they cover where they hold (they all share a match, so it is one) and
// the largest count.
func (c *Correlator) slideCount(ms []member, lo, hi int) (from, to int, best int64) {
	tl := &c.scratch
	tl.reset()
	e := lo
	for j := lo; j < hi; {
		tj := ms[j].t
		for e < len(ms) && ms[e].t <= tj+c.span {
			tl.add(c.key(&ms[e]))
			e++
		}
		if n := c.metric(tl); c.holds(n) {
			if to == 0 {
				from = j
			}
			to, best = e, max(best, n)
		}
		for j < hi && ms[j].t == tj {
			tl.remove(c.key(&ms[j]))
			j++
		}
	}
	return from, to, best
}

// slideOrdered evaluates the windows starting at the first rule's matches
// of ms[lo:hi] for temporal_ordered: how many of the rules match in order
// within each, equal times in order. Each rule's next match only moves
// forward from one window to the next, so all cost O(len(ms) × rules).
func (c *Correlator) slideOrdered(ms []member, lo, hi int) (from, to int, best int64) {
	nr := len(c.corr.Rules)
	next := make([]int, nr)
	e := lo
	for j := lo; j < hi; {
		tj := ms[j].t
		k, anchor := j, false
		for ; k < hi && ms[k].t == tj; k++ {
			anchor = anchor || ms[k].rule == 0
		}
		if anchor {
			end := tj + c.span
			for e < len(ms) && ms[e].t <= end {
				e++
			}
			steps, at := int64(1), tj
			for r := 1; r < nr; r++ {
				p := max(next[r], lo)
				for p < len(ms) && (ms[p].t < at || ms[p].rule != int32(r)) {
					p++
				}
				next[r] = p
				if p == len(ms) || ms[p].t > end {
					break
				}
				at = ms[p].t
				steps++
			}
			if c.holds(steps) {
				if to == 0 {
					from = j
				}
				to, best = e, max(best, steps)
			}
		}
		j = k
	}
	return from, to, best
}

// addFixed adds m to its fixed window in g.
func (c *Correlator) addFixed(g *group, m member, out []Firing) []Firing {
	g.newest = max(g.newest, m.t)
	if g.buckets == nil {
		g.buckets = map[int64]*fixedWindow{}
	}
	s := windowStart(m.t, c.span)
	b := g.buckets[s]
	if b == nil {
		b = &fixedWindow{}
		g.buckets[s] = b
	}
	if b.dead {
		return out
	}
	i, found := slices.BinarySearchFunc(b.ms, &m, func(a member, b *member) int { return cmpMember(&a, b) })
	if found {
		return out
	}
	if len(b.ms) >= c.groupCap {
		c.kill(g, b) // outgrew its bound: it is not decided
		return out
	}
	var ok bool
	if out, ok = c.room(out, g); !ok {
		return out
	}
	b.ms = slices.Insert(b.ms, i, m)
	c.events++
	g.nFixed++
	// A count past the condition's value can only grow: it never holds.
	if n := int64(len(b.ms)); c.corr.Type == "event_count" && !c.holds(n) && n >= c.corr.Condition.Value {
		c.kill(g, b)
	}
	return out
}

// kill forgets b's matches; it never fires.
func (c *Correlator) kill(g *group, b *fixedWindow) {
	c.events -= len(b.ms)
	g.nFixed -= len(b.ms)
	b.ms, b.dead = nil, true
}

// decide decides g's fixed windows that end by closed: each that holds
// names all its matches.
func (c *Correlator) decide(key string, g *group, closed int64, out []Firing) []Firing {
	for s, b := range g.buckets {
		if s+c.span > closed {
			continue
		}
		if !b.dead {
			if n := c.fixedMetric(b.ms); c.holds(n) {
				named := make([]*member, len(b.ms))
				for i := range b.ms {
					named[i] = &b.ms[i]
				}
				out = append(out, c.firing(key, g, n, named))
			}
			c.kill(g, b)
		}
		delete(g.buckets, s)
	}
	return out
}

// fixedMetric is what the condition is decided on for one fixed window's
// matches.
func (c *Correlator) fixedMetric(ms []member) int64 {
	switch c.corr.Type {
	case "event_count":
		return int64(len(ms))
	case "value_count", "temporal":
		seen := map[uint64]struct{}{}
		for i := range ms {
			k := uint64(ms[i].rule)
			if c.corr.Type == "value_count" {
				k = ms[i].vh
			}
			seen[k] = struct{}{}
		}
		return int64(len(seen))
	}
	// how many of the rules match in order, equal times in order
	next := int32(0)
	for j := 0; j < len(ms) && int(next) < len(c.corr.Rules); {
		k := j
		for k < len(ms) && ms[k].t == ms[j].t {
			k++
		}
		for found := true; found; {
			found = false
			for q := j; q < k; q++ {
				if ms[q].rule == next {
					next++
					found = true
					break
				}
			}
		}
		j = k
	}
	return int64(next)
}
