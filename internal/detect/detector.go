package detect

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spoor-dev/spoor/internal/alert"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/rules"
	"github.com/spoor-dev/spoor/internal/sigma"
)

// Detector evaluates batches with the live sets and records their alerts.
// An event meets the shared set and its own organization's set, never
// another organization's.
type Detector struct {
	dir     *rules.Dir
	extra   []string
	set     atomic.Pointer[Set]             // the shared rules
	orgs    atomic.Pointer[map[string]*Set] // organization → its own rules; replaced, never changed
	reload  sync.Mutex                      // serialises reloads
	alerts  *alert.Store
	webhook *alert.Webhook
	log     *slog.Logger
	docs    sync.Pool
	polls   rules.Polls // paces Watch: rules.Every(reloadEvery); tests step it

	hits, opened atomic.Int64
}

// Counts says how many rule hits the detector has seen and how many
// alerts they opened.
func (d *Detector) Counts() (hits, opened int64) { return d.hits.Load(), d.opened.Load() }

// New loads the shared rules of dir (and extra Sigma folders) and every
// organization's own into a detector writing alerts to st. webhook may be
// nil.
func New(dir *rules.Dir, st *alert.Store, webhook *alert.Webhook, log *slog.Logger, extraSigma ...string) *Detector {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Detector{dir: dir, extra: extraSigma, alerts: st, webhook: webhook, log: log, polls: rules.Every(reloadEvery)}
	d.docs.New = func() any { return sigma.NewDoc(nil) }
	d.orgs.Store(&map[string]*Set{})
	d.Reload()
	return d
}

// Reload reads every rule again, shared and per organization; the new sets
// take over at once. It returns the shared set.
func (d *Detector) Reload() *Set {
	d.reload.Lock()
	defer d.reload.Unlock()
	s := Load(d.dir, d.extra...)
	d.set.Store(s)
	d.logSet("", s)
	// Organization sets depend on the shared names: all are read again.
	orgs := map[string]*Set{}
	for _, org := range d.dir.Orgs() {
		if set := d.loadOrg(org, s); set != nil {
			orgs[org] = set
		}
	}
	d.orgs.Store(&orgs)
	return s
}

// ReloadOrg reads one organization's own rules again.
func (d *Detector) ReloadOrg(org string) {
	d.reload.Lock()
	defer d.reload.Unlock()
	orgs := maps.Clone(*d.orgs.Load())
	if set := d.loadOrg(org, d.set.Load()); set != nil {
		orgs[org] = set
	} else {
		delete(orgs, org)
	}
	d.orgs.Store(&orgs)
}

// loadOrg loads org's own set, nil when it has no rules directory or an
// empty one.
func (d *Detector) loadOrg(org string, shared *Set) *Set {
	dir, err := d.dir.Org(org)
	if err != nil {
		return nil
	}
	s := LoadOrg(dir, shared)
	if len(s.names) == 0 && len(s.sigmas) == 0 && len(s.Problems) == 0 {
		return nil
	}
	d.logSet(org, s)
	return s
}

func (d *Detector) logSet(org string, s *Set) {
	n, sg, p := s.Stats()
	log := d.log
	if org != "" {
		log = log.With("org", org)
	}
	log.Info("rules loaded", "native", n, "sigma", sg, "problems", p)
	for _, pr := range s.Problems[:min(p, 20)] {
		log.Warn("rule not loaded", "file", pr.File, "err", pr.Err)
	}
}

// Set returns the live shared rule set.
func (d *Detector) Set() *Set { return d.set.Load() }

// OrgSet returns the live set of org's own rules, nil when it has none.
func (d *Detector) OrgSet(org string) *Set { return (*d.orgs.Load())[org] }

// reloadEvery is how often Watch looks at the rules directory: a rule
// written is live at the next look, well within a second.
const reloadEvery = 250 * time.Millisecond

// Watch reloads the rules within a second of a change to the directory:
// all of them when the shared rules change, else the organizations whose
// own rules changed.
func (d *Detector) Watch(ctx context.Context) {
	err := d.dir.WatchScopes(ctx, d.polls, func(c rules.Change) {
		if c.Shared {
			d.Reload()
			return
		}
		for _, org := range c.Orgs {
			d.ReloadOrg(org)
		}
	})
	if err != nil && ctx.Err() == nil {
		d.log.Warn("rules directory not watched", "err", err)
	}
}

// Process evaluates a batch of events and makes the alerts they raise
// durable, each in its event's organization, before it returns; the
// caller acknowledges the batch after. Events already stored (a batch
// sent again) are evaluated too: the journal counts each event once.
func (d *Detector) Process(ctx context.Context, evs []*event.Event) error {
	shared, orgs := d.set.Load(), *d.orgs.Load()
	doc := d.docs.Get().(*sigma.Doc)
	defer d.docs.Put(doc)
	byOrg := map[string][]alert.Hit{}
	for _, e := range evs {
		org := e.Str[event.OrganizationID]
		hits := shared.Hits(org, e, doc, byOrg[org])
		if own := orgs[org]; own != nil {
			hits = own.Hits(org, e, doc, hits)
		}
		byOrg[org] = hits
	}
	for org, hits := range byOrg {
		if len(hits) == 0 {
			continue
		}
		opened, err := d.alerts.Observe(org, hits)
		if err != nil {
			return fmt.Errorf("record alerts: %w", err)
		}
		d.hits.Add(int64(len(hits)))
		d.opened.Add(int64(len(opened)))
		d.webhook.Send(opened)
	}
	return ctx.Err()
}
