package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/alert"
)

// The same files ingested into two data directories, named in either
// order, raise the same alerts: the same ids, hosts, times and counts.
// Files (and chunks of a file) are evaluated in parallel, so which event
// reaches the alerts first is not the data's to say.
func TestIngestAlertsSameWhateverTheOrder(t *testing.T) {
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	rule := `name: wget-run
title: wget run
type: host
severity: 2
filter: event_type = 'audit' AND exe = '/usr/bin/wget'
aggregate: [exe]
window: 1h
threshold: 1
enabled: true
`
	if err := os.WriteFile(filepath.Join(rulesDir, "wget-run.yml"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	// Two hosts run wget within the hour: one file each, the later events
	// in the file named first.
	at := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	write := func(name, host string, minutes ...int) string {
		var b strings.Builder
		for _, m := range minutes {
			fmt.Fprintf(&b, `{"_id":"%s-%d","event_time":%d,"event_type":"audit","syscall":"execve","exe":"/usr/bin/wget","agent_id":"agent-%s","hostname":"%s"}`+"\n",
				host, m, at.Add(time.Duration(m)*time.Minute).UnixMilli(), host, host)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	late := write("late.ndjson", "web-2", 50, 55, 70)
	early := write("early.ndjson", "web-1", 20, 25, 40)

	alerts := func(data string, paths ...string) []string {
		t.Helper()
		return ingestAlerts(t, data, rulesDir, paths, func(a alert.Alert) string {
			return fmt.Sprintf("%s %s host=%s agent=%s %d..%d count=%d", a.ID, a.Rule, a.Hostname, a.AgentID, a.FirstTime, a.LastTime, a.Count)
		})
	}
	one := alerts(filepath.Join(dir, "one"), late, early)
	two := alerts(filepath.Join(dir, "two"), early, late)
	if len(one) == 0 || !slices.Equal(one, two) {
		t.Fatalf("the same files, named in the other order, raised other alerts:\n%s\nthen\n%s", strings.Join(one, "\n"), strings.Join(two, "\n"))
	}
	// One alert per window of the hour: 10:00 (both hosts, web-1's first)
	// and 11:00.
	if len(one) != 2 || !strings.Contains(strings.Join(one, "\n"), "host=web-1 agent=agent-web-1") {
		t.Errorf("alerts: %s; want two, the first naming web-1", strings.Join(one, "\n"))
	}
}

// A brute force split over two files, the failed logons in one and the
// logon that followed in the other, raises the same brute-force-success
// alert whichever file is named first: a sequence rule counts the
// failures that came before the logon in event time, not in the order
// the files were read.
func TestIngestSequenceAlertSameWhateverTheOrder(t *testing.T) {
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	rule, err := os.ReadFile("../../internal/rules/defaults/brute-force-success.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rulesDir, "brute-force-success.yml"), rule, 0o644); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	write := func(name string, ok bool, minutes ...int) string {
		var b strings.Builder
		for _, m := range minutes {
			fmt.Fprintf(&b, `{"_id":"%s-%d","event_time":%d,"event_type":"login","success":%t,"src_ip":"198.51.100.7","user":"root","agent_id":"agent-bastion","hostname":"bastion"}`+"\n",
				name, m, at.Add(time.Duration(m)*time.Minute).UnixMilli(), ok)
		}
		p := filepath.Join(dir, name+".ndjson")
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	failed := write("failed", false, 0, 1, 2, 3, 4)
	logon := write("logon", true, 5)
	alerts := func(data string, paths ...string) []string {
		t.Helper()
		return ingestAlerts(t, data, rulesDir, paths, func(a alert.Alert) string {
			return fmt.Sprintf("%s %s %s host=%s %s %d..%d count=%d %v", a.ID, a.Rule, a.Status, a.Hostname, a.GroupKey, a.FirstTime, a.LastTime, a.Count, a.EventIDs)
		})
	}
	for _, paths := range [][]string{{failed, logon}, {logon, failed}} {
		got := alerts(t.TempDir(), paths...)
		want := fmt.Sprintf(`brute-force-success open host=bastion hostname="bastion",src_ip="198.51.100.7" %d..%d count=1 [logon-5]`,
			at.Add(5*time.Minute).UnixMilli(), at.Add(5*time.Minute).UnixMilli())
		if len(got) != 1 || !strings.HasSuffix(got[0], want) {
			t.Errorf("%s then %s: alerts\n%s\nwant one: ... %s", filepath.Base(paths[0]), filepath.Base(paths[1]), strings.Join(got, "\n"), want)
		}
	}
}

// ingestAlerts ingests paths into the data directory data with the rules
// of rulesDir and returns its alerts, each as show says, sorted.
func ingestAlerts(t *testing.T, data, rulesDir string, paths []string, show func(alert.Alert) string) []string {
	t.Helper()
	var out bytes.Buffer
	o := ingestOptions{data: dataFlags{Dir: data}, format: "auto", rules: rulesDir}
	if err := runIngest(context.Background(), o, paths, &out, &out); err != nil {
		t.Fatalf("ingest: %v\n%s", err, out.String())
	}
	st, err := alert.Open(filepath.Join(data, "lake"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	list, err := st.List("default")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range list {
		got = append(got, show(a))
	}
	slices.Sort(got)
	return got
}

// A Sigma correlation split over two files raises the same alert whichever
// file is named first: it counts the runs within its timespan by event
// time, names every one of them, and not a run alone in its timespan.
func TestIngestCorrelationAlertSameWhateverTheOrder(t *testing.T) {
	dir := t.TempDir()
	rulesDir := filepath.Join(dir, "rules")
	if err := os.MkdirAll(rulesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	rule := `title: Whoami run
name: whoami_run
logsource: {product: windows, category: process_creation}
detection:
  selection:
    Image|endswith: '\whoami.exe'
  condition: selection
---
title: Whoami run three times with one command line within ten minutes
name: whoami_burst
correlation:
  type: event_count
  rules: [whoami_run]
  group-by: [CommandLine]
  timespan: 10m
  condition: {gte: 3}
`
	if err := os.WriteFile(filepath.Join(rulesDir, "whoami.yml"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	write := func(name, host string, minutes ...int) string {
		var b strings.Builder
		for _, m := range minutes {
			fmt.Fprintf(&b, `{"_id":"%s-%d","event_time":%d,"event_type":"sysmon","win_event_id":1,"channel":"Microsoft-Windows-Sysmon/Operational","hostname":"%s","agent_id":"agent-%s","Image":"C:\\Windows\\System32\\whoami.exe","CommandLine":"whoami /all"}`+"\n",
				host, m, at.Add(time.Duration(m)*time.Minute).UnixMilli(), host, host)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// ws1 runs it at 10:00 and 10:03, ws2 at 10:02 and, alone, at 10:40.
	one := write("ws1.ndjson", "ws1", 3, 0)
	two := write("ws2.ndjson", "ws2", 40, 2)
	var first []string
	for _, paths := range [][]string{{one, two}, {two, one}} {
		got := ingestAlerts(t, t.TempDir(), rulesDir, paths, func(a alert.Alert) string {
			if a.Kind != "correlation" {
				return ""
			}
			ids := slices.Sorted(slices.Values(a.EventIDs))
			return fmt.Sprintf("%s %s %s host=%s %d..%d count=%d %v", a.ID, a.Rule, a.Status, a.Hostname, a.FirstTime, a.LastTime, a.Count, ids)
		})
		got = slices.DeleteFunc(got, func(s string) bool { return s == "" })
		want := fmt.Sprintf(`whoami_burst open host=ws1 %d..%d count=3 [ws1-0 ws1-3 ws2-2]`, at.UnixMilli(), at.Add(3*time.Minute).UnixMilli())
		if len(got) != 1 || !strings.HasSuffix(got[0], want) {
			t.Errorf("%s then %s: correlation alerts\n%s\nwant one: ... %s", filepath.Base(paths[0]), filepath.Base(paths[1]), strings.Join(got, "\n"), want)
		}
		if first == nil {
			first = got
		} else if !slices.Equal(got, first) {
			t.Errorf("the files named in the other order raised other alerts:\n%s\nthen\n%s", strings.Join(first, "\n"), strings.Join(got, "\n"))
		}
	}
}
