package logins

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/ingest"
)

const org = "o"

const allTime = int64(1) << 60

// loadFiles ingests files into a new data directory.
func loadFiles(t *testing.T, files ...string) *datadir.DB {
	t.Helper()
	ctx := context.Background()
	db, err := datadir.Open(ctx, t.TempDir(), datadir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close(context.Background()) })
	sink := func(ctx context.Context, evs []*event.Event) (int, int, error) {
		res, err := db.Lake.Append(ctx, evs)
		return res.Stored, res.Duplicates, err
	}
	var srcs []ingest.Source
	for _, f := range files {
		srcs = append(srcs, ingest.FileSource(f))
	}
	sum, err := ingest.RunSources(ctx, srcs, sink, ingest.Options{Org: org, ForceOrg: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.FileErrors) > 0 {
		t.Fatalf("ingest: %v", sum.FileErrors)
	}
	if err := db.Lake.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}

// rows runs Run and keys its rows by source and account.
func rows(t *testing.T, db *datadir.DB, host string) map[string]map[string]any {
	t.Helper()
	tb, err := Run(context.Background(), db, org, host, 0, allTime)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tb.Columns, Columns) {
		t.Fatalf("columns %v", tb.Columns)
	}
	out := map[string]map[string]any{}
	for _, r := range tb.Rows {
		t.Log(r)
		m := map[string]any{}
		for i, c := range tb.Columns {
			m[c] = r[i]
		}
		out[r[0].(string)+" "+r[2].(string)] = m
	}
	return out
}

type want struct {
	failures, successes int64
	after               any // succeeded_after_failures: int64 or nil
	external            bool
	srcFailures         int64
}

func check(t *testing.T, got map[string]map[string]any, wants map[string]want) {
	t.Helper()
	for k, w := range wants {
		r := got[k]
		if r == nil {
			t.Errorf("%s: no row", k)
			continue
		}
		if r["failures"] != w.failures || r["successes"] != w.successes || r["succeeded_after_failures"] != w.after ||
			r["external"] != w.external || r["source_failures"] != w.srcFailures {
			t.Errorf("%s: failures %v successes %v after %v external %v source failures %v; want %+v",
				k, r["failures"], r["successes"], r["succeeded_after_failures"], r["external"], r["source_failures"], w)
		}
	}
	if len(got) != len(wants) {
		t.Errorf("%d rows, want %d", len(got), len(wants))
	}
}

// An SSH brute force in raw auditd: failed USER_AUTH per password tried
// (sshd's USER_LOGIN failure after them not counted twice), an invalid
// user, then ubuntu's password works.
func TestBruteForceAuditd(t *testing.T) {
	db := loadFiles(t, "testdata/bruteforce_audit.log")
	got := rows(t, db, "bastion")
	check(t, got, map[string]want{
		"198.51.100.7 root":   {6, 0, nil, true, 8},
		"198.51.100.7 ?":      {1, 0, nil, true, 8},
		"198.51.100.7 admin":  {1, 0, nil, true, 8},
		"198.51.100.7 ubuntu": {0, 1, int64(8), true, 8},
		"10.0.0.5 ubuntu":     {0, 1, nil, false, 0},
	})
	r := got["198.51.100.7 ubuntu"]
	if h, _ := r["hosts"].([]string); !slices.Equal(h, []string{"bastion"}) {
		t.Errorf("hosts %v", r["hosts"])
	}
	first, _ := got["198.51.100.7 root"]["first_seen"].(time.Time)
	last, _ := got["198.51.100.7 root"]["last_seen"].(time.Time)
	if first.UnixMilli() != 1700100000_000 || last.UnixMilli() != 1700100000_000+2*1700+700 {
		t.Errorf("root from 198.51.100.7: %v..%v", first, last)
	}
	if other := rows(t, db, "elsewhere"); len(other) != 0 {
		t.Errorf("another host has %d rows", len(other))
	}
}

// The same in Windows Security: ten 4625 for Administrator, then a 4624.
func TestBruteForceWindows(t *testing.T) {
	db := loadFiles(t, "testdata/bruteforce_security.json")
	check(t, rows(t, db, ""), map[string]want{
		"198.51.100.8 Administrator": {10, 1, int64(10), true, 10},
		"10.9.9.9 guest":             {1, 0, nil, false, 1},
	})
}
