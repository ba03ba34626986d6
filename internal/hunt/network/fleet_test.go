package network

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

// fleet is a small generated fleet ingested into a data directory, shared
// by the tests of the package.
type fleet struct {
	db     *datadir.DB
	org    string
	labels []label
}

type label struct {
	ID        string `json:"_id"`
	Scenario  string `json:"scenario"`
	Step      string `json:"step"`
	AgentID   string `json:"agent_id"`
	Hostname  string `json:"hostname"`
	EventTime int64  `json:"event_time"`
	EventType string `json:"event_type"`
}

var (
	fleetOnce sync.Once
	theFleet  fleet
	fleetErr  error
	fleetDir  string
)

func testFleet(t *testing.T) fleet {
	t.Helper()
	fleetOnce.Do(func() { fleetErr = buildFleet() })
	if fleetErr != nil {
		t.Fatal(fleetErr)
	}
	return theFleet
}

func buildFleet() error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "spoor-hunt-fleet-")
	if err != nil {
		return err
	}
	fleetDir = dir
	var ev, lb bytes.Buffer
	if _, err := gen.Generate(ctx, gen.Options{Seed: 7, Hosts: 12, Rate: 20}, &ev, &lb); err != nil {
		return err
	}
	db, err := datadir.Open(ctx, dir, datadir.Options{})
	if err != nil {
		return err
	}
	theFleet.db, theFleet.org = db, gen.FirstOrgID
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
		var l label
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return err
		}
		theFleet.labels = append(theFleet.labels, l)
	}
	return nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	if theFleet.db != nil {
		theFleet.db.Close(context.Background())
	}
	if fleetDir != "" {
		os.RemoveAll(fleetDir)
	}
	os.Exit(code)
}
