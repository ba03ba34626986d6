package datadir

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
)

// fill appends and flushes 20 events of org on each of days days, a part
// (shared by the organizations filled before the flush) per day.
func fill(t testing.TB, db *DB, org string, days int) {
	t.Helper()
	norm := event.Normalizer{Org: org}
	var evs []*event.Event
	base := int64(1600000000000) // 2020-09-13T12:26:40Z
	for h := range days {
		for i := range 20 {
			e := new(event.Event)
			line := fmt.Sprintf(`{"_id":"%s-%d-%d","agent_id":"a%d","event_time":%d,"event_type":"audit","exe":"/bin/e%d","user":"u%d"}`,
				org, h, i, i%3, base+int64(h)*86400_000+int64(i)*1000, i%4, h)
			if err := norm.Normalize([]byte(line), e); err != nil {
				t.Fatal(err)
			}
			evs = append(evs, e)
		}
	}
	if _, err := db.Lake.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if err := db.Lake.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func ids(t *testing.T, s *Search) []string {
	t.Helper()
	defer s.Close()
	var out []string
	for s.Next() {
		vals := make([]any, 1)
		if err := s.Row(vals); err != nil {
			t.Fatal(err)
		}
		out = append(out, vals[0].(string))
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A time range picks partitions before any part is opened: parts outside it
// may be garbage and the search neither reads nor quarantines them.
func TestTimeRangePrunesPartitionsBeforeOpening(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	fill(t, db, "o1", 6)
	all := db.Lake.Parts("o1", 0, maxMS)
	if len(all) != 6 {
		t.Fatalf("%d parts, want 6 (one per day)", len(all))
	}
	in := db.Lake.Parts("o1", 1600000000000+2*86400_000, 1600000000000+2*86400_000+90_000)
	if len(in) != 1 {
		t.Fatalf("a 90 s window selects %d parts, want 1", len(in))
	}
	for _, p := range all {
		if p != in[0] {
			if err := os.WriteFile(p, []byte("PAR1 garbage that is not parquet PAR1"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	q := `user = "u2" AND event_time >= 1600172800000 AND event_time <= 1600172890000`
	s, err := db.Search(ctx, "o1", SearchRequest{Query: q, From: 0, To: maxMS, Fields: []string{"_id"}})
	if err != nil {
		t.Fatal(err)
	}
	got := ids(t, s)
	if len(got) != 20 || !strings.HasPrefix(got[0], "o1-2-") {
		t.Fatalf("got %d events (%v), want the 20 of day 2", len(got), got)
	}
	if p := db.Lake.Problems(); len(p) != 0 {
		t.Errorf("the search opened parts outside its range: %v", p)
	}
}

// A part that fails to read mid-query is quarantined and the query answers
// from the rest.
func TestUnreadablePartQuarantinedAndQueryRetried(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	fill(t, db, "o1", 3)
	parts := db.Lake.Parts("o1", 0, maxMS)
	b, _ := os.ReadFile(parts[1])
	for i := 100; i < len(b)-100; i += 7 {
		b[i] ^= 0x5a
	}
	if err := os.WriteFile(parts[1], b, 0o644); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(ctx, "o1", 0, maxMS, `SELECT count(*) FROM events WHERE exe IS NOT NULL`)
	if err != nil {
		t.Fatalf("query over a corrupt part: %v", err)
	}
	var n int
	rows.Next()
	rows.Scan(&n)
	rows.Close()
	if n != 40 {
		t.Errorf("counted %d events, want the other two parts' 40", n)
	}
	if p := db.Lake.Problems(); len(p) != 1 || p[0].Path != parts[1] {
		t.Errorf("problems %v, want the corrupt part reported", p)
	}
}

// Organizations never see each other's events.
func TestOrganizationsAreSeparate(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	fill(t, db, "o1", 2)
	fill(t, db, "o2", 3)
	for org, want := range map[string]int{"o1": 40, "o2": 60, "o3": 0} {
		rows, err := db.UserQuery(ctx, org, 0, maxMS, `SELECT count(*), count(*) FILTER (WHERE organization_id <> '`+org+`' OR NOT starts_with("_id", '`+org+`')) FROM events`)
		if err != nil {
			t.Fatal(err)
		}
		var n, foreign int
		rows.Next()
		rows.Scan(&n, &foreign)
		rows.Close()
		if n != want || foreign != 0 {
			t.Errorf("org %s sees %d events (%d foreign), want %d", org, n, foreign, want)
		}
	}
}

// While another process holds the directory, readers get its stored parts.
func TestReadOnlyWhileAnotherWrites(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writer, err := Open(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer writer.Close(ctx)
	fill(t, writer, "o1", 2) // flushed: 40 events in parts
	if _, err := Open(ctx, dir, Options{}); err == nil {
		t.Fatal("a second writer opened the locked directory")
	}
	reader, err := Open(ctx, dir, Options{AllowReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close(ctx)
	if !reader.Lake.ReadOnly() {
		t.Fatal("reader is not read-only")
	}
	rows, err := reader.UserQuery(ctx, "o1", 0, maxMS, "SELECT count(*) FROM events")
	if err != nil {
		t.Fatal(err)
	}
	var n int
	rows.Next()
	rows.Scan(&n)
	rows.Close()
	if n != 40 {
		t.Errorf("read-only reader sees %d events, want 40", n)
	}
	if _, err := reader.Lake.Append(ctx, nil); err == nil {
		t.Errorf("append to a read-only store succeeded")
	}
}
