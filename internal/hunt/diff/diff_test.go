package diff

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/hunt"
	"github.com/spoor-dev/spoor/internal/hunt/hunttest"
)

const (
	org    = "5a8c4a54e11909bd290021ed"
	victim = "b0f6bdb2-9904-11e9-b036-25972ec55a45"
)

// fleet is the shared generated fleet (package hunttest) with its
// labelled events by _id.
type fleet struct {
	db     *datadir.DB
	labels []hunttest.Label
	events map[string]map[string]any
}

func testFleet(t *testing.T) fleet {
	t.Helper()
	b := hunttest.Shared(t)
	f := fleet{db: b.DB, labels: b.Labels, events: map[string]map[string]any{}}
	for _, l := range b.Labels {
		line, ok := b.Line(l.ID)
		if !ok {
			t.Fatalf("labelled event %s not generated", l.ID)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		f.events[l.ID] = m
	}
	return f
}

func TestMain(m *testing.M) { hunttest.Main(m) }

func ms(s string) int64 {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UnixMilli()
}

func TestNormalizeArgs(t *testing.T) {
	for in, want := range map[string]string{
		"sleep 30":                  "sleep <n>",
		"kill -9 12345":             "kill -<n> <n>",
		"cat /tmp/tmp.aZ3kd9Qx":     "cat /tmp/<rand>",
		"rm -rf /dev/shm/x81k22":    "rm -rf /dev/shm/<rand>",
		"/tmp/nmap -sS 10.0.1.0/24": "/tmp/nmap -sS <n>.<n>.<n>.<n>/<n>",
		"run --id 3f2b8c1e-1d2a-4c5b-9e7f-0a1b2c3d4e5f": "run --id <uuid>",
		"mem 0x7ffd1234 deadbeef00 face":                "mem <hex> <hex> face",
		"bash -c scp -t /tmp/":                          "bash -c scp -t /tmp/",
	} {
		if got := NormalizeArgs(in); got != want {
			t.Errorf("NormalizeArgs(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSeed000 diffs the attacked host's window against its own baseline:
// every executable and outbound destination of the labelled attack events
// is new.
func TestSeed000(t *testing.T) {
	f := testFleet(t)
	ctx := context.Background()
	o := Options{Host: victim,
		BaselineFrom: ms("2020-02-05T00:00:00Z"), BaselineTo: ms("2020-02-14T00:00:00Z") - 1,
		WindowFrom: ms("2020-02-14T00:00:00Z"), WindowTo: ms("2020-02-17T00:00:00Z") - 1}
	start := time.Now()
	tab, err := Run(ctx, f.db, org, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("diff took %v, %d items", time.Since(start), len(tab.Rows))
	if strings.Join(tab.Columns, ",") != strings.Join(Columns, ",") {
		t.Fatalf("columns %v", tab.Columns)
	}
	items := map[string]map[string]bool{} // category -> item
	for _, r := range tab.Rows {
		c, it := r[0].(string), r[1].(string)
		if items[c] == nil {
			items[c] = map[string]bool{}
		}
		items[c][it] = true
		if r[6] != "new" {
			t.Errorf("status %v without Disappeared", r[6])
		}
		t.Logf("%-12s %-70.70s %v n=%v hosts=%v", c, it, r[2], r[3], r[5])
	}

	// Recall: each labelled process start's exe appears in a new item
	// (as an executable, a command or a parent -> child pair), and each
	// labelled outbound connection's destination and each labelled
	// login's source is new.
	inItem := func(exe string) bool {
		for _, c := range []string{Executables, Commands, ParentChild} {
			for it := range items[c] {
				if it == exe || strings.HasPrefix(it, exe+" ") || strings.HasSuffix(it, "-> "+exe) {
					return true
				}
			}
		}
		return false
	}
	want, hit := 0, 0
	labelledIDs := map[string]bool{}
	for _, l := range f.labels {
		if l.Scenario != "seed000" || l.AgentID != victim {
			continue
		}
		labelledIDs[l.ID] = true
		e := f.events[l.ID]
		if e == nil {
			t.Fatalf("labelled event %s not generated", l.ID)
		}
		s := func(k string) string { v, _ := e[k].(string); return v }
		var ok bool
		switch {
		case l.EventType == "audit" && s("syscall") == "execve":
			ok = inItem(s("exe"))
		case l.EventType == "network" && s("direction") == "outbound":
			port, _ := e["dst_port"].(float64)
			ok = items[Outbound][s("dst_ip")+":"+strconv.Itoa(int(port))]
		case l.EventType == "login":
			ok = items[Logins][s("src_ip")]
		default:
			continue
		}
		want++
		if ok {
			hit++
		} else {
			t.Errorf("labelled %s event %s (step %q, exe %s, dst %s) is in no new item", l.EventType, l.ID, l.Step, s("exe"), s("dst_ip"))
		}
	}
	if want == 0 {
		t.Fatal("no labelled seed000 events on the victim")
	}
	t.Logf("recall %d/%d = %.0f%%", hit, want, 100*float64(hit)/float64(want))
	fromAttack := 0
	for _, r := range tab.Rows {
		if labelledIDs[r[4].(string)] {
			fromAttack++
		} else {
			t.Logf("not from a labelled event: %s %s", r[0], r[1])
		}
	}
	// Precision: share of new items whose example (first) event is a
	// labelled attack event.
	t.Logf("precision %d/%d = %.0f%% of new items come from labelled events", fromAttack, len(tab.Rows), 100*float64(fromAttack)/float64(max(1, len(tab.Rows))))
	for _, x := range []string{"/tmp/nmap", "/tmp/sliver", "/usr/bin/wget", "/usr/bin/scp"} {
		if !items[Executables][x] {
			t.Errorf("new executables lack %s", x)
		}
	}
	if !items[Files]["/tmp/nmap"] && len(items[Files]) == 0 {
		t.Errorf("no new sensitive file writes")
	}
}

func TestAgainstHostAndGone(t *testing.T) {
	f := testFleet(t)
	ctx := context.Background()
	w := Options{Host: victim, AgainstHost: victim, WindowFrom: ms("2020-02-14T00:00:00Z"), WindowTo: ms("2020-02-17T00:00:00Z")}
	tab, err := Run(ctx, f.db, org, w)
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 0 {
		t.Errorf("a host compared with itself has %d new items", len(tab.Rows))
	}
	// by hostname, against another host of the fleet: the attack is new
	w = Options{Host: "ip-10-0-1-65.ec2.internal", AgainstHost: "ip-10-0-3-212.ec2.internal", Categories: []string{Executables},
		WindowFrom: ms("2020-02-14T00:00:00Z"), WindowTo: ms("2020-02-17T00:00:00Z")}
	if tab, err = Run(ctx, f.db, org, w); err != nil {
		t.Fatal(err)
	}
	var exes []string
	for _, r := range tab.Rows {
		exes = append(exes, r[1].(string))
	}
	if !slices.Contains(exes, "/tmp/nmap") || slices.Contains(exes, "/tmp/sliver") {
		t.Errorf("against a host that ran sliver but not nmap: new executables %v", exes)
	}
	o := Options{Host: victim, Categories: []string{Executables}, Disappeared: true,
		BaselineFrom: ms("2020-02-14T00:00:00Z"), BaselineTo: ms("2020-02-17T00:00:00Z"),
		WindowFrom: ms("2020-02-05T00:00:00Z"), WindowTo: ms("2020-02-14T00:00:00Z") - 1}
	tab, err = Run(ctx, f.db, org, o)
	if err != nil {
		t.Fatal(err)
	}
	gone := map[string]bool{}
	for _, r := range tab.Rows {
		if r[0] != Executables {
			t.Errorf("category %v outside the one asked for", r[0])
		}
		if r[6] == "gone" {
			gone[r[1].(string)] = true
		}
	}
	if !gone["/tmp/nmap"] {
		t.Errorf("swapped ranges with Disappeared: /tmp/nmap not gone: %v", gone)
	}
	o.Categories, o.Disappeared = []string{ParentChild}, false
	if tab, err = Run(ctx, f.db, org, o); err != nil {
		t.Errorf("parent_child alone: %v", err)
	}
	for _, r := range tab.Rows {
		if r[0] != ParentChild || r[5].(int64) < 1 {
			t.Errorf("parent_child alone: row %v", r)
		}
	}
	if _, err := Run(ctx, f.db, org, Options{Host: victim, Categories: []string{"nope"}, WindowTo: 1, BaselineTo: 1}); err == nil {
		t.Error("unknown category accepted")
	}
}

// DuckDB's rewrite of command lines (in the scan) agrees with NormalizeArgs.
func TestNormalizeArgsSQLAgrees(t *testing.T) {
	f := testFleet(t)
	for _, in := range []string{"sleep 30", "kill -9 12345", "cat /tmp/tmp.aZ3kd9Qx", "rm -rf /dev/shm/x81k22 /var/tmp/a1b2",
		"/tmp/nmap -sS 10.0.1.0/24", "run --id 3F2B8C1E-1D2A-4C5B-9E7F-0A1B2C3D4E5F", "mem 0x7ffd1234 deadbeef00 face", "it's"} {
		tab, err := hunt.Query(context.Background(), f.db, org, 0, 1, "SELECT "+normSQL("CAST($1 AS VARCHAR)"), in)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := tab.Rows[0][0], NormalizeArgs(in); got != want {
			t.Errorf("%q: SQL %q, Go %q", in, got, want)
		}
	}
}
