package datadir

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/parquet-go/parquet-go"
)

// oldRow is a part as an older spoor with a smaller catalog wrote it.
type oldRow struct {
	ID         string `parquet:"_id"`
	AgentID    string `parquet:"agent_id,optional"`
	EventTime  int64  `parquet:"event_time,timestamp(millisecond)"`
	InsertTime int64  `parquet:"_insert_time,timestamp(millisecond)"`
	EventType  string `parquet:"event_type,optional"`
	Exe        string `parquet:"exe,optional"`
	Raw        string `parquet:"raw,json"`
	Lifted     int64  `parquet:"_lifted"`
}

// Parts written by an older spoor lack later columns: queries show NULL
// there and still read every event, beside parts of the current schema.
func TestLegacyPartsWithFewerColumns(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	pdir := filepath.Join(dir, "lake", "events", "organization_id=o1", "date_key=2020-09-13-12")
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		t.Fatal(err)
	}
	id := ulid.MustNew(ulid.Timestamp(time.Now().Add(-time.Hour)), nil)
	f, err := os.Create(filepath.Join(pdir, "part-"+id.String()+".parquet"))
	if err != nil {
		t.Fatal(err)
	}
	w := parquet.NewGenericWriter[oldRow](f)
	w.Write([]oldRow{{ID: "old-1", AgentID: "a", EventTime: 1600000000000, InsertTime: 1600000000000, EventType: "audit", Exe: "/bin/old", Raw: `{"x":1}`}})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	db, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	fill(t, db, "o1", 1) // 20 current events in the same hour
	rows, err := db.UserQuery(ctx, "o1", 0, maxMS, `SELECT count(*), count("timestamp"), count(hostname), count(*) FILTER (WHERE exe = '/bin/old' AND (raw->>'x') = '1') FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n, ts, hosts, old int
	rows.Next()
	if err := rows.Scan(&n, &ts, &hosts, &old); err != nil {
		t.Fatal(err)
	}
	if n != 21 || old != 1 || ts != 0 {
		t.Errorf("count %d (want 21), old events %d (want 1), timestamps %d (want 0: no part has them)", n, old, ts)
	}
}
