package alert

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

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
	// windows holds the alerts by rule, group and window.
	windows map[winKey]*state
	// legacy holds, by rule and group, the alerts made before windows
	// were fixed: their id is their first observed hit's, not their
	// window's.
	legacy map[string][]*state
}

type state struct {
	Alert
	ids map[uint64]struct{}
	// window is the rule's window when the alert was made.
	window time.Duration
	// hostAt and hostEvent are the event time and id of the event whose
	// host and agent the alert names (see representedBy).
	hostAt    int64
	hostEvent string
	// Of an alert counted over sliding spans (slide.go): its threshold
	// (0 for the others), the kept marks of its window, its own window's
	// distinct events, first time and sample ids, and the events of the
	// window before that joined it.
	threshold int64
	marks     []mark
	own       int64
	ownFirst  int64
	ownIDs    []string
	pulled    []mark
}

// line is one journal record: an alert's state after a change and the
// event ids added by it.
type line struct {
	Alert     Alert    `json:"alert"`
	NewIDs    []string `json:"new_ids,omitempty"`
	Window    int64    `json:"window_ms,omitempty"`
	HostAt    int64    `json:"host_ms,omitempty"`
	HostEvent string   `json:"host_event,omitempty"`
	// Of an alert counted over sliding spans: the event times of NewIDs,
	// the marks its window keeps (after a rewrite, whose NewIDs are
	// hashes), its threshold, the events of the window before that joined
	// it (all of them, replacing those of earlier lines) and its own
	// window's first time. Older lines have none: their alerts count
	// within their fixed window, and slide with the hits that follow.
	NewMillis []int64 `json:"new_ms,omitempty"`
	Kept      []mark  `json:"kept,omitempty"`
	Threshold int64   `json:"threshold,omitempty"`
	Pulled    []mark  `json:"pulled,omitempty"`
	OwnFirst  *int64  `json:"own_first_ms,omitempty"`
}

// line is the alert's journal record, with the event ids added.
func (st *state) line(newIDs []string) line {
	l := line{Alert: st.Alert, NewIDs: newIDs, Window: st.window.Milliseconds(), HostAt: st.hostAt, HostEvent: st.hostEvent}
	if st.threshold > 0 {
		l.Threshold, l.Pulled, l.OwnFirst = st.threshold, st.pulled, &st.ownFirst
	}
	return l
}

// first is the time of the alert's own window's earliest event.
func (st *state) first() int64 {
	if st.threshold > 0 {
		return st.ownFirst
	}
	return st.FirstTime
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
	o := &orgAlerts{alerts: map[string]*state{}, windows: map[winKey]*state{}, legacy: map[string][]*state{}}
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
	o.index(org)
	s.orgs[org] = o
	return o, nil
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
