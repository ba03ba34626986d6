package alert

import (
	"encoding/json"
	"errors"
)

// ErrNotFound says no alert of the organization has the id.
var ErrNotFound = errors.New("no such alert")

// ErrDismissed is a dismissal of an alert dismissed already: the first
// dismissal (who, why) is kept.
var ErrDismissed = errors.New("alert dismissed already")

// Get returns one alert of org.
func (s *Store) Get(org, id string) (Alert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.org(org)
	if err != nil {
		return Alert{}, err
	}
	st, ok := o.alerts[id]
	if !ok {
		return Alert{}, ErrNotFound
	}
	return st.Alert, nil
}

// List returns org's alerts, newest last event first.
func (s *Store) List(org string) ([]Alert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.org(org)
	if err != nil {
		return nil, err
	}
	out := make([]Alert, 0, len(o.alerts))
	for _, st := range o.sorted() {
		out = append(out, st.Alert)
	}
	return out, nil
}

// Dismiss marks an alert dismissed; it stays stored and listed.
//
// An alert dismissed already is returned as it is, with ErrDismissed.
func (s *Store) Dismiss(org, id, by, reason string) (Alert, error) {
	return s.update(org, id, func(a *Alert) error {
		if a.Status == StatusDismissed {
			return ErrDismissed
		}
		a.Status, a.DismissedBy, a.Reason = StatusDismissed, by, reason
		return nil
	})
}

// MarkNotified records that the webhook has an alert.
func (s *Store) MarkNotified(org, id string) error {
	_, err := s.update(org, id, func(a *Alert) error { a.Notified = true; return nil })
	return err
}

// update changes one alert under the store's lock. f refuses a change by
// returning an error before it changes anything: the alert is returned as
// it is, with that error, and nothing is written.
func (s *Store) update(org, id string, f func(*Alert) error) (Alert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.org(org)
	if err != nil {
		return Alert{}, err
	}
	st, ok := o.alerts[id]
	if !ok {
		return Alert{}, ErrNotFound
	}
	if err := f(&st.Alert); err != nil {
		return st.Alert, err
	}
	st.Version++
	st.UpdatedAt = s.now().UnixMilli()
	b, _ := json.Marshal(st.line(nil))
	if err := o.write(append(b, '\n')); err != nil {
		return Alert{}, err
	}
	a, seq := st.Alert, o.written
	s.mu.Unlock()
	err = s.syncTo(o, seq)
	s.mu.Lock() // the deferred Unlock
	return a, err
}

// Unnotified returns every open alert the webhook does not have yet (to
// send again after a restart), reading every organization's journal; the
// error names those that could not be read.
func (s *Store) Unnotified() ([]Alert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.loadAll()
	var out []Alert
	for _, o := range s.orgs {
		for _, st := range o.alerts {
			if st.Status == StatusOpen && !st.Notified {
				out = append(out, st.Alert)
			}
		}
	}
	return out, err
}
