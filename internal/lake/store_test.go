package lake

import (
	"context"
	"database/sql"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/engine"
	"github.com/spoor-dev/spoor/internal/event"
)

func normalizeAll(t testing.TB, lines [][]byte) []*event.Event {
	t.Helper()
	n := event.Normalizer{Org: "org-default", Now: func() int64 { return 1700000000000 }}
	var out []*event.Event
	for _, l := range lines {
		e := new(event.Event)
		if err := n.Normalize(l, e); err != nil {
			t.Fatalf("normalize %.60s: %v", l, err)
		}
		out = append(out, e)
	}
	return out
}

func openStore(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSeedSamplesRoundTrip stores the three samples of seeds/002, reads them
// back through DuckDB and checks every original field is reachable: typed
// ones typed in their columns, the rest in raw, and the whole event
// rebuilt equal to the source.
func TestSeedSamplesRoundTrip(t *testing.T) {
	ctx := context.Background()
	samples := seedSamples(t)
	dir := t.TempDir()
	s := openStore(t, dir)
	res, err := s.Append(ctx, normalizeAll(t, samples))
	if err != nil || res.Stored != 3 {
		t.Fatalf("append: %+v %v", res, err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir)
	defer s.Close(ctx)

	eng, err := engine.Open(ctx, engine.Options{AllowedDir: s.LakeDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()

	for _, raw := range samples {
		var orig map[string]any
		json.Unmarshal(raw, &orig)
		org := orig["organization_id"].(string)
		files := s.Parts(org, 0, 1<<62)
		if len(files) == 0 {
			t.Fatalf("no parts for org %s", org)
		}
		rows, err := eng.Query(ctx, engine.Scope{Org: org, Files: files},
			`SELECT "_id", agent_id, event_time, pid, exe, args, success, hostname, raw, typeof(pid), typeof(event_time), typeof(args) FROM events WHERE "_id" = ?`, orig["_id"])
		if err != nil {
			t.Fatal(err)
		}
		if !rows.Next() {
			t.Fatalf("event %v not found", orig["_id"])
		}
		var id, agent, exe, hostname, rawCol, tPid, tTime, tArgs string
		var et time.Time
		var pid sql.NullInt64
		var args any
		var success sql.NullBool
		if err := rows.Scan(&id, &agent, &et, &pid, &exe, &args, &success, &hostname, &rawCol, &tPid, &tTime, &tArgs); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if tPid != "BIGINT" || tTime != "TIMESTAMP" || tArgs != "VARCHAR[]" {
			t.Errorf("column types pid %s, event_time %s, args %s", tPid, tTime, tArgs)
		}
		if et.UnixMilli() != int64(orig["event_time"].(float64)) {
			t.Errorf("event_time %v, want %v", et.UnixMilli(), orig["event_time"])
		}
		if pid.Int64 != int64(orig["pid"].(float64)) || exe != orig["exe"] || agent != orig["agent_id"] {
			t.Errorf("typed fields: pid %v exe %q agent %q", pid, exe, agent)
		}
		if want := orig["host_metadata"].(map[string]any)["hostname"]; hostname != want {
			t.Errorf("hostname %q, want %q", hostname, want)
		}
		if oa, ok := orig["args"]; ok && !reflect.DeepEqual(toStrings(args), toStrings(oa)) {
			t.Errorf("args %v, want %v", args, oa)
		}
		if _, lifted := orig["exe"]; lifted {
			var r map[string]any
			json.Unmarshal([]byte(rawCol), &r)
			if _, dup := r["exe"]; dup {
				t.Errorf("raw repeats the lifted field exe")
			}
			if _, ok := r["host_metadata"]; !ok {
				t.Errorf("raw lost host_metadata")
			}
		}
	}

	// The whole original comes back from the head-free store via WAL codec
	// and via Original().
	for i, e := range normalizeAll(t, samples) {
		var a, b any
		json.Unmarshal(samples[i], &a)
		if err := json.Unmarshal(e.Original(), &b); err != nil {
			t.Fatalf("original is not JSON: %v", err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("sample %d: original differs after normalisation:\n got %s\nwant %s", i, e.Original(), samples[i])
		}
		dec, err := decodeBatch(encodeBatch(nil, []*event.Event{e}))
		if err != nil || !reflect.DeepEqual(dec[0].Original(), e.Original()) {
			t.Errorf("sample %d: wal codec round trip: %v", i, err)
		}
	}
}

func toStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// Dedupe holds across more days than keep their sets in memory: a day's
// set, dropped, is rebuilt from its parts and the head.
func TestDedupeAcrossManyDays(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, t.TempDir())
	defer s.Close(ctx)
	const days = 3 * maxIDDays
	batch := func() []*event.Event {
		var evs []*event.Event
		for d := range days {
			evs = append(evs, synth(t, "o1", 5, 1600000000000+int64(d)*86400_000, 1700000000000)...)
		}
		return evs
	}
	for round, flush := range []bool{false, true, false} {
		res, err := s.Append(ctx, batch())
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		if round == 0 {
			want = 5 * days
		}
		if res.Stored != want || res.Duplicates != 5*days-want {
			t.Fatalf("round %d: %+v, want %d stored", round, res, want)
		}
		if len(s.ids) > maxIDDays {
			t.Errorf("round %d: %d days of dedupe sets in memory, want at most %d", round, len(s.ids), maxIDDays)
		}
		if flush {
			if err := s.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	// synth's _ids repeat from day to day: dedupe is within an hour, so
	// count distinct (_id, hour) pairs.
	if n, _ := count(t, s, "o1"); n != 5*days {
		t.Errorf("%d events, want %d", n, 5*days)
	}
}
