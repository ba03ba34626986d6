package alert

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/spoor-dev/spoor/internal/atomicfile"
	"github.com/spoor-dev/spoor/internal/lake"
)

// File layout: one journal of alert versions per organization.
const (
	dirName     = "alerts"
	orgPrefix   = "organization_id="
	journalName = "alerts.ndjson"
)

// Store holds the alerts of every organization, durably.
type Store struct {
	root string // DATA/lake/alerts
	now  func() time.Time
	// DeferSync leaves journal writes to the page cache until Sync or
	// Close: for bulk loads that are made durable at their end as a whole.
	DeferSync bool

	mu   sync.Mutex
	orgs map[string]*orgAlerts
}

type orgAlerts struct {
	f     *os.File
	lines int
	// written counts journal writes; synced is the count an fsync has
	// covered. Observers wait for their write's fsync outside the store's
	// lock, so concurrent batches share one (group commit).
	written, synced int64
	syncMu          sync.Mutex
	alerts          map[string]*state
	// current is the newest alert of each rule and group key.
	current map[string]*state
}

type state struct {
	Alert
	ids map[uint64]struct{}
	// window is the rule's window when the alert was made.
	window time.Duration
}

// line is one journal record: an alert's state after a change and the
// event ids added by it.
type line struct {
	Alert  Alert    `json:"alert"`
	NewIDs []string `json:"new_ids,omitempty"`
	Window int64    `json:"window_ms,omitempty"`
}

// Open opens (creating) the alerts dataset under a lake directory. An
// organization's journal is read when the store first needs it (Load, and
// every call naming the organization): a command that reads no alerts pays
// nothing for a large journal. Reading it drops alerts past the retention
// and rewrites a journal that holds many superseded versions.
func Open(lakeDir string, now func() time.Time) (*Store, error) {
	if now == nil {
		now = time.Now
	}
	s := &Store{root: filepath.Join(lakeDir, dirName), now: now, orgs: map[string]*orgAlerts{}}
	if err := os.MkdirAll(s.root, 0o755); err != nil {
		return nil, err
	}
	return s, nil
}

// Load reads org's journal now, if it has not been read: what the store
// keeps (retention applied, a torn last line cut) is then what the journal
// file holds for its other readers, the alerts SQL view among them.
func (s *Store) Load(org string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.org(org)
	return err
}

// loadAll reads the journal of every organization (under the store's
// lock); one that fails is named in the error, and the others are read.
func (s *Store) loadAll() error {
	ents, err := os.ReadDir(s.root)
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range ents {
		if !d.IsDir() || !strings.HasPrefix(d.Name(), orgPrefix) {
			continue
		}
		if _, err := s.org(lake.UnescapePathValue(strings.TrimPrefix(d.Name(), orgPrefix))); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Journals returns the journal files holding org's alerts under a lake
// directory, for the alerts SQL view (it needs no open Store: a read-only
// process reads them too).
func Journals(lakeDir, org string) []string {
	p := filepath.Join(lakeDir, dirName, orgPrefix+lake.EscapePathValue(org), journalName)
	if st, err := os.Stat(p); err == nil && st.Size() > 0 {
		return []string{p}
	}
	return nil
}

// org returns an organization's alerts, loading its journal on first use.
func (s *Store) org(org string) (*orgAlerts, error) {
	if o, ok := s.orgs[org]; ok {
		return o, nil
	}
	dir := filepath.Join(s.root, orgPrefix+lake.EscapePathValue(org))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, journalName)
	o := &orgAlerts{alerts: map[string]*state{}, current: map[string]*state{}}
	good, err := o.load(path)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	// A torn last line (a crash mid-write) is cut off: its batch was not
	// acknowledged, and is evaluated again when it is sent again.
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	o.f = f
	cutoff := s.now().Add(-Retention).UnixMilli()
	expired := 0
	for id, st := range o.alerts {
		if st.UpdatedAt < cutoff {
			delete(o.alerts, id)
			expired++
		}
	}
	if expired > 0 || o.lines > 2*len(o.alerts)+1000 {
		if err := o.rewrite(path); err != nil {
			f.Close()
			return nil, err
		}
	}
	for _, st := range o.alerts {
		k := key(st.Rule, st.GroupKey)
		if c := o.current[k]; c == nil || st.FirstTime > c.FirstTime {
			o.current[k] = st
		}
	}
	s.orgs[org] = o
	return o, nil
}

// load reads a journal and returns the length of its whole lines.
func (o *orgAlerts) load(path string) (int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<20)
	var good int64
	for {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 && b[len(b)-1] == '\n' {
			var l line
			if jerr := json.Unmarshal(b, &l); jerr != nil {
				return good, nil // a damaged line: what follows is not trusted
			}
			o.apply(l)
			good += int64(len(b))
			o.lines++
		}
		if errors.Is(err, io.EOF) {
			return good, nil
		}
		if err != nil {
			return good, err
		}
	}
}

func (o *orgAlerts) apply(l line) {
	st := o.alerts[l.Alert.ID]
	if st == nil {
		st = &state{ids: map[uint64]struct{}{}}
		o.alerts[l.Alert.ID] = st
	}
	st.Alert = l.Alert
	if l.Window > 0 {
		st.window = time.Duration(l.Window) * time.Millisecond
	}
	for _, id := range l.NewIDs {
		st.ids[idHash(id)] = struct{}{}
	}
}

// rewrite replaces the journal with one line per alert.
func (o *orgAlerts) rewrite(path string) error {
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	bw := bufio.NewWriter(f)
	ids := make([]string, 0)
	for _, st := range o.sorted() {
		// The journal keeps each event id once; after a rewrite the ids
		// are known only by their hashes, so they are written as such.
		ids = ids[:0]
		for h := range st.ids {
			ids = append(ids, fmt.Sprintf("#%016x", h))
		}
		b, _ := json.Marshal(line{Alert: st.Alert, NewIDs: ids, Window: st.window.Milliseconds()})
		bw.Write(append(b, '\n'))
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Commit(); err != nil {
		return err
	}
	nf, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	o.f.Close()
	o.f = nf
	o.lines = len(o.alerts)
	return nil
}

func (o *orgAlerts) sorted() []*state {
	out := make([]*state, 0, len(o.alerts))
	for _, st := range o.alerts {
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].LastTime != out[j].LastTime {
			return out[i].LastTime > out[j].LastTime
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// idHash is the hash an event id is counted by; a rewritten journal holds
// the hashes themselves, as "#" and 16 hex digits.
func idHash(id string) uint64 {
	if len(id) == 17 && id[0] == '#' {
		if h, err := strconv.ParseUint(id[1:], 16, 64); err == nil {
			return h
		}
	}
	return xxhash.Sum64String(id)
}

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

// syncTo returns once an fsync has covered journal write seq.
func (s *Store) syncTo(o *orgAlerts, seq int64) error {
	if s.DeferSync {
		return nil
	}
	o.syncMu.Lock()
	defer o.syncMu.Unlock()
	if o.synced >= seq {
		return nil // another observer's fsync covered it
	}
	s.mu.Lock()
	target, f := o.written, o.f
	s.mu.Unlock()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("alerts journal: %w", err)
	}
	o.synced = target
	return nil
}

// Sync makes every journal write durable (after DeferSync writes).
func (s *Store) Sync() error {
	s.mu.Lock()
	orgs := make([]*orgAlerts, 0, len(s.orgs))
	for _, o := range s.orgs {
		orgs = append(orgs, o)
	}
	s.mu.Unlock()
	for _, o := range orgs {
		if err := o.f.Sync(); err != nil {
			return fmt.Errorf("alerts journal: %w", err)
		}
	}
	return nil
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

// write appends to the journal (under the store's lock); the caller
// waits for its fsync with syncTo.
func (o *orgAlerts) write(b []byte) error {
	if _, err := o.f.Write(b); err != nil {
		return fmt.Errorf("alerts journal: %w", err)
	}
	o.written++
	o.lines += bytes.Count(b, []byte{'\n'})
	return nil
}

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
	b, _ := json.Marshal(line{Alert: st.Alert, Window: st.window.Milliseconds()})
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

// Close makes the journals durable and closes them.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for _, o := range s.orgs {
		if o.f != nil {
			if err := o.f.Sync(); err != nil && first == nil {
				first = err
			}
			if err := o.f.Close(); err != nil && first == nil {
				first = err
			}
		}
	}
	return first
}
