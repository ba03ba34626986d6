package gen

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fastjson"

	"github.com/spoor-dev/spoor/internal/event"
)

// rec is what the tests need of one generated event.
type rec struct {
	id, agent, typ, host, instance, privateIP string
	t                                         int64
	syscall, exe, arguments, user             string
	args, path                                []string
	success                                   bool
	sess                                      int64
	srcIP, dstIP                              string
	dstPort                                   int64
	action                                    string
	eventName, userType, userARN, arnRole     string
	size                                      int
}

type fleet struct {
	opts   Options
	st     Stats
	events []byte
	labels []byte
	recs   []rec
}

func generate(t testing.TB, opts Options) *fleet {
	t.Helper()
	var ev, lb bytes.Buffer
	st, err := Generate(context.Background(), opts, &ev, &lb)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return &fleet{opts: opts, st: st, events: ev.Bytes(), labels: lb.Bytes()}
}

// parse normalises every line with the normaliser in internal/event.
func (f *fleet) parse(t testing.TB) {
	t.Helper()
	n := event.Normalizer{Now: func() int64 { return 0 }}
	var e event.Event
	var p fastjson.Parser
	sc := bufio.NewScanner(bytes.NewReader(f.events))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if err := n.Normalize(b, &e); err != nil {
			t.Fatalf("line %d does not normalise: %v\n%s", line, err, b)
		}
		r := rec{
			id: e.Str[event.ID], agent: e.Str[event.AgentID], typ: e.Str[event.EventType], host: e.Str[event.Hostname],
			instance: e.Str[event.InstanceID], privateIP: e.Str[event.PrivateIP], t: e.Int[event.EventTime],
			syscall: e.Str[event.Syscall], exe: e.Str[event.Exe], arguments: e.Str[event.Arguments], user: e.Str[event.User],
			args: e.List(event.Args), path: e.List(event.Path), success: e.Bool(event.Success), sess: e.Int[event.Session],
			srcIP: e.Str[event.SrcIP], dstIP: e.Str[event.DstIP], dstPort: e.Int[event.DstPort],
			eventName: e.Str[event.EventName], userType: e.Str[event.UserType], userARN: e.Str[event.UserARN], size: len(b) + 1,
		}
		if r.typ == "file" || r.typ == "cloudtrail" {
			v, err := p.ParseBytes(e.Raw)
			if err != nil {
				t.Fatalf("line %d: residual raw is not JSON: %v", line, err)
			}
			r.action = string(v.GetStringBytes("action"))
			r.arnRole = string(v.GetStringBytes("arnRole"))
		}
		f.recs = append(f.recs, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

var (
	defaultOnce  sync.Once
	defaultFleet *fleet
)

// defaultFleet generates the seeds' windows with a small fleet once.
func seedFleet(t *testing.T) *fleet {
	t.Helper()
	defaultOnce.Do(func() {
		f := generate(t, Options{Seed: 1, Hosts: 12, Rate: 12})
		f.parse(t)
		defaultFleet = f
	})
	if defaultFleet == nil {
		t.Fatal("default fleet failed")
	}
	return defaultFleet
}

func TestDeterministic(t *testing.T) {
	opts := Options{Seed: 7, Hosts: 14, Orgs: 2, Rate: 20, Start: time.Date(2023, 5, 1, 0, 0, 0, 0, time.UTC), Days: 3}
	a, b := generate(t, opts), generate(t, opts)
	if !bytes.Equal(a.events, b.events) || !bytes.Equal(a.labels, b.labels) {
		t.Fatalf("same options, different output: %x vs %x", sha256.Sum256(a.events), sha256.Sum256(b.events))
	}
	if len(a.labels) == 0 {
		t.Fatal("no labels")
	}
	opts.Seed = 8
	c := generate(t, opts)
	if bytes.Equal(a.events, c.events) {
		t.Fatal("seeds 7 and 8 gave the same events")
	}
}

func TestEveryLineNormalises(t *testing.T) {
	f := seedFleet(t)
	if int64(len(f.recs)) != f.st.Events {
		t.Fatalf("parsed %d events, stats say %d", len(f.recs), f.st.Events)
	}
	if int64(len(f.events)) != f.st.Bytes {
		t.Fatalf("wrote %d bytes, stats say %d", len(f.events), f.st.Bytes)
	}
	byType := map[string]int{}
	var last int64
	for i, r := range f.recs {
		byType[r.typ]++
		if r.t < last {
			t.Fatalf("event %d at %d before the previous at %d: output not sorted by time", i, r.t, last)
		}
		last = r.t
		if r.id == "" || r.agent == "" || r.t == 0 {
			t.Fatalf("event %d lacks _id, agent_id or event_time: %+v", i, r)
		}
		if r.typ != "cloudtrail" && (r.host == "" || r.instance == "" || r.privateIP == "") {
			t.Fatalf("event %d (%s) lacks host metadata: %+v", i, r.typ, r)
		}
		switch r.typ {
		case "audit":
			if r.syscall == "" || r.exe == "" || r.user == "" || r.args == nil {
				t.Fatalf("audit event %d lacks typed fields: %+v", i, r)
			}
			if r.syscall == "execve" && (len(r.path) != 1 || r.path[0] != r.exe) {
				t.Fatalf("execve %d: path %q, exe %q", i, r.path, r.exe)
			}
		case "network":
			if r.srcIP == "" || r.dstIP == "" || r.dstPort == 0 {
				t.Fatalf("network event %d lacks addresses: %+v", i, r)
			}
		case "login", "logout":
			if r.user == "" || r.srcIP == "" || r.exe != "/usr/sbin/sshd" {
				t.Fatalf("%s event %d: %+v", r.typ, i, r)
			}
		case "file":
			if len(r.path) != 1 || r.action == "" {
				t.Fatalf("file event %d: %+v", i, r)
			}
		case "cloudtrail":
			if r.eventName == "" || r.userType == "" || r.userARN == "" || r.srcIP == "" || r.arnRole == "" {
				t.Fatalf("cloudtrail event %d lacks typed fields: %+v", i, r)
			}
		case "winsec", "sysmon":
		default:
			t.Fatalf("event %d has unexpected event_type %q", i, r.typ)
		}
	}
	for _, typ := range []string{"audit", "network", "login", "logout", "file", "cloudtrail", "winsec", "sysmon"} {
		if byType[typ] == 0 {
			t.Errorf("no %s events", typ)
		}
	}
	if byType["audit"] < len(f.recs)/4 {
		t.Errorf("only %d of %d events are audit", byType["audit"], len(f.recs))
	}
}

func TestWindowsTyped(t *testing.T) {
	// Windows hosts: a fleet big enough to have some, typed fields checked
	f := generate(t, Options{Seed: 3, Hosts: 30, Rate: 10, Start: time.Date(2022, 1, 3, 0, 0, 0, 0, time.UTC), Days: 1, Scenarios: []string{}})
	n := event.Normalizer{Now: func() int64 { return 0 }}
	var e event.Event
	records := map[string]int64{}
	seen := map[int64]bool{}
	for _, line := range bytes.Split(bytes.TrimSpace(f.events), []byte{'\n'}) {
		if err := n.Normalize(line, &e); err != nil {
			t.Fatal(err)
		}
		typ := e.Str[event.EventType]
		if typ != "winsec" && typ != "sysmon" {
			continue
		}
		if !e.Has(event.WinEventID) || !e.Has(event.RecordNumber) || !e.Has(event.SID) {
			t.Fatalf("windows event lacks typed fields: %s", line)
		}
		seen[e.Int[event.WinEventID]] = true
		key := e.Str[event.AgentID] + e.Str[event.Channel]
		if rn := e.Int[event.RecordNumber]; rn <= records[key] {
			t.Fatalf("record_number %d not increasing (previous %d) on %s", rn, records[key], key)
		}
		records[key] = e.Int[event.RecordNumber]
		if typ == "sysmon" && e.Str[event.Channel] != sysmonChannel {
			t.Fatalf("sysmon channel %q", e.Str[event.Channel])
		}
	}
	for _, id := range []int64{4624, 4672, 4688, 4689, 1, 3} {
		if !seen[id] {
			t.Errorf("no Windows event %d", id)
		}
	}
}

func TestEventSize(t *testing.T) {
	f := seedFleet(t)
	avg := float64(len(f.events)) / float64(len(f.recs))
	if avg < 1500 || avg > 2500 {
		t.Fatalf("average event is %.0f bytes, want 1.5-2.5 KB", avg)
	}
	for _, r := range f.recs {
		if r.size > 8000 {
			t.Fatalf("event %s is %d bytes", r.id, r.size)
		}
	}
}

func TestUniqueIDs(t *testing.T) {
	f := seedFleet(t)
	seen := make(map[string]bool, len(f.recs))
	for _, r := range f.recs {
		if seen[r.id] {
			t.Fatalf("duplicate _id %s", r.id)
		}
		seen[r.id] = true
		if len(r.id) != 36 || r.id[14] != '1' {
			t.Fatalf("_id %s is not a version-1 UUID", r.id)
		}
		if ms := uuidTimeMS(r.id); ms < r.t || ms > r.t+10000 {
			t.Fatalf("_id %s time %d is not just after the event time %d", r.id, ms, r.t)
		}
	}
}

type labelLine struct {
	ID        string `json:"_id"`
	Scenario  string `json:"scenario"`
	Step      string `json:"step"`
	AgentID   string `json:"agent_id"`
	Hostname  string `json:"hostname"`
	EventTime int64  `json:"event_time"`
	EventType string `json:"event_type"`
}

func (f *fleet) labelLines(t *testing.T) []labelLine {
	t.Helper()
	var ls []labelLine
	for _, line := range bytes.Split(bytes.TrimSpace(f.labels), []byte{'\n'}) {
		var l labelLine
		if err := json.Unmarshal(line, &l); err != nil {
			t.Fatalf("label %q: %v", line, err)
		}
		ls = append(ls, l)
	}
	return ls
}

func TestLabelsMatchEvents(t *testing.T) {
	f := seedFleet(t)
	byID := map[string]*rec{}
	for i := range f.recs {
		byID[f.recs[i].id] = &f.recs[i]
	}
	ls := f.labelLines(t)
	if int64(len(ls)) != f.st.ScenarioEvents {
		t.Fatalf("%d labels, stats say %d scenario events", len(ls), f.st.ScenarioEvents)
	}
	per := map[string]int{}
	for _, l := range ls {
		r := byID[l.ID]
		if r == nil {
			t.Fatalf("label %+v names no event", l)
		}
		if r.agent != l.AgentID || r.t != l.EventTime || r.host != l.Hostname || r.typ != l.EventType {
			t.Fatalf("label %+v does not match its event %+v", l, *r)
		}
		per[l.Scenario]++
	}
	for _, s := range AllScenarios {
		if per[s] == 0 {
			t.Errorf("no labels for %s", s)
		}
	}
}

func (f *fleet) labelled(t *testing.T, scenario string) map[string]labelLine {
	m := map[string]labelLine{}
	for _, l := range f.labelLines(t) {
		if l.Scenario == scenario {
			m[l.ID] = l
		}
	}
	return m
}

func isImplant(exe string) bool {
	return exe == "/tmp/nmap" || strings.HasPrefix(exe, "/tmp/sliver")
}

func TestSeed000(t *testing.T) {
	f := seedFleet(t)
	lab := f.labelled(t, Seed000)
	hosts := map[string]bool{}
	valentine := time.Date(2020, 2, 14, 0, 0, 0, 0, time.UTC).UnixMilli()
	var wget, gh, nmapFile, scp, c2 bool
	pre, post := map[string]bool{}, map[string]bool{}
	for _, r := range f.recs {
		if r.typ == "audit" && r.syscall == "execve" && isImplant(r.exe) {
			hosts[r.agent] = true
			if _, ok := lab[r.id]; !ok {
				t.Fatalf("unlabelled implant exec %+v", r)
			}
		}
		if r.agent != Seed000AgentID {
			continue
		}
		if r.typ == "audit" && r.syscall == "execve" {
			if r.t < valentine {
				pre[r.exe] = true
			} else {
				post[r.exe] = true
			}
		}
		switch {
		case r.exe == "/usr/bin/wget" && slices.Contains(r.args, "/tmp/nmap") && strings.Contains(r.arguments, "https://github.com/"):
			wget = r.t >= valentine && r.t < valentine+86400000
		case r.typ == "network" && r.exe == "/usr/bin/wget" && r.dstPort == 443 && slices.Contains(githubIPs, r.dstIP):
			gh = true
		case r.typ == "file" && r.action == "create" && r.path[0] == "/tmp/nmap":
			nmapFile = true
		case r.exe == "/usr/bin/scp" && r.arguments == "scp -t /tmp/":
			scp = true
		case r.typ == "network" && r.exe == "/tmp/sliver":
			c2 = true
		}
	}
	if len(hosts) != 3 || !hosts[Seed000AgentID] {
		t.Fatalf("nmap/sliver ran on %d hosts (%v), want 3 including %s", len(hosts), hosts, Seed000AgentID)
	}
	if !wget || !gh || !nmapFile || !scp || !c2 {
		t.Fatalf("seed 000 pieces missing: wget %v, github connection %v, /tmp/nmap created %v, scp -t %v, sliver C2 %v", wget, gh, nmapFile, scp, c2)
	}
	// the notebook's question: which executables are new since Feb 14?
	var added []string
	for exe := range post {
		if !pre[exe] {
			added = append(added, exe)
		}
	}
	slices.Sort(added)
	want := []string{"/tmp/EXCITED_WHILE", "/tmp/FRONT_RUN", "/tmp/SURROUNDING_LOCK", "/tmp/UNUSUAL_COMB", "/tmp/nmap", "/tmp/sliver", "/tmp/sliver2", "/usr/bin/scp", "/usr/bin/wget"}
	if !slices.Equal(added, want) {
		t.Fatalf("new executables on %s since Feb 14:\n got %q\nwant %q", Seed000AgentID, added, want)
	}
}

func TestSeed001(t *testing.T) {
	f := seedFleet(t)
	var login *rec
	var sudo, curl, describe, lateral, s3cp bool
	var ct = map[string]bool{}
	var victimIP string
	for i, r := range f.recs {
		if r.agent == Seed001AgentID {
			victimIP = r.privateIP
			if r.instance != Seed001Instance {
				t.Fatalf("victim's instance is %s", r.instance)
			}
			if r.typ == "login" && r.t == seed001Login {
				login = &f.recs[i]
			}
			if r.t >= seed001Login && r.t <= 1600362992764 && r.exe == "/usr/bin/sudo" {
				sudo = true
			}
			if r.exe == "/usr/bin/curl" && strings.HasSuffix(r.arguments, "security-credentials/"+Seed001Role) {
				curl = true
			}
			if r.typ == "audit" && strings.HasPrefix(r.arguments, "aws ec2 describe-instances") {
				describe = true
			}
			if r.typ == "file" && strings.Contains(r.path[0], ".aws/credentials") {
				t.Fatalf("credentials file event on the victim: %+v", r)
			}
		}
		if r.typ == "cloudtrail" && r.userType == "AssumedRole" {
			ct[r.eventName+" "+r.arnRole] = true
			if r.arnRole == "assumed-role/"+Seed001Role+"/"+Seed001Instance && r.userARN != "arn:aws:sts::"+FirstAccountID+":"+r.arnRole {
				t.Fatalf("userArn %s for arnRole %s", r.userARN, r.arnRole)
			}
		}
		if r.instance == Seed001Lateral {
			if r.typ == "login" && r.t > 1600362961000 && r.t < 1600363200000 && r.srcIP == victimIP && r.user == "ubuntu" {
				lateral = true
			}
			if r.arguments == "aws s3 cp s3://omg-my-cookies/secret-data.txt secret-data-copy.txt" {
				s3cp = true
			}
		}
	}
	if login == nil || login.user != "ubuntu" || strings.HasPrefix(login.srcIP, "10.") || !login.success {
		t.Fatalf("no external ubuntu login at %d on %s: %+v", seed001Login, Seed001AgentID, login)
	}
	if !sudo || !curl || !describe || !lateral || !s3cp {
		t.Fatalf("seed 001 pieces missing: sudo %v, metadata curl %v, describe-instances %v, lateral login %v, s3 cp %v", sudo, curl, describe, lateral, s3cp)
	}
	for _, k := range []string{
		"DescribeInstances assumed-role/ec2VpcRole/i-08c9216f243e53fd4",
		"ListBuckets assumed-role/myS3Reader/i-03128a5b8b894002a",
		"ListObjects assumed-role/myS3Reader/i-03128a5b8b894002a",
		"GetObject assumed-role/myS3Reader/i-03128a5b8b894002a",
	} {
		if !ct[k] {
			t.Errorf("no AssumedRole CloudTrail event %s", k)
		}
	}
}

func TestSeed003(t *testing.T) {
	f := seedFleet(t)
	lab := f.labelled(t, Seed003)
	var steps []string
	var agent string
	var cronFile, loginExternal bool
	for _, r := range f.recs {
		l, ok := lab[r.id]
		if !ok {
			continue
		}
		if agent == "" {
			agent = r.agent
		} else if r.agent != agent {
			t.Fatalf("seed 003 spans hosts %s and %s", agent, r.agent)
		}
		if r.typ == "login" && !strings.HasPrefix(r.srcIP, "10.") {
			loginExternal = true
		}
		if r.typ == "audit" && l.Step != "cron persistence run" && r.exe != "/bin/bash" {
			steps = append(steps, r.arguments)
		}
		if r.typ == "file" && r.path[0] == "/var/spool/cron/crontabs/ubuntu" {
			cronFile = true
		}
	}
	want := []string{"uname -a", "lscpu", "ifconfig", "cat /etc/passwd", "ls -la /var/mail", "wget http://", "chmod +x", "crontab -l", "grep", "crontab -"}
	if len(steps) != len(want) {
		t.Fatalf("seed 003 commands %q, want %d", steps, len(want))
	}
	for i, w := range want {
		if !strings.HasPrefix(steps[i], w) {
			t.Fatalf("seed 003 command %d is %q, want %q...; all: %q", i, steps[i], w, steps)
		}
	}
	if !cronFile || !loginExternal {
		t.Fatalf("crontab file write %v, external login %v", cronFile, loginExternal)
	}
}

func TestNoScenarios(t *testing.T) {
	f := generate(t, Options{Seed: 1, Hosts: 8, Rate: 8, Start: time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC), Days: 4, Scenarios: []string{}})
	if len(f.labels) != 0 || f.st.ScenarioEvents != 0 {
		t.Fatalf("benign fleet has %d scenario events", f.st.ScenarioEvents)
	}
	f.parse(t)
	for _, r := range f.recs {
		if strings.HasPrefix(r.exe, "/tmp/") {
			t.Fatalf("benign fleet ran %s", r.exe)
		}
	}
}

func TestCustomWindow(t *testing.T) {
	start := time.Date(2023, 3, 6, 0, 0, 0, 0, time.UTC)
	f := generate(t, Options{Seed: 5, Hosts: 10, Rate: 8, Start: start, Days: 5})
	f.parse(t)
	end := start.Add(5 * 24 * time.Hour).UnixMilli()
	for _, r := range f.recs {
		if r.t < start.UnixMilli() || r.t >= end {
			t.Fatalf("event at %s outside the window", time.UnixMilli(r.t).UTC())
		}
	}
	day := func(ms int64) int { return int((ms - start.UnixMilli()) / 86400000) }
	days := map[string]map[int]bool{}
	var login001 int64
	for _, l := range f.labelLines(t) {
		if days[l.Scenario] == nil {
			days[l.Scenario] = map[int]bool{}
		}
		if l.Step != "c2 beacon sliver" && !strings.HasPrefix(l.Step, "c2 beacon") {
			days[l.Scenario][day(l.EventTime)] = true
		}
		if l.Scenario == Seed001 && l.Step == "ssh login with stolen key" && l.EventType == "login" {
			login001 = l.EventTime
			if l.AgentID != Seed001AgentID {
				t.Fatalf("seed 001 login on %s", l.AgentID)
			}
		}
	}
	// away from the seeds' dates the implants get random ADJECTIVE_NOUN names
	var implants []string
	for _, r := range f.recs {
		if r.agent == Seed000AgentID && strings.HasPrefix(r.exe, "/tmp/") && r.typ == "audit" && !isImplant(r.exe) && !slices.Contains(implants, r.exe) {
			implants = append(implants, r.exe)
		}
	}
	if len(implants) != 4 {
		t.Fatalf("implants %q, want 4", implants)
	}
	for _, exe := range implants {
		name := strings.TrimPrefix(exe, "/tmp/")
		adj, noun, ok := strings.Cut(name, "_")
		if !ok || !slices.Contains(adjectives, adj) || !slices.Contains(nouns, noun) || slices.Contains(seed000Names, name) {
			t.Fatalf("implant %s is not a fresh ADJECTIVE_NOUN name", exe)
		}
	}
	if !days[Seed000][2] || days[Seed000][0] || days[Seed000][1] {
		t.Fatalf("seed 000 on days %v, want from day 2 (days-3)", days[Seed000])
	}
	if !days[Seed001][4] || len(days[Seed001]) != 1 || !days[Seed003][4] {
		t.Fatalf("seed 001 on days %v, seed 003 on %v, want the last day", days[Seed001], days[Seed003])
	}
	if want := start.UnixMilli() + 4*86400000 + seed001Login%86400000; login001 != want {
		t.Fatalf("seed 001 login at %d, want %d", login001, want)
	}
}

func TestOptions(t *testing.T) {
	bad := []Options{
		{Hosts: 3},                               // too few for the scenarios
		{Hosts: 10, Scenarios: []string{"nope"}}, // unknown scenario
		{Hosts: 2, Orgs: 3},                      // more orgs than hosts
		{Hosts: -1},
	}
	for _, o := range bad {
		if _, err := Generate(context.Background(), o, io.Discard, nil); err == nil {
			t.Errorf("Generate(%+v) succeeded", o)
		}
	}
	// a few hosts are fine without scenarios
	if _, err := Generate(context.Background(), Options{Hosts: 2, Days: 1, Rate: 5, Scenarios: []string{}}, io.Discard, nil); err != nil {
		t.Errorf("small benign fleet: %v", err)
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n++; w.n > 2 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	_, err := Generate(context.Background(), Options{Hosts: 10, Days: 2, Rate: 50, Start: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)}, &failWriter{}, nil)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v, want the writer's error", err)
	}
}

func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Generate(ctx, Options{}, io.Discard, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func BenchmarkGenerate(b *testing.B) {
	opts := Options{Seed: 1, Hosts: 50, Rate: 200, Start: time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC), Days: 1}
	st, err := Generate(context.Background(), opts, io.Discard, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Bytes)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Generate(context.Background(), opts, io.Discard, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(st.Events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// --scenarios none plants nothing, even when the options are normalised twice.
func TestNoScenariosStaysNone(t *testing.T) {
	o, err := Options{Hosts: 4, Rate: 5, Start: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), Days: 1, Scenarios: []string{}}.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	var ev, lb bytes.Buffer
	st, err := Generate(context.Background(), o, &ev, &lb)
	if err != nil {
		t.Fatal(err)
	}
	if st.ScenarioEvents != 0 || lb.Len() != 0 {
		t.Errorf("%d scenario events, %d label bytes; want none", st.ScenarioEvents, lb.Len())
	}
}
