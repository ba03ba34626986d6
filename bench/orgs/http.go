package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// httpRow is one file POSTed to `spoor serve` by many senders at once.
type httpRow struct {
	ds        *dataset
	senders   int
	tokens    int
	requests  int64
	retries   int64 // answers 503/429/507 with Retry-After, sent again
	accepted  int64
	wall      time.Duration // from the first request to the last answer
	toParts   time.Duration // from the first request until the WAL is empty: all in parts
	server    measured
	flushed   lakeFacts // after the server's flushes (its last at shutdown)
	compacted lakeFacts // after one compaction
}

func (r *httpRow) rate() float64 { return float64(r.accepted) / r.wall.Seconds() }

func (r *httpRow) partsRate() float64 { return float64(r.accepted) / r.toParts.Seconds() }

// The organization whose /metrics shows the write-ahead log of all.
const operatorOrg = "bench-operator"

// ingestHTTP starts `spoor serve --no-detect` on loopback with one ingest
// token per organization, and has c.senders senders POST the file at once,
// each its own organization's lines (or, with fewer organizations than
// senders, a share of one organization's) in batches of c.batch lines.
func ingestHTTP(ctx context.Context, c *config, ds *dataset) (*httpRow, error) {
	row := &httpRow{ds: ds}
	dir := filepath.Join(c.scratch, fmt.Sprintf("http-%d", ds.orgs))
	defer c.drop(dir)
	logf("HTTP: %s, a token each", orgsName(ds.orgs))
	tokens, err := makeTokens(ctx, c, dir, ds)
	if err != nil {
		return nil, err
	}
	row.tokens = len(ds.segs)
	srv, err := startServer(ctx, c.spoor, "/healthz", func(addr string) []string {
		return []string{"serve", "--no-detect", "--data", dir, "--listen", addr, "--operator-org", operatorOrg}
	})
	if err != nil {
		return nil, err
	}
	defer srv.close()
	base := srv.base
	f, err := os.Open(ds.path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pieces := ds.pieces(c.senders, 0)
	row.senders = len(pieces)
	logf("  %d senders POST %s events in batches of %d lines", len(pieces), commas(int64(ds.events)), c.batch)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: len(pieces), MaxConnsPerHost: len(pieces)}}
	var wg sync.WaitGroup
	errs := make(chan error, len(pieces))
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t0 := time.Now()
	for _, p := range pieces {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := row.send(sctx, client, base+"/api/v1/events", tokens[p.org], ds, f, p, c.batch); err != nil {
				errs <- err
				cancel()
			}
		}()
	}
	wg.Wait()
	row.wall = time.Since(t0)
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	if row.accepted != int64(ds.events) {
		return nil, fmt.Errorf("HTTP: the server accepted %d events of %d", row.accepted, ds.events)
	}
	logf("  %s ev/s acknowledged (%d requests, %d sent again after 503/429); waiting for the flushes", commas(int64(row.rate())), row.requests, row.retries)
	// Stopped only once its own flushes have emptied the WAL, so the
	// parts counted are theirs, not one flush at shutdown.
	if err := waitWAL(ctx, base, tokens[operatorOrg]); err != nil {
		return nil, err
	}
	row.toParts = time.Since(t0)
	logf("  all in parts after %s (%s ev/s); stopping the server", secs(row.toParts), commas(int64(row.partsRate())))
	if row.server, err = srv.stop(); err != nil {
		return nil, err
	}
	if row.flushed, err = measureLake(ctx, dir, nil); err != nil {
		return nil, err
	}
	if err := compact(ctx, c, dir); err != nil {
		return nil, err
	}
	row.compacted, err = measureLake(ctx, dir, &row.flushed)
	logf("  server peak RSS %s; parts per organization and day: %d max after its flushes, %d after a compaction",
		bytesStr(row.server.rss), row.flushed.maxPerOrg(), row.compacted.maxPerOrg())
	return row, err
}

// send POSTs one piece in batches, sending a batch again while the server
// answers that it is busy.
func (row *httpRow) send(ctx context.Context, client *http.Client, url, token string, ds *dataset, f *os.File, p segment, batch int) error {
	for from := p.from; from < p.to; from += batch {
		body, err := ds.body(f, ds.refs[from:min(from+batch, p.to)])
		if err != nil {
			return err
		}
		for {
			wait, n, err := post(ctx, client, url, token, body)
			atomic.AddInt64(&row.requests, 1)
			if err != nil {
				return err
			}
			if wait == 0 {
				atomic.AddInt64(&row.accepted, n)
				break
			}
			atomic.AddInt64(&row.retries, 1)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(wait):
			}
		}
	}
	return nil
}

// post sends one batch: the events newly stored, or how long to wait before
// sending it again.
func post(ctx context.Context, client *http.Client, url, token string, body []byte) (time.Duration, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := client.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("POST %s: %w", url, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch resp.StatusCode {
	case http.StatusOK:
		var a struct{ Accepted, Duplicates, Rejected int64 }
		if err := json.Unmarshal(msg, &a); err != nil {
			return 0, 0, fmt.Errorf("POST %s: answer %q: %w", url, clip(msg), err)
		}
		if a.Rejected > 0 {
			return 0, 0, fmt.Errorf("POST %s: %d events rejected: %s", url, a.Rejected, clip(msg))
		}
		return 0, a.Accepted + a.Duplicates, nil
	case http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusInsufficientStorage:
		wait := time.Second
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			wait = time.Duration(s) * time.Second
		}
		return wait, 0, nil
	}
	return 0, 0, fmt.Errorf("POST %s: %s: %s", url, resp.Status, clip(msg))
}

// waitWAL polls the operator's /metrics until the write-ahead log holds
// nothing that is not in parts (at most 30 minutes).
func waitWAL(ctx context.Context, base, token string) error {
	deadline := time.Now().Add(30 * time.Minute)
	for {
		n, err := walBytes(ctx, base, token)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server's WAL still holds %d bytes after 30 minutes", n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func walBytes(ctx context.Context, base, token string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET /metrics: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: %s: %s", resp.Status, clip(body))
	}
	for _, l := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(l, "spoor_wal_bytes "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return int64(f), err
		}
	}
	return 0, fmt.Errorf("GET /metrics: no spoor_wal_bytes in %s", clip(body))
}

// makeTokens creates an ingest token per organization of the file, and an
// analyst token of the operator's organization, four `spoor token create`
// at a time (they share the token file under its lock).
func makeTokens(ctx context.Context, c *config, dir string, ds *dataset) (map[string]string, error) {
	tokens := make(map[string]string, len(ds.segs)+1)
	var mu sync.Mutex
	sem := make(chan struct{}, 4)
	errs := make(chan error, len(ds.segs)+1)
	var wg sync.WaitGroup
	make1 := func(org, role string) {
		defer func() { <-sem; wg.Done() }()
		out, _, err := run(ctx, c.spoor, "token", "create", "--data", dir, "--org", org, "--role", role, "--name", "bench-orgs")
		if err != nil {
			errs <- err
			return
		}
		mu.Lock()
		tokens[org] = strings.TrimSpace(string(out))
		mu.Unlock()
	}
	wg.Add(1)
	sem <- struct{}{}
	go make1(operatorOrg, "analyst")
	for _, s := range ds.segs {
		wg.Add(1)
		sem <- struct{}{}
		go make1(s.org, "ingest")
	}
	wg.Wait()
	close(errs)
	return tokens, <-errs
}
