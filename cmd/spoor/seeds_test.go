package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/spoor-dev/spoor/internal/gen"
)

// fleet is one small generated fleet with the seeds' scenarios, ingested
// once for every test of this file.
type fleet struct {
	dir    string // data dir
	file   string // NDJSON
	labels []label
	lines  int
}

type label struct {
	ID        string `json:"_id"`
	Scenario  string `json:"scenario"`
	Step      string `json:"step"`
	AgentID   string `json:"agent_id"`
	EventTime int64  `json:"event_time"`
	EventType string `json:"event_type"`
}

var (
	fleetOnce sync.Once
	theFleet  fleet
	fleetErr  error
)

func testFleet(t *testing.T) fleet {
	t.Helper()
	fleetOnce.Do(func() {
		root, err := os.MkdirTemp("", "spoor-fleet-")
		if err != nil {
			fleetErr = err
			return
		}
		theFleet.dir = filepath.Join(root, "data")
		theFleet.file = filepath.Join(root, "fleet.ndjson")
		var ev, lb bytes.Buffer
		if _, err := gen.Generate(context.Background(), gen.Options{Seed: 7, Hosts: 12, Rate: 20}, &ev, &lb); err != nil {
			fleetErr = err
			return
		}
		theFleet.lines = bytes.Count(ev.Bytes(), []byte{'\n'})
		if err := os.WriteFile(theFleet.file, ev.Bytes(), 0o644); err != nil {
			fleetErr = err
			return
		}
		sc := bufio.NewScanner(&lb)
		for sc.Scan() {
			var l label
			json.Unmarshal(sc.Bytes(), &l)
			theFleet.labels = append(theFleet.labels, l)
		}
		var out bytes.Buffer
		fleetErr = runIngest(context.Background(), ingestOptions{data: dataFlags{Dir: theFleet.dir}, format: "auto"}, []string{theFleet.file}, &out, &out)
	})
	if fleetErr != nil {
		t.Fatal(fleetErr)
	}
	return theFleet
}

func TestMain(m *testing.M) {
	// The test binary doubles as the spoor binary for tests that need a
	// process to kill.
	if os.Getenv("SPOOR_TEST_AS_MAIN") == "1" {
		os.Exit(run(os.Args[1:]))
	}
	code := m.Run()
	if theFleet.dir != "" {
		os.RemoveAll(filepath.Dir(theFleet.dir))
	}
	os.Exit(code)
}

// searchIDs runs a search and returns the _ids it printed.
func searchIDs(t *testing.T, f fleet, q string) []string {
	t.Helper()
	var out bytes.Buffer
	err := runSearch(context.Background(), searchOptions{data: dataFlags{Dir: f.dir}, format: "ndjson", fields: "_id", limit: 0}, q, &out)
	if err != nil {
		t.Fatalf("search %s: %v", q, err)
	}
	var ids []string
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var row struct {
			ID string `json:"_id"`
		}
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatalf("ndjson row %q: %v", sc.Text(), err)
		}
		ids = append(ids, row.ID)
	}
	return ids
}

// labelled returns the ids of a scenario's events whose step has prefix,
// on one agent unless agent is "".
func labelled(f fleet, scenario, step, agent string) []string {
	var ids []string
	for _, l := range f.labels {
		if l.Scenario == scenario && strings.HasPrefix(l.Step, step) && (agent == "" || l.AgentID == agent) {
			ids = append(ids, l.ID)
		}
	}
	return ids
}

func mustContainAll(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: no labelled events to look for", what)
	}
	for _, id := range want {
		if !slices.Contains(got, id) {
			t.Errorf("%s: labelled event %s missing from %d results", what, id, len(got))
		}
	}
}

// The event-search queries of seeds/001, as written, find the attack.
func TestSeed001QueriesAsWritten(t *testing.T) {
	f := testFleet(t)
	got := searchIDs(t, f, `event_type = "login" AND agent_id = "436dd34c-f795-11ea-a752-21e3e3eb7c50"`)
	var stolenLogin []string
	for _, l := range f.labels {
		if l.Scenario == "seed001" && l.Step == "ssh login with stolen key" && l.EventType == "login" {
			stolenLogin = append(stolenLogin, l.ID)
		}
	}
	mustContainAll(t, "login on the first victim", got, stolenLogin)

	got = searchIDs(t, f, `agent_id = "436dd34c-f795-11ea-a752-21e3e3eb7c50" AND event_time >= 1600362902289 AND event_time <= 1600362992764`)
	const victim = "436dd34c-f795-11ea-a752-21e3e3eb7c50"
	mustContainAll(t, "post-login window: sudo", got, labelled(f, "seed001", "sudo to root", victim))
	mustContainAll(t, "post-login window: metadata service", got, labelled(f, "seed001", "query instance metadata", victim))

	got = searchIDs(t, f, `event_type = "cloudtrail" AND userType = "AssumedRole"`)
	mustContainAll(t, "AssumedRole CloudTrail events", got, labelled(f, "seed001", "cloudtrail", ""))

	got = searchIDs(t, f, `event_type = "login" AND event_time > 1600362961`)
	var lateral []string
	for _, l := range f.labels {
		if l.Step == "lateral login" && l.EventType == "login" {
			lateral = append(lateral, l.ID)
		}
	}
	mustContainAll(t, "the suspicious later login", got, lateral)
}

// The seed-000 SQL, adapted to the events view, lists exactly the new
// executables and the three compromised hosts.
func TestSeed000SQL(t *testing.T) {
	f := testFleet(t)
	var out bytes.Buffer
	q := seed000NewExecsSQL
	if err := runSQL(context.Background(), sqlOptions{data: dataFlags{Dir: f.dir}, format: "csv"}, q, &out); err != nil {
		t.Fatal(err)
	}
	var exes []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n")[1:] {
		exes = append(exes, strings.Split(line, ",")[0])
	}
	slices.Sort(exes)
	for _, x := range []string{"/usr/bin/scp", "/usr/bin/wget", "/tmp/nmap", "/tmp/sliver", "/tmp/sliver2"} {
		if !slices.Contains(exes, x) {
			t.Errorf("new executables %v lack %s", exes, x)
		}
	}
	for _, x := range exes {
		if !strings.HasPrefix(x, "/tmp/") && x != "/usr/bin/scp" && x != "/usr/bin/wget" {
			t.Errorf("new executable %s is not part of the attack", x)
		}
	}

	out.Reset()
	if err := runSQL(context.Background(), sqlOptions{data: dataFlags{Dir: f.dir}, format: "csv"}, seed000SweepSQL, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	hosts := map[string]bool{}
	for _, l := range f.labels {
		if l.Scenario == "seed000" {
			hosts[l.AgentID] = true
		}
	}
	if len(lines)-1 != 3 || len(hosts) != 3 {
		t.Fatalf("IoC sweep found %d hosts (labels name %d), want 3:\n%s", len(lines)-1, len(hosts), out.String())
	}
	for _, line := range lines[1:] {
		if !hosts[strings.Split(line, ",")[1]] {
			t.Errorf("sweep row %q is not a labelled host", line)
		}
	}
}

// Every event of the file is stored once, however often it is ingested.
func TestIngestTwiceStoresOnce(t *testing.T) {
	f := testFleet(t)
	var out bytes.Buffer
	if err := runIngest(context.Background(), ingestOptions{data: dataFlags{Dir: f.dir}, format: "auto"}, []string{f.file}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "stored:     0 new events") {
		t.Errorf("second ingest stored something:\n%s", out.String())
	}
	out.Reset()
	if err := runSQL(context.Background(), sqlOptions{data: dataFlags{Dir: f.dir}, format: "csv"}, `SELECT count(*), count(DISTINCT "_id") FROM events`, &out); err != nil {
		t.Fatal(err)
	}
	want := strconv.Itoa(f.lines) + "," + strconv.Itoa(f.lines) + ","
	if got := strings.Split(strings.TrimSpace(out.String()), "\n")[1] + ","; got != want {
		t.Errorf("count, distinct = %s want %s", got, want)
	}
}

func TestBadQueryIsUsageErrorWithPosition(t *testing.T) {
	f := testFleet(t)
	var out bytes.Buffer
	err := runSearch(context.Background(), searchOptions{data: dataFlags{Dir: f.dir}, format: "table", limit: 10}, `event_type = "login" AND agent_id = `, &out)
	var u usageError
	if !errors.As(err, &u) {
		t.Fatalf("got %v, want a usage error (exit 2)", err)
	}
	if !strings.Contains(err.Error(), "1:37") || !strings.Contains(err.Error(), "^") {
		t.Errorf("error %q does not point at 1:37 with a caret", err)
	}
	err = runSQL(context.Background(), sqlOptions{data: dataFlags{Dir: f.dir}, format: "table"}, `SELECT * FROM read_csv('/etc/passwd')`, &out)
	if !errors.As(err, &u) {
		t.Fatalf("read_csv: got %v, want a usage error", err)
	}
}

// The default rules, evaluated as the fleet was ingested, raise alerts on
// the seeds' labelled attacks, and few on the benign fleet.
func TestDefaultRulesOnGenFleet(t *testing.T) {
	f := testFleet(t)
	labelled := map[string]string{}
	for _, l := range f.labels {
		labelled[l.ID] = l.Scenario
	}
	var out bytes.Buffer
	if err := runSQL(context.Background(), sqlOptions{data: dataFlags{Dir: f.dir}, format: "ndjson"}, `SELECT rule, event_ids FROM alerts WHERE status = 'open'`, &out); err != nil {
		t.Fatal(err)
	}
	attack, benign := map[string]int{}, map[string]int{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var a struct {
			Rule     string   `json:"rule"`
			EventIDs []string `json:"event_ids"`
		}
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			t.Fatal(err)
		}
		hit := false
		for _, id := range a.EventIDs {
			if labelled[id] != "" {
				hit = true
			}
		}
		if hit {
			attack[a.Rule]++
		} else {
			benign[a.Rule]++
		}
	}
	for _, r := range []string{"tmp-binary-exec", "ec2-metadata-access", "ssh-external-login"} {
		if attack[r] == 0 {
			t.Errorf("default rule %s raised no alert on the labelled attacks", r)
		}
	}
	total := 0
	for _, n := range benign {
		total += n
	}
	t.Logf("alerts on labelled attack events by rule: %v; on the benign fleet: %v", attack, benign)
	if benign["tmp-binary-exec"]+benign["ec2-metadata-access"]+benign["lsass-access"] > 0 {
		t.Errorf("high-severity default rules fired on benign events: %v", benign)
	}
	if total > 60 {
		t.Errorf("%d alerts on the benign fleet", total)
	}
}
