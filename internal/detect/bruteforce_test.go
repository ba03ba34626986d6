package detect

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/alert"
	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/ingest"
	"github.com/spoor-dev/spoor/internal/rules"
)

// bruteForce reads the synthetic brute forces of internal/hunt/logins: an
// SSH one in raw auditd on host bastion (12 failed records from
// 198.51.100.7, then ubuntu gets in; 10.0.0.5 logs in without failing) and
// an RDP one in Windows Security on dc01 (ten 4625 from 198.51.100.8, then
// a 4624; one 4625 from 10.9.9.9).
func bruteForce(t *testing.T) []*event.Event {
	t.Helper()
	var (
		mu  sync.Mutex
		evs []*event.Event
	)
	sink := func(_ context.Context, b []*event.Event) (int, int, error) {
		// The ingest's workers call the sink at once.
		mu.Lock()
		defer mu.Unlock()
		evs = append(evs, b...)
		return len(b), 0, nil
	}
	srcs := []ingest.Source{ingest.FileSource("../hunt/logins/testdata/bruteforce_audit.log"),
		ingest.FileSource("../hunt/logins/testdata/bruteforce_security.json")}
	sum, err := ingest.RunSources(context.Background(), srcs, sink, ingest.Options{Org: "o", ForceOrg: true})
	if err != nil || len(sum.FileErrors) > 0 {
		t.Fatalf("ingest: %v %v", err, sum.FileErrors)
	}
	return evs
}

// The default brute-force rules fire on both forms, on the attacking
// sources only: brute-force-source on the failures, brute-force-success on
// the logon that followed them.
func TestBruteForceRulesFire(t *testing.T) {
	dir, st := rulesAndAlerts(t)
	d := New(dir, st, nil, nil)
	if err := d.Process(context.Background(), bruteForce(t)); err != nil {
		t.Fatal(err)
	}
	list, err := st.List("o")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, a := range list {
		t.Logf("%s %s %s: %d events, %s", a.Rule, a.Hostname, a.GroupKey, a.Count, a.Status)
		if a.Status == alert.StatusOpen && strings.HasPrefix(a.Rule, "brute-force-") {
			got[a.Rule+" "+a.Hostname+" "+a.GroupKey] += a.Count
		}
	}
	for k, want := range map[string]int64{
		`brute-force-source bastion hostname="bastion",src_ip="198.51.100.7"`:                      12,
		`brute-force-success bastion hostname="bastion",src_ip="198.51.100.7"`:                     1,
		`brute-force-source dc01.corp.example hostname="dc01.corp.example",src_ip="198.51.100.8"`:  10,
		`brute-force-success dc01.corp.example hostname="dc01.corp.example",src_ip="198.51.100.8"`: 1,
	} {
		if got[k] != want {
			t.Errorf("%s: %d events, want %d", k, got[k], want)
		}
	}
	if len(got) != 4 {
		t.Errorf("%d alerts, want the 4 open ones of the attacking sources (10.9.9.9's single failure stays pending)", len(got))
	}
}

// A backtest of brute-force-success counts the logons that followed the
// failures, not the clean one from 10.0.0.5.
func TestBruteForceSuccessBacktest(t *testing.T) {
	ctx := context.Background()
	db := storedLake(t, bruteForce(t))
	r := defaultRule(t, "brute-force-success")
	bt, err := RunBacktest(ctx, db, "o", r, 0, 1<<50)
	if err != nil {
		t.Fatal(err)
	}
	if bt.Matched != 2 || bt.Alerts != 2 {
		t.Errorf("backtest: %d matched, %d alerts; want the 2 logons after failures: %+v", bt.Matched, bt.Alerts, bt.Samples)
	}
}

// A threshold's backtest counts what live detection opens: a span of the
// rule's window holding threshold events, wherever the window boundaries
// fall. Twelve failures a minute apart from 09:54 to 10:05 split 6/6 at
// 10:00: neither ten-minute window holds ten, the span 09:55..10:05 holds
// eleven, and live detection opens one alert.
func TestThresholdBacktestAgreesWithLive(t *testing.T) {
	evs := failures(t, "straddle", "bastion", "192.0.2.9", 12, -6*time.Minute)
	r := defaultRule(t, "brute-force-source")
	if r.Threshold != 10 || r.Window != 10*time.Minute {
		t.Fatalf("the case is written for brute-force-source at 10 in 10m: %+v", r)
	}
	dir, st := rulesAndAlerts(t)
	if err := New(dir, st, nil, nil).Process(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	list, err := st.List("o")
	if err != nil {
		t.Fatal(err)
	}
	live := 0
	for _, a := range list {
		if a.Rule == r.Name && a.Status == alert.StatusOpen {
			live++
		}
	}
	ctx := context.Background()
	db := storedLake(t, evs)
	bt, err := RunBacktest(ctx, db, "o", r, 0, 1<<50)
	if err != nil {
		t.Fatal(err)
	}
	if live != 1 || bt.Alerts != int64(live) || bt.Matched != 12 {
		t.Errorf("live detection opened %d alerts, the backtest says %d of %d matched; want 1 and 1 of 12", live, bt.Alerts, bt.Matched)
	}
}

// storedLake is a data directory holding evs in parts, closed when the
// test ends.
func storedLake(t *testing.T, evs []*event.Event) *datadir.DB {
	t.Helper()
	ctx := context.Background()
	db, err := datadir.Open(ctx, t.TempDir(), datadir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(ctx) })
	if _, err := db.Lake.Append(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := db.Lake.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// defaultRule is the default rule called name.
func defaultRule(t *testing.T, name string) *rules.Rule {
	t.Helper()
	for _, r := range rules.Defaults() {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("no default rule %s", name)
	return nil
}
