package detect

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/alert"
	"github.com/spoor-dev/spoor/internal/event"
)

// whoamiByCommand is whoami_burst grouped by command line rather than by
// host, so one group spans several hosts.
const whoamiByCommand = `title: Whoami run three times with one command line within ten minutes
id: 77777777-7777-8888-9999-000000000000
name: whoami_command_burst
correlation:
  type: event_count
  rules:
    - whoami_run
  group-by:
    - CommandLine
  timespan: 10m
  condition:
    gte: 3
level: high
`

// A Sigma correlation raises the same hits whatever the order its events
// reach detection in: one per event of a window where it holds, each with
// its own event's time, host and agent (so its alerts are those of
// event-time order), and none for an event in no such window.
func TestCorrelationHitsWhateverTheOrder(t *testing.T) {
	dir, _ := rulesAndAlerts(t)
	if err := os.WriteFile(filepath.Join(dir.Path(), "whoami.yml"), []byte(sigmaBase+"---\n"+whoamiByCommand), 0o644); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2020, 10, 18, 10, 0, 0, 0, time.UTC)
	whoami := `C:\Windows\System32\whoami.exe`
	evs := []*event.Event{
		sysmon1(t, "ws1", whoami, 100, at),
		sysmon1(t, "ws2", whoami, 101, at.Add(time.Minute)),
		sysmon1(t, "ws3", whoami, 102, at.Add(2*time.Minute)),
		sysmon1(t, "ws1", whoami, 103, at.Add(3*time.Minute)),
		sysmon1(t, "ws2", whoami, 104, at.Add(40*time.Minute)), // alone in its ten minutes
	}
	const rule = "whoami_command_burst"
	var want []alert.Hit
	for _, e := range evs[:4] {
		want = append(want, alert.Hit{EventID: e.Str[event.ID], EventTime: e.Int[event.EventTime], Hostname: e.Str[event.Hostname], AgentID: e.Str[event.AgentID]})
	}
	slices.SortFunc(want, func(a, b alert.Hit) int { return strings.Compare(a.EventID, b.EventID) })
	orders := arrivalOrders(evs, 3, 2)
	orders["in event-time order"] = [][]*event.Event{evs}
	for name, batches := range orders {
		got := seqHits(t, dir, rule, batches)
		if len(got) != len(want) {
			t.Errorf("%s: %d hits %+v, want %d", name, len(got), got, len(want))
			continue
		}
		for i, h := range got {
			w := want[i]
			if h.EventID != w.EventID || h.EventTime != w.EventTime || h.Hostname != w.Hostname || h.AgentID != w.AgentID ||
				h.Kind != "correlation" || h.GroupKey != got[0].GroupKey || h.Window != 10*time.Minute {
				t.Errorf("%s: hit %d %+v, want its event's own id, time, host and agent %+v, kind correlation, one group, a 10m window", name, i, h, w)
			}
		}
	}
}
