package detect

import (
	"cmp"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spoor-dev/spoor/internal/alert"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/rules"
)

// What a sequence rule remembers is bounded. Where a bound is reached,
// the groups more than two windows behind the newest event the rule has
// seen are forgotten (at most once per eighth of a window of event time);
// when that frees nothing, what does not fit is not remembered: a new
// group, an After event that would count later, a match that would wait.
const (
	maxSeqGroups = 100_000 // groups of a rule
	// maxSeqAfter is how many After events a rule remembers, all groups;
	// a group keeps at most maxSeqGroupAfter (or its After.Threshold when
	// higher), its oldest forgotten first.
	maxSeqAfter      = 1_000_000
	maxSeqGroupAfter = 10_000
	// maxSeqWaiting is how many matches short of the threshold a rule
	// remembers, all groups; a group keeps at most maxSeqGroupWaiting,
	// its oldest forgotten first.
	maxSeqWaiting      = 100_000
	maxSeqGroupWaiting = 1_000
	// seqLateness is how far behind the newest event of its group (the
	// window, when longer) an event may reach detection and still count
	// exactly as it would have in event-time order: the chunks of files
	// ingested at once, rotated logs named newest first.
	seqLateness = 24 * time.Hour
)

// sequence evaluates a rule with After as its backtest does: a match
// counts when at least After.Threshold events matching After, of its
// organization and group, fall within the window before it (both ends
// included, itself too when it matches After), each event once. The
// order events arrive in does not matter: a match short of the threshold
// waits, and the After events that arrive later complete it. It lives as
// long as its Set: a reload forgets what came before.
type sequence struct {
	rule      *rules.Compiled
	window    int64 // ms
	lateness  int64 // ms
	groupCap  int   // After events a group keeps
	threshold int
	seed      maphash.Seed

	mu      sync.Mutex
	groups  map[string]*seqGroup // org \x00 group
	after   int                  // After events held, all groups
	waiting int                  // matches waiting, all groups
	newest  int64                // the newest event time seen, all groups
	swept   int64                // newest when groups were last swept
}

// seqGroup is what one organization's group holds.
type seqGroup struct {
	key     string // the alert group
	newest  int64  // its newest event time seen: what it keeps is relative to it
	after   []seqAfter
	waiting []seqMatch
}

// seqAfter is an After event: its time and a hash of its id, sorted by
// both, so an event sent twice counts once.
type seqAfter struct{ t, id int64 }

func cmpAfter(a, b seqAfter) int {
	if c := cmp.Compare(a.t, b.t); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// firstAt is the index of the first After event at t or later.
func firstAt(after []seqAfter, t int64) int {
	i, _ := slices.BinarySearchFunc(after, t, func(a seqAfter, t int64) int { return cmp.Compare(a.t, t) })
	return i
}

// seqMatch is a match short of the threshold: what its hit needs.
type seqMatch struct {
	t               int64
	id, host, agent string
}

func newSequence(c *rules.Compiled) *sequence {
	w := c.Rule.Window
	if w <= 0 {
		w = time.Hour
	}
	return &sequence{rule: c, window: w.Milliseconds(), lateness: max(w, seqLateness).Milliseconds(),
		groupCap: max(maxSeqGroupAfter, c.Rule.After.Threshold), threshold: c.Rule.After.Threshold,
		seed: maphash.MakeSeed(), groups: map[string]*seqGroup{}, swept: -1 << 62}
}

// observe feeds e (matched says whether it is one of the rule's matches,
// not suppressed; base is its hit) and appends the hits that count now:
// e's own when enough After events came before it, and those of waiting
// matches that e, an After event, completes.
func (s *sequence) observe(org string, e *event.Event, matched bool, base alert.Hit, out []alert.Hit) []alert.Hit {
	isAfter := s.rule.MatchAfter(e)
	if !matched && !isAfter {
		return out
	}
	t := e.Int[event.EventTime]
	group := s.rule.GroupKey(e)
	key := org + "\x00" + group
	s.mu.Lock()
	defer s.mu.Unlock()
	s.newest = max(s.newest, t)
	g := s.groups[key]
	if g == nil {
		if len(s.groups) >= maxSeqGroups && !s.sweep(nil) {
			// Not remembered: the match counts only what it is itself.
			if matched && isAfter && s.threshold <= 1 {
				out = append(out, nativeHit(s.rule, base, group))
			}
			return out
		}
		g = &seqGroup{key: strings.Clone(group), newest: t}
		s.groups[key] = g
	}
	s.advance(g, t)
	if isAfter && s.addAfter(g, seqAfter{t, int64(maphash.String(s.seed, e.Str[event.ID]))}) {
		out = s.complete(g, t, out)
	}
	if matched {
		if s.count(g, t) >= s.threshold {
			out = append(out, nativeHit(s.rule, base, g.key))
		} else {
			s.wait(g, seqMatch{t: t, id: strings.Clone(base.EventID), host: strings.Clone(base.Hostname), agent: strings.Clone(base.AgentID)})
		}
	}
	if len(g.after) == 0 && len(g.waiting) == 0 {
		delete(s.groups, key)
	}
	return out
}

// advance makes t the group's newest time if it is, and forgets what no
// event within the lateness of it can need: After events older than the
// lateness and a window, matches older than the lateness.
func (s *sequence) advance(g *seqGroup, t int64) {
	if t <= g.newest {
		return
	}
	g.newest = t
	i := firstAt(g.after, g.newest-s.lateness-s.window)
	g.after = slices.Delete(g.after, 0, i)
	s.after -= i
	j := 0
	for j < len(g.waiting) && g.waiting[j].t < g.newest-s.lateness {
		j++
	}
	g.waiting = slices.Delete(g.waiting, 0, j)
	s.waiting -= j
}

// addAfter remembers an After event; it reports whether it is new and
// kept.
func (s *sequence) addAfter(g *seqGroup, a seqAfter) bool {
	if a.t < g.newest-s.lateness-s.window {
		return false // no match it could count for is remembered or will be
	}
	i, found := slices.BinarySearchFunc(g.after, a, cmpAfter)
	if found {
		return false
	}
	switch {
	case len(g.after) >= s.groupCap:
		if i == 0 {
			return false // older than all the group keeps
		}
		g.after = slices.Delete(g.after, 0, 1)
		i--
	case s.after >= maxSeqAfter && !s.sweep(g):
		return false
	default:
		s.after++
	}
	g.after = slices.Insert(g.after, i, a)
	return true
}

// count is how many After events of g fall within the window before t.
func (s *sequence) count(g *seqGroup, t int64) int {
	return firstAt(g.after, t+1) - firstAt(g.after, t-s.window)
}

// complete appends the hits of the waiting matches that an After event
// at t brings to the threshold, and forgets them.
func (s *sequence) complete(g *seqGroup, t int64, out []alert.Hit) []alert.Hit {
	kept := g.waiting[:0]
	for _, m := range g.waiting {
		if m.t >= t && m.t <= t+s.window && s.count(g, m.t) >= s.threshold {
			base := alert.Hit{EventID: m.id, EventTime: m.t, Hostname: m.host, AgentID: m.agent}
			out = append(out, nativeHit(s.rule, base, g.key))
			s.waiting--
			continue
		}
		kept = append(kept, m)
	}
	clear(g.waiting[len(kept):])
	g.waiting = kept
	return out
}

// wait remembers a match short of the threshold, in time order, for the
// After events that may come later.
func (s *sequence) wait(g *seqGroup, m seqMatch) {
	if m.t < g.newest-s.lateness {
		return
	}
	for _, w := range g.waiting {
		if w.id == m.id {
			return // sent again
		}
	}
	i, _ := slices.BinarySearchFunc(g.waiting, m.t, func(w seqMatch, t int64) int { return cmp.Compare(w.t, t) })
	switch {
	case len(g.waiting) >= maxSeqGroupWaiting:
		if i == 0 {
			return
		}
		g.waiting = slices.Delete(g.waiting, 0, 1)
		i--
	case s.waiting >= maxSeqWaiting && !s.sweep(g):
		return
	default:
		s.waiting++
	}
	g.waiting = slices.Insert(g.waiting, i, m)
}

// sweep forgets the groups, but keep, more than two windows behind the
// newest event of the rule, at most once per eighth of a window of event
// time; it reports whether it forgot any. Only events that reach
// detection late would have needed them.
func (s *sequence) sweep(keep *seqGroup) bool {
	if s.newest < s.swept+max(s.window/8, 1) {
		return false
	}
	s.swept = s.newest
	dropped := false
	for k, g := range s.groups {
		if g != keep && g.newest < s.newest-2*s.window {
			s.after -= len(g.after)
			s.waiting -= len(g.waiting)
			delete(s.groups, k)
			dropped = true
		}
	}
	return dropped
}
