package datadir

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/gen"
	"github.com/spoor-dev/spoor/internal/ingest"
	"github.com/spoor-dev/spoor/internal/lake"
)

const msPerDay = 24 * 3600_000

// streamCounts counts generated NDJSON as it passes, with encoding/json
// rather than spoor's readers: events per organization and per agent, and
// the UTC days of event_time.
type streamCounts struct {
	partial  []byte
	orgs     map[string]int
	agents   map[string]int
	agentOrg map[string]string
	days     map[int64]bool // day start, epoch ms
	err      error
}

func (c *streamCounts) Write(p []byte) (int, error) {
	if c.orgs == nil {
		c.orgs, c.agents, c.agentOrg, c.days = map[string]int{}, map[string]int{}, map[string]string{}, map[int64]bool{}
	}
	b := append(c.partial, p...)
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		c.line(b[:i])
		b = b[i+1:]
	}
	c.partial = append(c.partial[:0], b...)
	return len(p), nil
}

func (c *streamCounts) line(l []byte) {
	var e struct {
		Org   string `json:"organization_id"`
		Agent string `json:"agent_id"`
		Time  int64  `json:"event_time"`
	}
	if err := json.Unmarshal(l, &e); err != nil || e.Org == "" || e.Agent == "" || e.Time == 0 {
		if c.err == nil {
			c.err = fmt.Errorf("generated line without organization, agent or time (%v): %.200s", err, l)
		}
		return
	}
	c.orgs[e.Org]++
	c.agents[e.Agent]++
	c.agentOrg[e.Agent] = e.Org
	c.days[e.Time-e.Time%msPerDay] = true
}

// ingestGenerated streams a generated fleet into db as `spoor ingest
// --no-detect -` does (Load, then Flush and Compact), counting it on the
// way, and returns the counts.
func ingestGenerated(t *testing.T, db *DB, opts gen.Options) *streamCounts {
	t.Helper()
	ctx := context.Background()
	var counts streamCounts
	pr, pw := io.Pipe()
	genErr := make(chan error, 1)
	go func() {
		_, err := gen.Generate(ctx, opts, io.MultiWriter(&counts, pw), nil)
		pw.CloseWithError(err)
		genErr <- err
	}()
	sink := func(ctx context.Context, evs []*event.Event) (int, int, error) {
		r, err := db.Lake.Load(ctx, evs)
		return r.Stored, r.Duplicates, err
	}
	sum, err := ingest.Run(ctx, []string{"-"}, sink, ingest.Options{Org: "default", Stdin: pr})
	pr.CloseWithError(io.ErrClosedPipe) // unblocks the generator if Run stopped early
	if gerr := <-genErr; gerr != nil {
		t.Fatalf("generate: %v", gerr)
	}
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	if counts.err != nil {
		t.Fatal(counts.err)
	}
	total := 0
	for _, n := range counts.orgs {
		total += n
	}
	if sum.Stored != int64(total) || sum.Rejected != 0 || sum.Duplicates != 0 {
		t.Fatalf("ingest stored %d, rejected %d, duplicates %d of %d generated events", sum.Stored, sum.Rejected, sum.Duplicates, total)
	}
	if err := db.Lake.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	if _, err := db.Lake.Compact(ctx, time.Now()); err != nil {
		t.Fatalf("compact: %v", err)
	}
	return &counts
}

// eventPartFiles counts the part files under the lake's events, whatever
// the layout of its directories.
func eventPartFiles(t *testing.T, lakeDir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(filepath.Join(lakeDir, "events"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A fleet of 400 small organizations through the command line's path:
// every organization reads exactly its own events, no other's, and
// compaction leaves at most a few parts per organization and day and a
// few part files per day in all (issue 16: the old layout's part per
// organization and hour made 9,600 parts of ~17 events each here).
func TestManyOrganizationsIngestedFromFile(t *testing.T) {
	ctx := context.Background()
	// Flushes every 40k events, as a long ingest does, so compaction has
	// parts to merge.
	db, err := Open(ctx, t.TempDir(), Options{Lake: lake.Options{HeadMaxEvents: 40_000}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	// 600 hosts: the generator makes ~280 events per host and day however
	// low --rate is, so 2,000 hosts would take ~500k events.
	start := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	began := time.Now()
	counts := ingestGenerated(t, db, gen.Options{Seed: 16, Hosts: 600, Orgs: 400, Rate: 1, Start: start, Days: 1, Scenarios: []string{}})
	orgs := make([]string, 0, len(counts.orgs))
	for o := range counts.orgs {
		orgs = append(orgs, o)
	}
	slices.Sort(orgs)
	if len(orgs) != 400 {
		t.Fatalf("the generator made %d organizations, want 400", len(orgs))
	}
	if got := db.Lake.Orgs(); !slices.Equal(got, orgs) {
		t.Errorf("the lake holds %d organizations, want the generator's %d", len(got), len(orgs))
	}

	t.Logf("generated, ingested and compacted in %v", time.Since(began))
	began = time.Now()
	// Every organization's count through its own scope; the scope never
	// holds another organization's rows.
	for _, org := range orgs {
		rows, err := db.Query(ctx, org, 0, maxMS, `SELECT count(*), string_agg(DISTINCT organization_id, ',') FROM events`)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		var seen string
		rows.Next()
		err = rows.Scan(&n, &seen)
		rows.Close()
		if err != nil {
			t.Fatal(err)
		}
		if n != counts.orgs[org] || seen != org {
			t.Errorf("org %s reads %d events of organizations %q, want its %d generated", org, n, seen, counts.orgs[org])
		}
	}

	t.Logf("400 counts in %v", time.Since(began))
	// A needle: an agent's events, searched by its own organization and
	// by others.
	agents := make([]string, 0, len(counts.agents))
	for a := range counts.agents {
		agents = append(agents, a)
	}
	slices.Sort(agents)
	for i := 0; i < len(agents); i += len(agents) / 10 {
		a := agents[i]
		own := counts.agentOrg[a]
		other := orgs[(slices.Index(orgs, own)+1)%len(orgs)]
		for _, org := range []string{own, other, "no-such-org"} {
			want := 0
			if org == own {
				want = counts.agents[a]
			}
			s, err := db.Search(ctx, org, SearchRequest{Query: fmt.Sprintf("agent_id = %q", a), To: maxMS, Fields: []string{"_id"}})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(ids(t, s)); got != want {
				t.Errorf("agent %s of org %s searched by org %s: %d events, want %d", a, own, org, got, want)
			}
		}
	}

	// Parts per organization and day, and part files in all.
	worst, over := 0, 0
	for _, org := range orgs {
		for day := range counts.days {
			n := len(db.Lake.Parts(org, day, day+msPerDay-1))
			worst = max(worst, n)
			if n > 3 {
				over++
			}
		}
	}
	if over > 0 {
		t.Errorf("after compaction %d organization-days have more than 3 parts (at most %d), want at most 3 each", over, worst)
	}
	files := eventPartFiles(t, db.lakeDir)
	t.Logf("%d organizations over %d day(s): %d part files, at most %d parts per organization and day",
		len(orgs), len(counts.days), files, worst)
	if files > 4*len(counts.days) {
		t.Errorf("after compaction %d part files for %d day(s) of events, want at most 4 per day", files, len(counts.days))
	}
	if p := db.Lake.Problems(); len(p) > 0 {
		t.Errorf("problems: %v", p)
	}
}

// orgEvents normalizes n events of org on the day of dayStart, ingested at
// insert (epoch ms); ids are prefix-0, prefix-1...
func orgEvents(t *testing.T, org, prefix string, n int, dayStart, insert int64) []*event.Event {
	t.Helper()
	norm := event.Normalizer{Org: org, Now: func() int64 { return insert }}
	evs := make([]*event.Event, n)
	for i := range n {
		e := new(event.Event)
		// Agents and times interleave with the other organizations' so
		// that the expired and kept rows sit side by side in a part.
		line := fmt.Sprintf(`{"_id":"%s-%d","agent_id":"agent-%d","event_time":%d,"event_type":"audit","exe":"/bin/e","user":"u"}`,
			prefix, i, i%5, dayStart+int64(i)*(msPerDay/int64(n)))
		if err := norm.Normalize([]byte(line), e); err != nil {
			t.Fatal(err)
		}
		evs[i] = e
	}
	return evs
}

// Retention on parts that several organizations share: events ingested
// longer ago than the retention are dropped, exactly those, and the other
// organizations' events in the same parts are kept.
func TestRetentionOnSharedParts(t *testing.T) {
	now := time.Date(2024, 6, 30, 12, 0, 0, 0, time.UTC)
	old, recent := now.Add(-40*24*time.Hour).UnixMilli(), now.Add(-24*time.Hour).UnixMilli()
	day := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC).UnixMilli() // the events' own day, before both
	for _, flushes := range []string{"one flush", "a flush per ingestion"} {
		t.Run(flushes, func(t *testing.T) {
			ctx := context.Background()
			db, err := Open(ctx, t.TempDir(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close(ctx)
			// "expired" was ingested 40 days ago, "kept" yesterday, and
			// "mixed" half then and half yesterday.
			batches := [][]*event.Event{
				append(orgEvents(t, "expired", "x", 300, day, old), orgEvents(t, "mixed", "mixed-old", 200, day, old)...),
				append(orgEvents(t, "kept", "k", 300, day, recent), orgEvents(t, "mixed", "mixed-new", 200, day, recent)...),
			}
			for _, b := range batches {
				if _, err := db.Lake.Append(ctx, b); err != nil {
					t.Fatal(err)
				}
				if flushes != "one flush" {
					if err := db.Lake.Flush(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := db.Lake.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if flushes == "one flush" {
				// What this test is about: the organizations' events in
				// the same part files.
				kept, expired := db.Lake.Parts("kept", day, day+msPerDay-1), db.Lake.Parts("expired", day, day+msPerDay-1)
				if len(kept) == 0 || !slices.Equal(kept, expired) {
					t.Errorf("one flush of a day's events: %d parts hold kept's events and %d expired's, the same ones: %v; want the same shared part(s)",
						len(kept), len(expired), slices.Equal(kept, expired))
				}
			}
			res, err := db.Lake.Compact(ctx, now)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("compaction: %+v", res)
			for _, c := range []struct {
				org, ids string
				n        int
			}{{"expired", "", 0}, {"kept", "k-", 300}, {"mixed", "mixed-new-", 200}} {
				rows, err := db.Query(ctx, c.org, 0, maxMS, `SELECT count(*), count(*) FILTER (WHERE starts_with("_id", ?)), count(*) FILTER (WHERE epoch_ms(_insert_time) < ?) FROM events`,
					c.ids, now.Add(-30*24*time.Hour).UnixMilli())
				if err != nil {
					t.Fatal(err)
				}
				var n, named, expired int
				rows.Next()
				err = rows.Scan(&n, &named, &expired)
				rows.Close()
				if err != nil {
					t.Fatal(err)
				}
				if n != c.n || (c.n > 0 && named != c.n) || expired != 0 {
					t.Errorf("org %s keeps %d events (%d named %s*, %d ingested before the retention), want %d, all %s*, none expired",
						c.org, n, named, c.ids, expired, c.n, c.ids)
				}
			}
			if p := db.Lake.Problems(); len(p) > 0 {
				t.Errorf("problems: %v", p)
			}
		})
	}
}
