package alert

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

func key(rule, group string) string { return rule + "\x00" + group }

// winKey names the alert of one rule, group and window.
type winKey struct {
	rule, group string
	start       int64 // epoch ms
}

// windowMillis is the length of a hit's window: an hour when it names none.
func windowMillis(w time.Duration) int64 {
	if ms := w.Milliseconds(); ms > 0 {
		return ms
	}
	return time.Hour.Milliseconds()
}

// windowStart is the start of the window of length w (ms) that holds t.
// Windows are fixed, aligned on multiples of their length since the Unix
// epoch (an hour's on the UTC hour), as the rules backtest counts them:
// which alert a hit joins depends on its own time, never on the hits
// observed before it.
func windowStart(t, w int64) int64 {
	s := t - t%w
	if t%w < 0 {
		s -= w
	}
	return s
}

// Observe adds hits to org's alerts and makes the changes durable before
// it returns. Each event counts once per alert however often it is
// observed (a batch sent again after a crash, say). It returns the alerts
// that opened.
//
// Whatever order the hits come in, the same hits make the same alerts: an
// alert gathers its rule's hits of one group and one fixed window, is
// named by them (idOf), and names the host and agent of its earliest
// event.
func (s *Store) Observe(org string, hits []Hit) ([]Alert, error) {
	if len(hits) == 0 {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.org(org)
	if err != nil {
		return nil, err
	}
	now := s.now().UnixMilli()
	changed := map[string][]string{}
	millis := map[string][]int64{} // the event times of changed, for sliding alerts
	was := map[string]string{}     // status before this batch
	var order []string
	touch := func(st *state) {
		if _, ok := was[st.ID]; !ok {
			was[st.ID] = st.Status
			if st.Version == 0 {
				was[st.ID] = ""
			}
		}
		if _, ok := changed[st.ID]; !ok {
			changed[st.ID] = nil
			order = append(order, st.ID)
		}
	}
	// The sliding alerts whose spans may hold more now: those whose
	// window's earliest marks, or the window before's latest, changed.
	var dirty []winKey
	seen := map[winKey]bool{}
	recheck := func(k winKey) {
		if !seen[k] {
			seen[k] = true
			dirty = append(dirty, k)
		}
	}
	for _, h := range hits {
		w := windowMillis(h.Window)
		start := windowStart(h.EventTime, w)
		st := o.find(h, start)
		if st == nil {
			id := idOf(org, h.Rule, h.GroupKey, start)
			if st = o.alerts[id]; st == nil {
				st = &state{Alert: Alert{ID: id, Org: org, Rule: h.Rule, Kind: h.Kind, Title: h.Title, Severity: h.Severity,
					Technique: h.Technique, Hostname: h.Hostname, AgentID: h.AgentID, GroupKey: h.GroupKey,
					FirstTime: h.EventTime, LastTime: h.EventTime, Status: StatusPending, CreatedAt: now},
					ids: map[uint64]struct{}{}, window: time.Duration(w) * time.Millisecond, hostAt: h.EventTime, hostEvent: h.EventID,
					ownFirst: h.EventTime}
				if sliding(h.Threshold) {
					st.threshold = h.Threshold
				}
				o.alerts[id] = st
			}
			o.windows[winKey{h.Rule, h.GroupKey, start}] = st
		}
		hid := idHash(h.EventID)
		if _, seen := st.ids[hid]; seen {
			continue
		}
		touch(st)
		st.ids[hid] = struct{}{}
		st.LastTime = max(st.LastTime, h.EventTime)
		if st.threshold > 0 {
			if sliding(h.Threshold) {
				st.threshold = h.Threshold // the rule's now
			}
			st.own++
			st.ownFirst = min(st.ownFirst, h.EventTime)
			if len(st.ownIDs) < MaxSampleIDs {
				st.ownIDs = append(st.ownIDs, h.EventID)
			}
			st.settle()
			early, late := st.keep(mark{T: h.EventTime, ID: h.EventID, h: hid})
			if k := (winKey{h.Rule, h.GroupKey, start}); early && o.windows[k] == st {
				recheck(k)
			}
			if late {
				recheck(winKey{h.Rule, h.GroupKey, start + w})
			}
			millis[st.ID] = append(millis[st.ID], h.EventTime)
		} else {
			st.Count++
			st.FirstTime = min(st.FirstTime, h.EventTime)
			if len(st.EventIDs) < MaxSampleIDs {
				st.EventIDs = append(st.EventIDs, h.EventID)
			}
		}
		if st.representedBy(h) {
			st.Hostname, st.AgentID, st.hostAt, st.hostEvent = h.Hostname, h.AgentID, h.EventTime, h.EventID
		}
		threshold := max(h.Threshold, 1)
		if st.Status == StatusPending && st.Count >= threshold {
			st.Status = StatusOpen
		}
		changed[st.ID] = append(changed[st.ID], h.EventID)
	}
	for _, k := range dirty {
		st := o.windows[k]
		if st == nil || st.threshold == 0 {
			continue
		}
		status := st.Status
		prev := o.windows[winKey{k.rule, k.group, k.start - st.window.Milliseconds()}]
		if st.slide(prev) {
			if _, ok := was[st.ID]; !ok {
				was[st.ID] = status
			}
			touch(st)
		}
	}
	if len(order) == 0 {
		return nil, nil
	}
	var buf bytes.Buffer
	var opened []Alert
	for _, id := range order {
		st := o.alerts[id]
		wasOpen := was[id] == StatusOpen || was[id] == StatusDismissed
		st.Version++
		st.UpdatedAt = now
		l := st.line(changed[id])
		if st.threshold > 0 && len(millis[id]) == len(l.NewIDs) {
			l.NewMillis = millis[id]
		}
		b, err := json.Marshal(l)
		if err != nil {
			return nil, err
		}
		buf.Write(append(b, '\n'))
		if st.Status == StatusOpen && !wasOpen && !st.Notified {
			opened = append(opened, st.Alert)
		}
	}
	if err := o.write(buf.Bytes()); err != nil {
		return nil, err
	}
	seq := o.written
	s.mu.Unlock()
	err = s.syncTo(o, seq)
	s.mu.Lock() // the deferred Unlock
	if err != nil {
		return nil, err
	}
	return opened, nil
}

// representedBy says whether h, rather than the event that names the
// alert's host now, is its earliest event: the earliest by event time
// among those that name a host (any, when none does), the smaller event id
// on a tie. The alert's host and agent are that one event's, so they do
// not depend on the order the hits come in.
func (st *state) representedBy(h Hit) bool {
	if (h.Hostname == "") != (st.Hostname == "") {
		return h.Hostname != ""
	}
	if h.EventTime != st.hostAt {
		return h.EventTime < st.hostAt
	}
	return h.EventID < st.hostEvent
}

// find returns the alert a hit belongs to: the one of its rule, group and
// window (starting at start), or, for an alert made before windows were
// fixed (its id named by its first hit), the one whose span the hit fits
// as it did then, so that events it counted already still count there.
func (o *orgAlerts) find(h Hit, start int64) *state {
	if len(o.legacy) == 0 { // the common case: a journal of fixed windows only
		return o.windows[winKey{h.Rule, h.GroupKey, start}]
	}
	for _, st := range o.legacy[key(h.Rule, h.GroupKey)] {
		w := st.window
		if w <= 0 {
			w = time.Duration(windowMillis(h.Window)) * time.Millisecond
		}
		if h.EventTime >= st.LastTime-w.Milliseconds() && h.EventTime < st.FirstTime+w.Milliseconds() {
			return st
		}
	}
	return o.windows[winKey{h.Rule, h.GroupKey, start}]
}

// index files the alerts read from the journal: each under its window,
// or, when its id is not its window's (an alert made before windows were
// fixed), among the legacy alerts of its rule and group, oldest first.
func (o *orgAlerts) index(org string) {
	for _, st := range o.alerts {
		if w := st.window.Milliseconds(); w > 0 {
			start := windowStart(st.first(), w)
			if st.ID == idOf(org, st.Rule, st.GroupKey, start) {
				o.windows[winKey{st.Rule, st.GroupKey, start}] = st
				continue
			}
		}
		k := key(st.Rule, st.GroupKey)
		o.legacy[k] = append(o.legacy[k], st)
	}
	for _, list := range o.legacy {
		slices.SortFunc(list, func(a, b *state) int {
			return cmp.Or(cmp.Compare(a.FirstTime, b.FirstTime), strings.Compare(a.ID, b.ID))
		})
	}
}
