package detect

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/alert"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse/winevent"
	"github.com/spoor-dev/spoor/internal/rules"
	"github.com/spoor-dev/spoor/internal/rules/rulestest"
)

const sigmaBase = `title: Whoami run
id: 11111111-2222-3333-4444-555555555555
name: whoami_run
tags:
  - attack.discovery
  - attack.t1033
logsource:
  product: windows
  category: process_creation
detection:
  selection:
    Image|endswith: '\whoami.exe'
  condition: selection
level: medium
`

const sigmaCorr = `title: Whoami run three times on a host within ten minutes
id: 66666666-7777-8888-9999-000000000000
name: whoami_burst
correlation:
  type: event_count
  rules:
    - whoami_run
  group-by:
    - Computer
  timespan: 10m
  condition:
    gte: 3
level: high
`

// sysmon1 is a Sysmon process creation as NXLog exports it.
func sysmon1(t *testing.T, host, image string, rec int, at time.Time) *event.Event {
	t.Helper()
	line := fmt.Sprintf(`{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","SourceName":"Microsoft-Windows-Sysmon","Hostname":%q,"Computer":%q,"RecordNumber":%d,"TimeCreated":%q,"Image":%q,"CommandLine":"x","ProcessId":"42"}`,
		host, host, rec, at.UTC().Format("2006-01-02 15:04:05.000"), image)
	e := new(event.Event)
	if err := winevent.Convert([]byte(line), e); err != nil {
		t.Fatal(err)
	}
	var n event.Normalizer
	n.Org = "o"
	if err := n.Complete(e); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestNativeSigmaAndCorrelationAlerts(t *testing.T) {
	root := t.TempDir()
	dir, err := rules.OpenDir(filepath.Join(root, "rules"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir.Path(), "whoami.yml"), []byte(sigmaBase+"---\n"+sigmaCorr), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := alert.Open(filepath.Join(root, "lake"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	d := New(dir, st, nil, nil)
	enabled := 0
	for _, r := range rules.Defaults() {
		if r.Enabled {
			enabled++
		}
	}
	if n, sg, p := d.Set().Stats(); n != enabled || sg < 3 || p != 0 {
		t.Fatalf("loaded %d native, %d Sigma, problems %v", n, sg, d.Set().Problems)
	}
	at := time.Date(2020, 10, 18, 10, 0, 0, 0, time.UTC)
	var evs []*event.Event
	for i := range 4 {
		evs = append(evs, sysmon1(t, "ws1", `C:\Windows\System32\whoami.exe`, 100+i, at.Add(time.Duration(i)*time.Minute)))
	}
	evs = append(evs, sysmon1(t, "ws2", `C:\Windows\System32\whoami.exe`, 200, at))  // one on another host: no burst
	evs = append(evs, sysmon1(t, "ws1", `C:\Windows\System32\notepad.exe`, 300, at)) // no rule
	cleared := new(event.Event)                                                      // the Security log cleared: the built-in pack's win-log-cleared
	if err := winevent.Convert([]byte(`{"EventID":1102,"Channel":"Security","SourceName":"Microsoft-Windows-Eventlog","Hostname":"ws1","RecordNumber":400,"TimeCreated":"2020-10-18 10:05:00.000"}`), cleared); err != nil {
		t.Fatal(err)
	}
	n := event.Normalizer{Org: "o"}
	if err := n.Complete(cleared); err != nil {
		t.Fatal(err)
	}
	evs = append(evs, cleared)
	if err := d.Process(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	list, err := st.List("o")
	if err != nil {
		t.Fatal(err)
	}
	byRule := map[string]int64{}
	technique := map[string]string{}
	for _, a := range list {
		byRule[a.Kind+":"+a.Rule] += a.Count
		technique[a.Kind+":"+a.Rule] = a.Technique
	}
	if byRule["sigma:whoami_run"] != 5 || byRule["correlation:whoami_burst"] < 3 || byRule["native:win-log-cleared"] != 1 || len(byRule) != 3 {
		t.Fatalf("alerts by rule %v", byRule)
	}
	// Alerts carry the ATT&CK technique: a native rule's technique key, a
	// Sigma rule's attack.tNNNN tag.
	if technique["native:win-log-cleared"] != "T1070.001" || technique["sigma:whoami_run"] != "T1033" {
		t.Errorf("alert techniques %v, want win-log-cleared T1070.001 and whoami_run T1033", technique)
	}
	// Sent again (after a crash, say): no event counts twice in a rule's
	// alert. (A correlation may now take in the fourth run, which the
	// first pass left pending: that is a new member, not a double count.)
	if err := d.Process(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	list2, err := st.List("o")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list2 {
		if want := map[string]int64{"ws1": 4, "ws2": 1}[a.Hostname]; a.Kind == "sigma" && a.Count != want {
			t.Errorf("alert %s on %s counted %d after the resend, want %d", a.Rule, a.Hostname, a.Count, want)
		}
		if a.Kind == "correlation" && a.Count > 4 {
			t.Errorf("correlation counted %d events of 4", a.Count)
		}
	}
}

// A rule written into the directory is live at the watch's next look, and
// the watch looks every reloadEvery, under a second. The test steps the
// watch's looks itself, so a busy machine cannot fail it.
func TestReloadWithinASecond(t *testing.T) {
	if reloadEvery <= 0 || reloadEvery >= time.Second {
		t.Fatalf("the watch looks every %v: a written rule would not be live within a second", reloadEvery)
	}
	dir, st := rulesAndAlerts(t)
	d := New(dir, st, nil, nil)
	polls := rulestest.New(t)
	d.polls = polls.Next
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Watch(ctx)
	polls.Ready()
	notepad := strings.ReplaceAll(strings.ReplaceAll(sigmaBase, "whoami", "notepad"), "11111111", "aaaaaaaa")
	if err := os.WriteFile(filepath.Join(dir.Path(), "notepad.yml"), []byte(notepad), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, sg, _ := d.Set().Stats(); sg != 2 {
		t.Fatalf("%d Sigma rules before the watch looked, want the 2 built in", sg)
	}
	polls.Step()
	if _, sg, p := d.Set().Stats(); sg != 3 {
		t.Fatalf("the new rule was not live after the watch's next look: %d Sigma rules (problems %v)", sg, p)
	}
	if err := d.Process(ctx, []*event.Event{sysmon1(t, "ws1", `C:\Windows\notepad.exe`, 1, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC))}); err != nil {
		t.Fatal(err)
	}
	if l, err := st.List("o"); err != nil || len(l) != 1 || l[0].Rule != "notepad_run" {
		t.Errorf("alerts after the reload: %+v, %v", l, err)
	}
	// An organization's own rule is live at the next look too.
	b, err := dir.Org("orgB")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(b.Path(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.Path(), "own.yml"), []byte(strings.ReplaceAll(notepad, "notepad_run", "own_run")), 0o644); err != nil {
		t.Fatal(err)
	}
	polls.Step()
	if own := d.OrgSet("orgB"); own == nil {
		t.Fatalf("orgB's own rule was not live after the watch's next look")
	} else if _, sg, p := own.Stats(); sg != 1 {
		t.Errorf("orgB's own set: %d Sigma rules, problems %v; want its one", sg, p)
	}
}

// An organization's own rules see its events only, and one named like a
// shared rule is reported, not loaded: the shared rule keeps the name.
func TestOrgRulesSeeTheirOrgOnly(t *testing.T) {
	dir, st := rulesAndAlerts(t)
	b, err := dir.Org("orgB")
	if err != nil {
		t.Fatal(err)
	}
	notepad := strings.ReplaceAll(strings.ReplaceAll(sigmaBase, "whoami", "notepad"), "11111111", "aaaaaaaa")
	if err := os.MkdirAll(b.Path(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.Path(), "notepad.yml"), []byte(notepad), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.Path(), "tmp.yml"), []byte("name: tmp-binary-exec\ntype: host\nseverity: 3\nfilter: user = 'x'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := New(dir, st, nil, nil)
	own := d.OrgSet("orgB")
	if own == nil || len(own.Problems) != 1 || own.Problems[0].File != "tmp.yml" || own.Problems[0].Origin != rules.OriginOrg {
		t.Fatalf("orgB's set: %+v", own)
	}
	if d.OrgSet("orgA") != nil {
		t.Errorf("orgA has a set of its own")
	}
	at := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	evA, evB := sysmon1(t, "ws1", `C:\Windows\notepad.exe`, 1, at), sysmon1(t, "ws2", `C:\Windows\notepad.exe`, 2, at)
	evA.Str[event.OrganizationID], evB.Str[event.OrganizationID] = "orgA", "orgB"
	if err := d.Process(context.Background(), []*event.Event{evA, evB}); err != nil {
		t.Fatal(err)
	}
	if l, err := st.List("orgA"); err != nil || len(l) != 0 {
		t.Errorf("orgB's rule raised in orgA: %+v, %v", l, err)
	}
	if l, err := st.List("orgB"); err != nil || len(l) != 1 || l[0].Rule != "notepad_run" || l[0].Hostname != "ws2" {
		t.Errorf("orgB's alerts: %+v, %v", l, err)
	}
}

// rulesAndAlerts opens a fresh rules directory (with the defaults) and
// alert store.
func rulesAndAlerts(t *testing.T) (*rules.Dir, *alert.Store) {
	t.Helper()
	root := t.TempDir()
	dir, err := rules.OpenDir(filepath.Join(root, "rules"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := alert.Open(filepath.Join(root, "lake"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return dir, st
}
