package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/auth"
	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/lake"
)

// orgClient sends the requests of many organizations at once, each with
// its own token, and retries what the server refuses for load (429, 503)
// as an agent does.
type orgClient struct {
	http *http.Client
	url  string
}

func newOrgClient(url string, conns int) *orgClient {
	return &orgClient{url: url, http: &http.Client{
		Timeout:   2 * time.Minute,
		Transport: &http.Transport{MaxIdleConnsPerHost: conns},
	}}
}

// post sends body to path as token, until it is answered otherwise than
// 429 or 503 or a minute has passed.
func (c *orgClient) post(path, token string, body []byte) (int, []byte, error) {
	deadline := time.Now().Add(time.Minute)
	for wait := 20 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		req, err := http.NewRequest("POST", c.url+path, bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.http.Do(req)
		if err != nil {
			return 0, nil, err
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return 0, nil, err
		}
		busy := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable
		if !busy || time.Now().After(deadline) {
			return resp.StatusCode, b, nil
		}
		time.Sleep(wait)
	}
}

// orgBatch is batch b of organization i: n events of two agents over the
// first hours of day (epoch ms), with ids unique to the organization.
func orgBatch(i, b, n, hours int, day int64) []byte {
	var buf bytes.Buffer
	for j := range n {
		at := day + int64(j%hours)*3600_000 + int64(b*n+j)*1000
		fmt.Fprintf(&buf, `{"_id":"o%d-b%d-e%d","agent_id":"agent-%d-%d","event_time":%d,"event_type":"audit","exe":"/usr/bin/true","user":"svc"}`+"\n",
			i, b, j, i, j%2, at)
	}
	return buf.Bytes()
}

// 400 organizations send at once over HTTP, each with its own ingest
// token, while small heads make the server flush many times; after the
// server's compaction each organization reads, with its own query token,
// exactly what it sent and nothing of another's, and the parts per
// organization and day stay few (issue 16: flushes must not multiply parts
// per organization; the old layout keeps a part per organization and hour).
func TestManyOrganizationsOverHTTP(t *testing.T) {
	const (
		nOrgs    = 400
		batches  = 3
		perBatch = 10
		hours    = 4 // of the day the events cover
		sent     = batches * perBatch
	)
	day := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	dir := t.TempDir()
	tokens, err := auth.Open(filepath.Join(dir, "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	minting := time.Now()
	orgs := make([]string, nOrgs)
	ingestTok, queryTok := make([]string, nOrgs), make([]string, nOrgs)
	for i := range orgs {
		orgs[i] = fmt.Sprintf("org-%03d", i)
		if ingestTok[i], _, err = tokens.Create(orgs[i], auth.Ingest, "sender"); err != nil {
			t.Fatal(err)
		}
		if queryTok[i], _, err = tokens.Create(orgs[i], auth.Analyst, "reader"); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d tokens minted in %v", 2*nOrgs, time.Since(minting))
	// The lake asks the server's loop for flushes, as spoor serve wires
	// it; a small head makes that happen every ~1,000 events, and the
	// loop's ticker flushes what is left of a round.
	var srv atomic.Pointer[Server]
	f := startIn(t, dir, datadir.Options{Lake: lake.Options{HeadMaxEvents: 1000, FlushWanted: func() {
		if s := srv.Load(); s != nil {
			s.wantFlush()
		}
	}}}, Options{FlushEvery: 100 * time.Millisecond})
	srv.Store(f.srv)
	c := newOrgClient(f.url, nOrgs)

	began := time.Now()
	var wg sync.WaitGroup
	accepted := make([]int64, nOrgs)
	// In rounds: every organization sends a batch at once, and the next
	// round starts once the server has taken the head to a flush, so that
	// the server flushes at least once per round whatever the speed.
	for b := range batches {
		for i := range orgs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, body, err := c.post("/api/v1/events", ingestTok[i], orgBatch(i, b, perBatch, hours, day))
				var ans ingestAnswer
				if err == nil && code == 200 {
					err = json.Unmarshal(body, &ans)
				}
				if err != nil || code != 200 || ans.Rejected != 0 {
					t.Errorf("%s batch %d: %d %.200s %v", orgs[i], b, code, body, err)
					return
				}
				accepted[i] += ans.Accepted
			}()
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
		for deadline := time.Now().Add(time.Minute); f.db.Lake.Stats().HeadEvents > 0; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the server has not flushed its head (%d events) in a minute", b, f.db.Lake.Stats().HeadEvents)
			}
		}
	}
	sending := time.Since(began)
	ctx := context.Background()
	began = time.Now()
	if err := f.db.Lake.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	flushing := time.Since(began)
	before := f.db.Lake.Stats().Parts
	worstBefore, _ := partsPerOrg(f.db, orgs, day)
	began = time.Now()
	if _, err := f.db.Lake.Compact(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	after := f.db.Lake.Stats().Parts
	worst, over := partsPerOrg(f.db, orgs, day)
	t.Logf("%d organizations sent %d events in %v, the last flush took %v, compaction %v; parts %d before compaction, %d after; parts of one organization and day at most %d before, %d after",
		nOrgs, nOrgs*sent, sending, flushing, time.Since(began), before, after, worstBefore, worst)
	if before < batches {
		t.Errorf("%d parts before compaction: want one at least from each of the server's %d or more flushes", before, batches)
	}

	// Each organization's count, the organizations its scope shows, and
	// the next organization's agent, through its own query token.
	began = time.Now()
	work := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				next := (i + 1) % nOrgs
				q := fmt.Sprintf(`SELECT count(*) AS n, string_agg(DISTINCT organization_id, ';') AS orgs, count(*) FILTER (WHERE agent_id = 'agent-%d-0') AS other FROM events`, next)
				body, _ := json.Marshal(map[string]string{"sql": q})
				code, ans, err := c.post("/api/v1/sql?format=csv", queryTok[i], body)
				rec, cerr := csv.NewReader(bytes.NewReader(ans)).ReadAll()
				if err != nil || cerr != nil || code != 200 || len(rec) != 2 || len(rec[1]) != 3 {
					t.Errorf("%s: sql: %d %.200s %v %v", orgs[i], code, ans, err, cerr)
					continue
				}
				n, _ := strconv.ParseInt(rec[1][0], 10, 64)
				if n != sent || accepted[i] != sent || rec[1][1] != orgs[i] || rec[1][2] != "0" {
					t.Errorf("%s sent %d, %d accepted; reads %d events of organizations %q, %s of %s's agent; want %d of its own only",
						orgs[i], sent, accepted[i], n, rec[1][1], rec[1][2], orgs[next], sent)
				}
			}
		}()
	}
	for i := range orgs {
		work <- i
	}
	close(work)
	wg.Wait()
	t.Logf("%d organizations' counts in %v", nOrgs, time.Since(began))

	// The search API: an agent's needle, searched by its organization and
	// by the next one.
	for i := 0; i < nOrgs; i += nOrgs / 20 {
		agent := fmt.Sprintf("agent-%d-1", i)
		q, _ := json.Marshal(map[string]string{"query": fmt.Sprintf("agent_id = %q", agent)})
		for _, r := range []struct{ reader, want int }{{i, sent / 2}, {(i + 1) % nOrgs, 0}} {
			code, body, err := c.post("/api/v1/search?format=ndjson", queryTok[r.reader], q)
			got := 0
			for l := range strings.SplitSeq(string(body), "\n") {
				if strings.TrimSpace(l) != "" {
					got++
				}
			}
			if err != nil || code != 200 || got != r.want {
				t.Errorf("%s searched for %s of %s: %d, %d events %v; want %d", orgs[r.reader], agent, orgs[i], code, got, err, r.want)
			}
		}
	}

	// Parts per organization and day, through the server's store.
	if over > 0 {
		t.Errorf("after compaction %d organizations have more than 3 parts for the day (at most %d), want at most 3 each", over, worst)
	}
	if after > 4 {
		t.Errorf("after compaction %d parts hold the one day of events, want at most 4", after)
	}
}

// partsPerOrg returns the most parts an organization has for the day that
// starts at day (epoch ms), and how many organizations have more than 3.
func partsPerOrg(db *datadir.DB, orgs []string, day int64) (worst, over int) {
	for _, org := range orgs {
		n := len(db.Lake.Parts(org, day, day+24*3600_000-1))
		worst = max(worst, n)
		if n > 3 {
			over++
		}
	}
	return worst, over
}
