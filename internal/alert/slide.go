package alert

import (
	"cmp"
	"slices"
)

// MaxSlidingThreshold bounds the thresholds counted over sliding spans.
// An alert of a higher threshold opens when its own fixed window holds
// that many events: a span needs up to 2×threshold event times of a
// window, too many to keep per window above this.
const MaxSlidingThreshold = 10_000

// An alert of a threshold from 2 to MaxSlidingThreshold opens when some
// hit h of its window has threshold distinct events of its rule and group
// in [h − window, h], both ends included: "10 within 10 minutes" is any
// 10-minute span, so a burst split by a window boundary still opens the
// alert of its later window. The events of the window before within the
// span of the earliest such hit (its latest threshold of them) join the
// alert too, in its count, first time and sample ids, so it names the
// whole burst; they stay in their own window's alert as well.
//
// A span ending in window k holds a suffix of window k−1 and a prefix of
// window k, so each window keeps the times of its earliest and latest
// threshold events only (marks): a suffix or prefix holding more than
// threshold events holds threshold kept ones, enough to decide, and the
// earliest qualifying hit is among the earliest threshold of its window.
// What is kept, and so what opens and joins, depends on the set of hits
// only, never on their order: an event dropped from the middle could not
// come back to the earliest or latest threshold.

func sliding(threshold int64) bool { return threshold >= 2 && threshold <= MaxSlidingThreshold }

// mark is the time and id of one event of a window.
type mark struct {
	T  int64  `json:"t"`
	ID string `json:"id"`
	h  uint64
}

func compareMarks(a, b mark) int { return cmp.Or(cmp.Compare(a.T, b.T), cmp.Compare(a.h, b.h)) }

// keep adds an event's mark to the window's and says whether it is now
// among its earliest or its latest threshold ones (a mark in the middle is
// dropped, and changes no span's count).
func (st *state) keep(m mark) (early, late bool) {
	i, _ := slices.BinarySearchFunc(st.marks, m, compareMarks)
	st.marks = slices.Insert(st.marks, i, m)
	n, t := len(st.marks), int(st.threshold)
	if n > 2*t {
		st.marks = slices.Delete(st.marks, t, n-t)
	}
	return i < t, i >= n-t
}

// atOrAfter is the index of the first mark at or after time t.
func atOrAfter(ms []mark, t int64) int {
	i, _ := slices.BinarySearchFunc(ms, t, func(m mark, t int64) int { return cmp.Compare(m.T, t) })
	return i
}

// slide evaluates the spans ending at st's hits (its window starting at
// start) against prev, the alert of the window before (nil when none):
// it opens st when one holds the threshold, names the events of prev it
// reaches, and says whether st changed.
func (st *state) slide(prev *state) bool {
	w, t := st.window.Milliseconds(), int(st.threshold)
	var before []mark // prev's kept events, each counted once per alert
	if prev != nil && prev.threshold > 0 && prev.window == st.window {
		before = make([]mark, 0, len(prev.marks))
		for _, m := range prev.marks {
			if _, own := st.ids[m.h]; !own {
				before = append(before, m)
			}
		}
	}
	reach := -1 // the index in before of the earliest event the earliest qualifying span holds
	for i := max(0, t-1-len(before)); i < min(len(st.marks), t); i++ {
		end := st.marks[i].T
		own := atOrAfter(st.marks, end+1) // own events at or before end (capped at t when some were dropped)
		from := atOrAfter(before, end-w)
		if own+len(before)-from >= t {
			reach = from
			break
		}
	}
	if reach < 0 {
		return false
	}
	pulled := before[max(reach, len(before)-t):]
	changed := st.Status == StatusPending
	if changed {
		st.Status = StatusOpen
	}
	if slices.EqualFunc(pulled, st.pulled, func(a, b mark) bool { return a.h == b.h }) {
		return changed
	}
	st.pulled = slices.Clone(pulled)
	st.settle()
	return true
}

// settle derives a sliding alert's count, first time and sample ids from
// its own window's events and those it pulled in from the window before.
func (st *state) settle() {
	st.Count = st.own + int64(len(st.pulled))
	st.FirstTime = st.ownFirst
	if len(st.pulled) > 0 {
		st.FirstTime = min(st.FirstTime, st.pulled[0].T)
	}
	ids := slices.Clip(st.ownIDs)
	for _, m := range st.pulled {
		if len(ids) >= MaxSampleIDs {
			break
		}
		ids = append(ids, m.ID)
	}
	st.EventIDs = ids
}

// restore derives the own part of a sliding alert read from the journal:
// what is not pulled in from the window before.
func (st *state) restore(l line) {
	st.threshold = l.Threshold
	st.pulled = l.Pulled
	pulled := make(map[uint64]struct{}, len(st.pulled))
	for i := range st.pulled {
		st.pulled[i].h = idHash(st.pulled[i].ID)
		pulled[st.pulled[i].h] = struct{}{}
	}
	st.own = st.Count - int64(len(st.pulled))
	st.ownFirst = st.FirstTime
	if l.OwnFirst != nil {
		st.ownFirst = *l.OwnFirst
	}
	st.ownIDs = st.ownIDs[:0]
	for _, id := range st.EventIDs {
		if _, ok := pulled[idHash(id)]; !ok {
			st.ownIDs = append(st.ownIDs, id)
		}
	}
	for _, m := range l.Kept {
		st.keep(mark{T: m.T, ID: m.ID, h: idHash(m.ID)})
	}
	if len(l.NewMillis) == len(l.NewIDs) {
		for i, id := range l.NewIDs {
			st.keep(mark{T: l.NewMillis[i], ID: id, h: idHash(id)})
		}
	}
}
