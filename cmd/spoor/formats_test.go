package main

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/spoor-dev/spoor/internal/testenv"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

const datasets = "../../../shared/datasets"

func needDataset(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(datasets, rel)
	if _, err := os.Stat(p); err != nil {
		testenv.Missing(t, "real telemetry not found at %s (the shared datasets folder beside the project): %v", p, err)
	}
	return p
}

func ingestInto(t *testing.T, dir string, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if err := runIngest(context.Background(), ingestOptions{data: dataFlags{Dir: dir}, format: "auto"}, args, &out, &out); err != nil {
		t.Fatalf("ingest %v: %v\n%s", args, err, out.String())
	}
	return out.String()
}

func sqlRows(t *testing.T, dir, q string) []map[string]any {
	t.Helper()
	var out bytes.Buffer
	if err := runSQL(context.Background(), sqlOptions{data: dataFlags{Dir: dir}, format: "ndjson"}, q, &out); err != nil {
		t.Fatalf("sql: %v\n%s", err, q)
	}
	var rows []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if l == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("row %q: %v", l, err)
		}
		rows = append(rows, r)
	}
	return rows
}

// readmeSQL returns the statement the README gives after `spoor sql --data
// NAME "`, so the README's example is the one tested.
func readmeSQL(t *testing.T, marker string) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, marker)
	if i < 0 {
		t.Fatalf("README has no %q", marker)
	}
	s = s[i+len(marker):]
	j := strings.Index(s, "\"\n")
	if j < 0 {
		t.Fatalf("README's statement after %q does not end", marker)
	}
	return s[:j]
}

// Seed 004: Sysmon 10 joined with Sysmon 11 on the process GUID, the
// MiniDumpWriteDump access mask tested bit by bit, finds Task Manager
// dumping LSASS, as one `spoor sql` statement (the README's).
func TestSeed004SQL(t *testing.T) {
	zip := needDataset(t, "windows/rdp_interactive_taskmanager_lsass_dump.zip")
	dir := filepath.Join(t.TempDir(), "lsass")
	ingestInto(t, dir, zip)
	if got := readmeSQL(t, `spoor sql --data lsass "`); strings.TrimSpace(got) != seed004SQL {
		t.Errorf("the README's seed-004 statement differs from the demo's:\n%s", got)
	}
	rows := sqlRows(t, dir, seed004SQL)
	if len(rows) == 0 {
		t.Fatal("the seed-004 statement found nothing")
	}
	for _, r := range rows {
		if !strings.HasSuffix(strings.ToLower(r["source_image"].(string)), `\taskmgr.exe`) ||
			!strings.HasSuffix(strings.ToLower(r["target_image"].(string)), `\lsass.exe`) ||
			!strings.HasSuffix(strings.ToLower(r["dump_file"].(string)), `\lsass.dmp`) {
			t.Errorf("row %v is not Task Manager dumping LSASS", r)
		}
	}
	var masks []string
	for _, r := range rows {
		masks = append(masks, r["granted_access"].(string))
	}
	slices.Sort(masks)
	if !slices.Contains(masks, "0x1410") {
		t.Errorf("access masks %v lack the MiniDumpWriteDump minimum 0x1410", masks)
	}
}

// Seed 001's CloudTrail questions on the Stratus Red Team files: the
// AssumedRole events, the ARNs of the assumed roles, the S3 calls; each
// answer checked against the files read with encoding/json.
func TestSeed001CloudTrailOnStratus(t *testing.T) {
	dirIn := needDataset(t, "cloudtrail/stratus/CloudTrail")
	files, _ := filepath.Glob(filepath.Join(dirIn, "*.json"))
	var assumed, s3 int
	arns := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Records []struct {
				EventSource  string
				UserIdentity struct{ Type, Arn string }
			}
		}
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		for _, r := range d.Records {
			if r.UserIdentity.Type == "AssumedRole" {
				assumed++
				arns[r.UserIdentity.Arn] = true
			}
			if r.EventSource == "s3.amazonaws.com" {
				s3++
			}
		}
	}
	if assumed == 0 || s3 == 0 {
		t.Fatalf("the Stratus files hold %d AssumedRole and %d S3 records: nothing to test", assumed, s3)
	}
	dir := filepath.Join(t.TempDir(), "ct")
	ingestInto(t, dir, dirIn)
	f := fleet{dir: dir}
	if got := searchIDs(t, f, `event_type = "cloudtrail" AND userType = "AssumedRole"`); len(got) != assumed {
		t.Errorf("AssumedRole events: %d, the files hold %d", len(got), assumed)
	}
	if got := searchIDs(t, f, `event_type = "cloudtrail" AND event_source = "s3.amazonaws.com"`); len(got) != s3 {
		t.Errorf("S3 calls: %d, the files hold %d", len(got), s3)
	}
	rows := sqlRows(t, dir, `SELECT DISTINCT user_arn FROM events WHERE user_type = 'AssumedRole' AND user_arn LIKE '%:assumed-role/%' ORDER BY 1`)
	var got []string
	for _, r := range rows {
		got = append(got, r["user_arn"].(string))
	}
	var want []string
	for a := range arns {
		want = append(want, a)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("assumed-role ARNs %v, the files name %v", got, want)
	}
}

// Raw auditd logs: --host names the machine, execve events carry the
// command line, and an auditd search finds them.
func TestAuditdIngestWithHost(t *testing.T) {
	zip := needDataset(t, "linux/sh_arp_cache.zip")
	dir := filepath.Join(t.TempDir(), "linux")
	var out bytes.Buffer
	if err := runIngest(context.Background(), ingestOptions{data: dataFlags{Dir: dir}, format: "auto", host: "wardog-box"}, []string{zip}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "auditd 1") {
		t.Errorf("summary does not name the format:\n%s", out.String())
	}
	rows := sqlRows(t, dir, `SELECT hostname, exe, arguments, cwd, auid, session, tty FROM events WHERE syscall = 'execve' ORDER BY exe`)
	if len(rows) != 2 {
		t.Fatalf("%d execve events, want 2: %v", len(rows), rows)
	}
	r := rows[0]
	if r["hostname"] != "wardog-box" || r["exe"] != "/bin/grep" || r["arguments"] != "grep -v ^?" || r["cwd"] != "/home/wardog" ||
		r["auid"] != float64(1000) || r["session"] != float64(104) || r["tty"] != "pts0" {
		t.Errorf("grep event %v", r)
	}
}

// `spoor demo` (what `make demo` runs) walks through seed 000 on the
// generated fleet, then seeds 004 and 001 and raw auditd on the real
// telemetry, each step answering its question, then serves: the token and
// the commands to try come last, naming the binary as the user ran it, the
// server's log lines go to a file, and the fleet is generated straight
// into the ingest, never written whole to disk.
func TestDemoWalkthrough(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// stdout and stderr in one, as a terminal shows them; the demo is
	// stopped once it has printed its last word.
	term := &terminal{stop: cancel, last: "curl -s"}
	// No --datasets: the real telemetry shipped in the binary, as a clone
	// without ../shared runs it.
	data := filepath.Join(t.TempDir(), "demo")
	o := demoOptions{data: data, hosts: 12, rate: 20, seed: 1, listen: "127.0.0.1:0", bin: "bin/spoor"}
	if err := runDemo(ctx, o, term, term); err != nil {
		t.Fatalf("demo: %v\n%s", err, term.String())
	}
	out := term.String()
	for _, want := range []string{
		"/tmp/sliver",              // seed 000: the new executables
		`\taskmgr.exe`,             // seed 004: Task Manager ...
		`lsass.DMP`,                // ... dumped LSASS
		":assumed-role/",           // seed 001 on CloudTrail
		"arp -a",                   // raw auditd
		"cloudtrail 56, windows 4", // every real file read in its format
		"auditd 2",
		"LSASS memory read", // a native default rule's alert, raised on ingest
		"LSASS opened with the rights MiniDumpWriteDump needs", // spoor's own Sigma rule
		"HackTool - Dumpert Process Dumper Default File",       // a SigmaHQ rule, as it is
		"$ bin/spoor gen --seed 1 --hosts 12 --rate 20 --labels " + data + "/demo-fleet.labels.ndjson | bin/spoor ingest --data " + data + " -",
		"$ bin/spoor diff --host ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "../shared") {
		t.Errorf("the demo read ../shared:\n%s", out)
	}
	if strings.Contains(out, "$ spoor ") || strings.Contains(out, "level=") {
		t.Errorf("a command not naming bin/spoor, or a log line, on the terminal:\n%s", out)
	}
	// The last lines are the token and the commands to try.
	i := strings.LastIndex(out, "\nServing the demo fleet on http://127.0.0.1:")
	if i < 0 {
		t.Fatalf("no serving block:\n%s", out)
	}
	last := out[i:]
	for _, want := range []string{"\n  console: http://127.0.0.1:", "\n  token:   spoor_", "export SPOOR_SERVER=http://127.0.0.1:", " SPOOR_TOKEN=spoor_", "\n  bin/spoor search '", "\n  bin/spoor alerts list\n", "\n  curl -s "} {
		if !strings.Contains(last, want) {
			t.Errorf("the last block lacks %q:\n%s", want, last)
		}
	}
	if strings.Count(out[i:], "\n") != strings.Count(demoNextSteps("bin/spoor", "u", "t", "l"), "\n") {
		t.Errorf("output after the serving block:\n%s", last)
	}
	if b, err := os.ReadFile(filepath.Join(data, "serve.log")); err != nil || !strings.Contains(string(b), "rules loaded") {
		t.Errorf("the server's log file: %v\n%s", err, b)
	}
	entries, _ := os.ReadDir(data)
	for _, e := range entries {
		if strings.Contains(e.Name(), "fleet") && !strings.HasSuffix(e.Name(), ".labels.ndjson") {
			t.Errorf("the fleet was written to disk: %s", e.Name())
		}
	}
	// A folder named with --datasets that is not there is an error, not a
	// silently shorter demo.
	o.real = filepath.Join(t.TempDir(), "absent")
	if err := runDemo(context.Background(), o, term, term); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Errorf("--datasets of a missing folder: %v", err)
	}
}

// terminal gathers what a command writes to stdout and stderr, in order,
// and calls stop once the text holds last.
type terminal struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	last string
	stop func()
}

func (t *terminal) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if t.last != "" && strings.Contains(t.buf.String(), t.last) {
		t.stop()
	}
	return len(p), nil
}

func (t *terminal) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}

// The commands the demo suggests name the binary as the user can run it
// again from where they are.
func TestCommandName(t *testing.T) {
	for _, c := range []struct{ arg0, cwd, onPath, want string }{
		{"spoor", "/home/u", "/usr/local/bin/spoor", "spoor"},                       // found on PATH
		{"bin/spoor", "/home/u/spoor", "", "bin/spoor"},                             // from a clone
		{"./bin/spoor", "/home/u/spoor", "", "bin/spoor"},                           // the same, cleaned
		{"./spoor", "/home/u", "", "./spoor"},                                       // not "spoor": that is a PATH lookup
		{"/home/u/spoor/bin/spoor", "/home/u/spoor", "", "bin/spoor"},               // absolute, under cwd
		{"/home/u/spoor/bin/spoor", "/home/u/spoor/bin", "", "./spoor"},             // absolute, in cwd
		{"../spoor/bin/spoor", "/home/u/x", "", "../spoor/bin/spoor"},               // relative as typed
		{"/usr/local/bin/spoor", "/home/u", "/usr/local/bin/spoor", "spoor"},        // absolute, and PATH finds it
		{"/opt/spoor/spoor", "/home/u", "/usr/local/bin/spoor", "/opt/spoor/spoor"}, // PATH finds another
		{"/tmp/go-build123/b001/exe/spoor", "/home/u/spoor", "", "spoor"},           // go run: gone after
		{"", "/home/u", "", "spoor"},
	} {
		if got := commandName(c.arg0, c.cwd, c.onPath); got != c.want {
			t.Errorf("commandName(%q, %q, %q) = %q, want %q", c.arg0, c.cwd, c.onPath, got, c.want)
		}
	}
}

// spoor rules test backtests a Sigma rule file and a native rule with a
// suppression over stored real events, raising nothing.
func TestRulesTestBacktests(t *testing.T) {
	zip := needDataset(t, "windows/rdp_interactive_taskmanager_lsass_dump.zip")
	dir := filepath.Join(t.TempDir(), "bt")
	var out bytes.Buffer
	if err := runIngest(context.Background(), ingestOptions{data: dataFlags{Dir: dir}, format: "auto", noDetect: true}, []string{zip}, &out, &out); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	o := rulesOptions{data: dataFlags{Dir: dir}, since: "2000-01-01", format: "text"}
	if err := runRulesTest(context.Background(), o, "../../internal/rules/defaults-sigma/lsass-minidump-access.yml", &out); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "matched:    3 events") || !strings.Contains(s, `taskmgr.exe`) {
		t.Errorf("Sigma backtest:\n%s", s)
	}
	native := filepath.Join(t.TempDir(), "lsass-any.yml")
	if err := os.WriteFile(native, []byte(`name: lsass-any
title: LSASS access
type: winsec
severity: 2
filter: win_event_id = 10 AND TargetImage ends_with 'lsass.exe'
suppressions:
  - exe = 'C:\windows\system32\svchost.exe'
aggregate: [hostname, exe]
window: 1h
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := runRulesTest(context.Background(), o, native, &out); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if !strings.Contains(s, "suppressed: ") || !strings.Contains(s, "too broad") || !strings.Contains(s, "alerts:") {
		t.Errorf("native backtest:\n%s", s)
	}
	if rows := sqlRows(t, dir, "SELECT count(*) AS n FROM alerts"); rows[0]["n"] != float64(0) {
		t.Errorf("a backtest raised alerts: %v", rows)
	}
}

// Windows logon sessions from real Security events (4624, 4634, 4688): the
// RDP logon of OTRF's Task Manager recording comes from an external
// address, and processes are counted in their logon sessions.
func TestWindowsSessionsOnRealData(t *testing.T) {
	zip := needDataset(t, "windows/rdp_interactive_taskmanager_lsass_dump.zip")
	dir := filepath.Join(t.TempDir(), "win")
	ingestInto(t, dir, zip)
	var out bytes.Buffer
	o := huntOptions{data: dataFlags{Dir: dir}, format: "ndjson"}
	o.req.Host = "WORKSTATION5.theshire.local"
	if err := runHunt(context.Background(), "sessions", o, &out); err != nil {
		t.Fatal(err)
	}
	external, procs := 0, int64(0)
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r struct {
			User      string `json:"user"`
			SrcIP     string `json:"src_ip"`
			External  bool   `json:"external"`
			Processes int64  `json:"processes"`
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if r.External {
			external++
			if r.SrcIP != "1.2.3.4" || r.User != "pgustavo" {
				t.Errorf("external session %+v", r)
			}
		}
		procs += r.Processes
	}
	rows := sqlRows(t, dir, "SELECT count(*) AS n FROM events WHERE win_event_id = 4688")
	if external == 0 || float64(procs) != rows[0]["n"].(float64) {
		t.Errorf("%d external sessions, %d processes in sessions of %v 4688 events:\n%s", external, procs, rows[0]["n"], out.String())
	}
}
