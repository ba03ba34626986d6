package detect

import (
	"sync"
	"time"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/rules"
)

// maxSeqGroups bounds the groups a sequence rule remembers: beyond it,
// expired groups are dropped, and a new group is not remembered while
// none has expired (a flood of sources cannot grow memory without end).
const maxSeqGroups = 100_000

// sequence holds, for a rule with After, the times of the recent events
// its After counts, per organization and group. It lives as long as its
// Set: a reload forgets what came before.
type sequence struct {
	rule   *rules.Compiled
	window int64 // ms
	mu     sync.Mutex
	groups map[string][]int64 // org \x00 group → event times (ms)
}

func newSequence(c *rules.Compiled) *sequence {
	w := c.Rule.Window
	if w <= 0 {
		w = time.Hour
	}
	return &sequence{rule: c, window: w.Milliseconds(), groups: map[string][]int64{}}
}

// observe feeds e (matched or not by the rule, as Match said) and reports
// whether a match counts: whether enough After events of its group came
// within the window before it.
func (s *sequence) observe(org string, e *event.Event, matched bool) bool {
	isAfter := !matched && s.rule.MatchAfter(e)
	if !matched && !isAfter {
		return false
	}
	t := e.Int[event.EventTime]
	key := org + "\x00" + s.rule.GroupKey(e)
	s.mu.Lock()
	defer s.mu.Unlock()
	times := s.groups[key]
	// keep what is within the window of t (times arrive roughly in order)
	kept := times[:0]
	for _, x := range times {
		if x >= t-s.window {
			kept = append(kept, x)
		}
	}
	if isAfter {
		if len(kept) == 0 && len(s.groups) >= maxSeqGroups && !s.expire(t) {
			return false
		}
		s.groups[key] = append(kept, t)
		return false
	}
	s.groups[key] = kept
	n := 0
	for _, x := range kept {
		if x <= t {
			n++
		}
	}
	return n >= s.rule.Rule.After.Threshold
}

// expire drops the groups whose every time is older than the window of
// now; it reports whether any was dropped.
func (s *sequence) expire(now int64) bool {
	dropped := false
	for k, times := range s.groups {
		if len(times) == 0 || times[len(times)-1] < now-s.window {
			delete(s.groups, k)
			dropped = true
		}
	}
	return dropped
}
