// Package hunttest builds the generated fleet the hunting analyses' tests
// run on, once per test binary.
package hunttest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"sync"
	"testing"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/gen"
)

// Fleet is a small generated fleet ingested into a data directory.
type Fleet struct {
	DB     *datadir.DB
	Org    string
	Labels []Label
	// Lines are the generated events as ingested, one JSON object each.
	Lines []string
	line  map[string]int // index in Lines by _id
	dir   string
}

// shared is the test binary's fleet. Building one takes seconds, so the
// tests of a package share it (they only read it); this is a test helper's
// cache, not state of spoor.
var shared struct {
	once  sync.Once
	fleet *Fleet
	err   error
}

// Shared returns the test binary's fleet, built on first use. It skips
// under -short. A package that uses it runs its tests through Main.
func Shared(t testing.TB) *Fleet {
	t.Helper()
	if testing.Short() {
		t.Skip("generates a fleet")
	}
	shared.once.Do(func() { shared.fleet, shared.err = Build() })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.fleet
}

// Main runs the package's tests and then removes the shared fleet; call it
// from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if shared.fleet != nil {
		shared.fleet.Close()
	}
	os.Exit(code)
}

// Line returns the generated line of the event with _id id.
func (f *Fleet) Line(id string) (string, bool) {
	i, ok := f.line[id]
	if !ok {
		return "", false
	}
	return f.Lines[i], true
}

// Label says which scenario step an event belongs to.
type Label struct {
	ID        string `json:"_id"`
	Scenario  string `json:"scenario"`
	Step      string `json:"step"`
	AgentID   string `json:"agent_id"`
	Hostname  string `json:"hostname"`
	EventTime int64  `json:"event_time"`
	EventType string `json:"event_type"`
}

// Build generates the fleet (gen seed 7, 12 hosts, 20 events an hour per
// host; about 75k events with seeds 000, 001 and 003) and ingests it into
// a new temporary data directory. Close removes it.
func Build() (*Fleet, error) {
	f := &Fleet{line: map[string]int{}}
	if err := f.build(); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Close closes the data directory and removes it.
func (f *Fleet) Close() {
	if f.DB != nil {
		f.DB.Close(context.Background())
	}
	if f.dir != "" {
		os.RemoveAll(f.dir)
	}
}

func (f *Fleet) build() error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "spoor-hunt-fleet-")
	if err != nil {
		return err
	}
	f.dir = dir
	var ev, lb bytes.Buffer
	if _, err := gen.Generate(ctx, gen.Options{Seed: 7, Hosts: 12, Rate: 20}, &ev, &lb); err != nil {
		return err
	}
	db, err := datadir.Open(ctx, dir, datadir.Options{})
	if err != nil {
		return err
	}
	f.DB, f.Org = db, gen.FirstOrgID
	var norm event.Normalizer
	var evs []*event.Event
	sc := bufio.NewScanner(&ev)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		e := new(event.Event)
		if err := norm.Normalize(sc.Bytes(), e); err != nil {
			return err
		}
		evs = append(evs, e)
		f.line[e.Str[event.ID]] = len(f.Lines)
		f.Lines = append(f.Lines, sc.Text())
		if len(evs) == 10000 {
			if _, err := db.Lake.Append(ctx, evs); err != nil {
				return err
			}
			evs = nil
		}
	}
	if _, err := db.Lake.Append(ctx, evs); err != nil {
		return err
	}
	if err := db.Lake.Flush(ctx); err != nil {
		return err
	}
	sc = bufio.NewScanner(&lb)
	for sc.Scan() {
		var l Label
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return err
		}
		f.Labels = append(f.Labels, l)
	}
	return nil
}
