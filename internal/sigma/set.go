package sigma

import (
	"slices"

	"github.com/spoor-dev/spoor/internal/event"
)

// Set is a collection of compiled rules indexed by what their logsource
// requires (event_type, then win_event_id), so that an event meets only the
// rules that can match it. A Set is read-only once built: several
// goroutines may call Match at once, each with its own Doc.
type Set struct {
	rules  []*Compiled
	byType map[string]*bucket
	any    bucket // variants that accept any event_type
}

type bucket struct {
	byID  map[int64][]*variant
	anyID []*variant
}

func (b *bucket) add(v *variant) {
	if len(v.ids) == 0 {
		b.anyID = append(b.anyID, v)
		return
	}
	if b.byID == nil {
		b.byID = map[int64][]*variant{}
	}
	for _, id := range dedupe(v.ids) {
		b.byID[id] = append(b.byID[id], v)
	}
}

func dedupe(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// NewSet indexes rules.
func NewSet(rules []*Compiled) *Set {
	s := &Set{rules: rules, byType: map[string]*bucket{}}
	for _, c := range rules {
		for _, v := range c.variants {
			if len(v.eventTypes) == 0 {
				s.any.add(v)
				continue
			}
			for _, et := range v.eventTypes {
				b := s.byType[et]
				if b == nil {
					b = &bucket{}
					s.byType[et] = b
				}
				b.add(v)
			}
		}
	}
	return s
}

// Rules returns the rules in the set.
func (s *Set) Rules() []*Compiled { return s.rules }

// Match calls fn, in no particular order, for each rule that matches the
// event in d (once per rule).
func (s *Set) Match(d *Doc, fn func(*Compiled)) {
	e := d.e
	if b := s.byType[e.Str[event.EventType]]; b != nil {
		s.matchBucket(b, d, fn)
	}
	s.matchBucket(&s.any, d, fn)
}

func (s *Set) matchBucket(b *bucket, d *Doc, fn func(*Compiled)) {
	e := d.e
	if b.byID != nil && e.Has(event.WinEventID) {
		s.run(b.byID[e.Int[event.WinEventID]], d, fn)
	}
	s.run(b.anyID, d, fn)
}

func (s *Set) run(vs []*variant, d *Doc, fn func(*Compiled)) {
	for _, v := range vs {
		if !v.acceptsRest(d) || !v.root.eval(d) {
			continue
		}
		c := v.c
		if len(c.variants) > 1 {
			if slices.Contains(d.fired, c) {
				continue
			}
			d.fired = append(d.fired, c)
		}
		fn(c)
	}
}
