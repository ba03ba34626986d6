package alert

import (
	"bytes"
	"encoding/json"
)

func key(rule, group string) string { return rule + "\x00" + group }

// Observe adds hits to org's alerts and makes the changes durable before
// it returns. Each event counts once per alert however often it is
// observed (a batch sent again after a crash, say). It returns the alerts
// that opened.
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
	was := map[string]string{} // status before this batch
	var order []string
	for _, h := range hits {
		st := o.find(h)
		if st == nil {
			st = &state{Alert: Alert{ID: idOf(org, h.Rule, h.GroupKey, h.EventTime), Org: org, Rule: h.Rule, Kind: h.Kind,
				Title: h.Title, Severity: h.Severity, Technique: h.Technique, Hostname: h.Hostname, AgentID: h.AgentID, GroupKey: h.GroupKey,
				FirstTime: h.EventTime, LastTime: h.EventTime, Status: StatusPending, CreatedAt: now}, ids: map[uint64]struct{}{}, window: h.Window}
			o.alerts[st.ID] = st
			k := key(h.Rule, h.GroupKey)
			if c := o.current[k]; c == nil || st.FirstTime >= c.FirstTime {
				o.current[k] = st
			}
		}
		hid := idHash(h.EventID)
		if _, seen := st.ids[hid]; seen {
			continue
		}
		if _, ok := was[st.ID]; !ok {
			was[st.ID] = st.Status
			if st.Version == 0 {
				was[st.ID] = ""
			}
		}
		st.ids[hid] = struct{}{}
		st.Count++
		st.FirstTime = min(st.FirstTime, h.EventTime)
		st.LastTime = max(st.LastTime, h.EventTime)
		if len(st.EventIDs) < MaxSampleIDs {
			st.EventIDs = append(st.EventIDs, h.EventID)
		}
		if st.Hostname != h.Hostname && h.Hostname != "" && st.Hostname != "" {
			st.Hostname = "(several)"
		}
		threshold := max(h.Threshold, 1)
		if st.Status == StatusPending && st.Count >= threshold {
			st.Status = StatusOpen
		}
		if _, ok := changed[st.ID]; !ok {
			order = append(order, st.ID)
		}
		changed[st.ID] = append(changed[st.ID], h.EventID)
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
		b, err := json.Marshal(line{Alert: st.Alert, NewIDs: changed[id], Window: st.window.Milliseconds()})
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

// find returns the alert a hit belongs to: one of its rule and group
// whose window can hold the hit's time. Hits come out of order (batches
// are evaluated in parallel), so a hit a little before an alert's first
// event joins it too, as long as the alert then still spans less than
// its window.
func (o *orgAlerts) find(h Hit) *state {
	fits := func(st *state) bool {
		w := st.window
		if w <= 0 {
			w = h.Window
		}
		return h.EventTime >= st.LastTime-w.Milliseconds() && h.EventTime < st.FirstTime+w.Milliseconds()
	}
	c := o.current[key(h.Rule, h.GroupKey)]
	if c == nil {
		return nil
	}
	if fits(c) {
		return c
	}
	if h.EventTime < c.FirstTime {
		// Older than the current window: an earlier alert of the key may
		// hold it.
		for _, st := range o.alerts {
			if st != c && st.Rule == h.Rule && st.GroupKey == h.GroupKey && fits(st) {
				return st
			}
		}
	}
	return nil
}
