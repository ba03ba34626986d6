package datadir

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/alert"
)

// benchJournal fills the alerts journal of org with n alerts of 20 events
// each, as detection over a large ingest leaves it.
func benchJournal(b *testing.B, db *DB, org string, n int) {
	b.Helper()
	db.Alerts.DeferSync = true
	at := time.Date(2020, 9, 13, 12, 0, 0, 0, time.UTC).UnixMilli()
	var hits []alert.Hit
	for i := range n {
		for j := range 20 {
			hits = append(hits, alert.Hit{Rule: "bench-rule", Kind: "native", Title: "A benchmark alert", Severity: 2,
				Window: time.Hour, Threshold: 1, GroupKey: fmt.Sprintf("src_ip=\"10.0.%d.%d\"", i/250, i%250),
				EventID: fmt.Sprintf("ev-%d-%d", i, j), EventTime: at + int64(j)*1000, Hostname: "web-1", AgentID: "a1"})
		}
		if len(hits) >= 20_000 || i == n-1 {
			if _, err := db.Alerts.Observe(org, hits); err != nil {
				b.Fatal(err)
			}
			hits = hits[:0]
		}
	}
	if err := db.Alerts.Sync(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOpenQuery is the fixed cost of one command line's query: open
// the data directory, run one statement, close. With a large alerts journal
// beside the events it should cost what it costs without one, unless the
// statement reads alerts: the journal is loaded only by what uses it, and
// the alerts view is bound only for statements that name it.
func BenchmarkOpenQuery(b *testing.B) {
	ctx := context.Background()
	queries := []struct{ name, sql string }{
		{"select1", "SELECT 1"},
		{"needle", "SELECT _id FROM events WHERE agent_id = 'a1' AND event_time >= make_timestamp(1600007200000000) AND event_time <= make_timestamp(1600007290000000)"},
		{"alerts", "SELECT count(*) FROM alerts"},
	}
	for _, journal := range []int{0, 50_000} {
		dir := b.TempDir()
		db, err := Open(ctx, dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		fill(b, db, "o1", 24)
		if journal > 0 {
			benchJournal(b, db, "o1", journal)
		}
		if err := db.Close(ctx); err != nil {
			b.Fatal(err)
		}
		for _, q := range queries {
			b.Run(fmt.Sprintf("alerts=%d/%s", journal, q.name), func(b *testing.B) {
				for b.Loop() {
					db, err := Open(ctx, dir, Options{})
					if err != nil {
						b.Fatal(err)
					}
					rows, err := db.UserQuery(ctx, "o1", 0, maxMS, q.sql)
					if err != nil {
						b.Fatal(err)
					}
					n := 0
					for rows.Next() {
						n++
					}
					if err := rows.Err(); err != nil || n == 0 {
						b.Fatalf("%s: %d rows, %v", q.name, n, err)
					}
					rows.Close()
					if err := db.Close(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
