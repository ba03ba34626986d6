package network

import (
	"os"
	"sync"
	"testing"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/hunt/hunttest"
)

// fleet is the shared generated fleet (package hunttest), built once for
// the tests of the package.
type fleet struct {
	db     *datadir.DB
	org    string
	labels []label
}

type label = hunttest.Label

var (
	fleetOnce sync.Once
	built     *hunttest.Fleet
	fleetErr  error
)

func testFleet(t *testing.T) fleet {
	t.Helper()
	fleetOnce.Do(func() { built, fleetErr = hunttest.Build() })
	if fleetErr != nil {
		t.Fatal(fleetErr)
	}
	return fleet{db: built.DB, org: built.Org, labels: built.Labels}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built != nil {
		built.Close()
	}
	os.Exit(code)
}
