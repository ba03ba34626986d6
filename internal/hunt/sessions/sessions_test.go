package sessions

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/gen"
	"github.com/spoor-dev/spoor/internal/hunt"
	"github.com/spoor-dev/spoor/internal/ingest"
)

const org = "o"

const allTime = int64(1) << 60

func openDB(t *testing.T) *datadir.DB {
	t.Helper()
	db, err := datadir.Open(context.Background(), t.TempDir(), datadir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	return db
}

// load ingests srcs into db's organization org.
func load(t *testing.T, db *datadir.DB, host string, srcs ...ingest.Source) {
	t.Helper()
	sink := func(ctx context.Context, evs []*event.Event) (int, int, error) {
		res, err := db.Lake.Append(ctx, evs)
		return res.Stored, res.Duplicates, err
	}
	sum, err := ingest.RunSources(context.Background(), srcs, sink, ingest.Options{Org: org, ForceOrg: true, Host: host})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.FileErrors) > 0 {
		t.Fatalf("ingest: %v", sum.FileErrors)
	}
	if err := db.Lake.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func query(t *testing.T, db *datadir.DB, q string, args ...any) hunt.Table {
	t.Helper()
	tb, err := hunt.Query(context.Background(), db, org, 0, allTime, q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return tb
}

func col(tb hunt.Table, name string) int {
	return slices.Index(tb.Columns, name)
}

type label struct {
	ID        string `json:"_id"`
	Scenario  string `json:"scenario"`
	Step      string `json:"step"`
	AgentID   string `json:"agent_id"`
	EventTime int64  `json:"event_time"`
	EventType string `json:"event_type"`
}

// On a generated fleet, seed003's ssh login from the attacker is an
// external session and its tree holds the scenario's commands in order.
func TestSeed003Session(t *testing.T) {
	ctx := context.Background()
	var ev, lb bytes.Buffer
	if _, err := gen.Generate(ctx, gen.Options{Seed: 7, Hosts: 8, Rate: 10, Scenarios: []string{gen.Seed003}}, &ev, &lb); err != nil {
		t.Fatal(err)
	}
	db := openDB(t)
	load(t, db, "", ingest.ReaderSource("fleet.ndjson", &ev))

	var labels []label
	sc := bufio.NewScanner(&lb)
	for sc.Scan() {
		var l label
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		if l.Scenario == gen.Seed003 {
			labels = append(labels, l)
		}
	}
	var login label
	var logout int64
	for _, l := range labels {
		switch {
		case l.Step == "external ssh login" && l.EventType == "login":
			login = l
		case l.Step == "logout":
			logout = l.EventTime
		}
	}
	if login.ID == "" || logout == 0 {
		t.Fatal("no labelled seed003 login and logout")
	}
	src := query(t, db, "SELECT src_ip, session FROM events WHERE _id = ?", login.ID)
	if len(src.Rows) != 1 {
		t.Fatalf("labelled login %s not stored", login.ID)
	}
	attacker := src.Rows[0][0].(string)
	ses := src.Rows[0][1].(int64)

	from, to := login.EventTime-3600_000, login.EventTime+3600_000
	start := time.Now()
	tb, err := Sessions(ctx, db, org, login.AgentID, from, to)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Sessions: %d sessions in %v", len(tb.Rows), time.Since(start))
	if !slices.Equal(tb.Columns, SessionColumns) {
		t.Fatalf("columns %v", tb.Columns)
	}
	var row []any
	for i, r := range tb.Rows {
		if i > 0 && r[4].(time.Time).Before(tb.Rows[i-1][4].(time.Time)) {
			t.Errorf("sessions not ordered by start at row %d", i)
		}
		if r[0].(int64) == ses {
			row = r
		}
		if ip, _ := r[2].(string); ip != attacker && r[3] == true {
			t.Errorf("session %v from %q flagged external", r[0], ip)
		}
	}
	if row == nil {
		t.Fatalf("session %d of the labelled login not listed: %v", ses, tb.Rows)
	}
	t.Logf("session: %v", row)
	if row[2] != attacker || row[3] != true || row[1] != "ubuntu" {
		t.Errorf("session %d: src_ip %v external %v user %v, want %s true ubuntu", ses, row[2], row[3], row[1], attacker)
	}
	if s := row[4].(time.Time).UnixMilli(); s != login.EventTime {
		t.Errorf("start %d, want the login's %d", s, login.EventTime)
	}
	if e, ok := row[5].(time.Time); !ok || e.UnixMilli() != logout {
		t.Errorf("end %v, want the logout's %d", row[5], logout)
	}

	// the labelled commands of the session, by time
	var ids []any
	for _, l := range labels {
		if l.EventType == "audit" && l.EventTime >= login.EventTime && l.EventTime <= logout {
			ids = append(ids, l.ID)
		}
	}
	want := query(t, db, "SELECT exe, arguments FROM events WHERE _id IN (SELECT unnest(?::VARCHAR[])) ORDER BY event_time, _id", ids)
	if len(want.Rows) < 10 {
		t.Fatalf("only %d labelled commands", len(want.Rows))
	}
	if row[6] != int64(len(want.Rows)) {
		t.Errorf("processes %v, want %d", row[6], len(want.Rows))
	}
	if row[7] != want.Rows[0][1] {
		t.Errorf("first_command %v, want %v", row[7], want.Rows[0][1])
	}

	tr, err := Tree(ctx, db, org, login.AgentID, ses, 0, from, to)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range tr.Rows {
		t.Logf("%-30v %v", r[len(r)-1], r[4])
	}
	if len(tr.Rows) != len(want.Rows) {
		t.Fatalf("tree has %d processes, want %d", len(tr.Rows), len(want.Rows))
	}
	byTime := slices.Clone(tr.Rows)
	sort.SliceStable(byTime, func(i, j int) bool { return byTime[i][6].(time.Time).Before(byTime[j][6].(time.Time)) })
	for i, w := range want.Rows {
		if byTime[i][3] != w[0] || byTime[i][4] != w[1] {
			t.Errorf("process %d: %v %v, want %v %v", i, byTime[i][3], byTime[i][4], w[0], w[1])
		}
	}
	// the login shell is the root; every command is its child
	if tr.Rows[0][0] != int64(0) || tr.Rows[0][4] != "-bash" {
		t.Errorf("root %v", tr.Rows[0])
	}
	for _, r := range tr.Rows[1:] {
		if r[0] != int64(1) || r[2] != tr.Rows[0][1] {
			t.Errorf("not a child of the login shell: %v", r)
		}
	}
	// the subtree under the shell's pid is the same tree
	sub, err := Tree(ctx, db, org, login.AgentID, 0, tr.Rows[0][1].(int64), from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Rows) != len(tr.Rows) {
		t.Errorf("subtree under pid %v: %d processes, want %d", tr.Rows[0][1], len(sub.Rows), len(tr.Rows))
	}
}
