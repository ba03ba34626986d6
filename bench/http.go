package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// HTTP ingest targets from issue 3.
const (
	targetHTTP      = 100_000 // events/s with httpSenders, at least
	targetHTTPp99   = 50 * time.Millisecond
	httpSenders     = 8
	httpBatchEvents = 1000
	httpMaxEvents   = 2_000_000
)

// httpRow is one endpoint's load run.
type httpRow struct {
	name, endpoint string
	events         int64
	requests       int
	retries        int
	wall           time.Duration
	p50, p99       time.Duration
}

func (h httpRow) rate() float64 { return float64(h.events) / h.wall.Seconds() }

// httpIngest loads a fresh `spoor serve` over loopback with httpSenders
// concurrent senders, through the native endpoint and through HEC's raw
// endpoint, each acknowledgement meaning the batch is durable.
func (b *bench) httpIngest(ctx context.Context) error {
	batches, events, err := readBatches(b.raw, httpBatchEvents, httpMaxEvents)
	if err != nil {
		return err
	}
	for _, ep := range []struct{ name, path, auth string }{
		{"spoor API", "/api/v1/events", "Bearer "},
		{"Splunk HEC (raw)", "/services/collector/raw", "Splunk "},
	} {
		logf("HTTP ingest: %d senders, %s events in batches of %d, %s", httpSenders, commas(events), httpBatchEvents, ep.path)
		row, err := b.loadServer(ctx, batches, ep.path, ep.auth)
		if err != nil {
			return fmt.Errorf("http ingest %s: %w", ep.name, err)
		}
		row.name, row.endpoint, row.events = ep.name, ep.path, events
		logf("  %.1f s, %s, p50 %s, p99 %s, %d retries", row.wall.Seconds(), rate(row.rate()), row.p50.Round(time.Millisecond), row.p99.Round(time.Millisecond), row.retries)
		b.rep.http = append(b.rep.http, row)
	}
	return nil
}

func readBatches(path string, per, max int) ([][]byte, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 4<<20)
	var batches [][]byte
	var cur bytes.Buffer
	n, in := int64(0), 0
	for n < int64(max) {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			cur.Write(line)
			n++
			in++
			if in == per {
				batches = append(batches, bytes.Clone(cur.Bytes()))
				cur.Reset()
				in = 0
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, err
		}
	}
	if cur.Len() > 0 {
		batches = append(batches, bytes.Clone(cur.Bytes()))
	}
	return batches, n, nil
}

func (b *bench) loadServer(ctx context.Context, batches [][]byte, path, scheme string) (httpRow, error) {
	var row httpRow
	dir, err := os.MkdirTemp(b.dir, "http-")
	if err != nil {
		return row, err
	}
	defer os.RemoveAll(dir)
	out, err := exec.CommandContext(ctx, b.spoor, "token", "create", "--data", dir, "--org", "bench", "--role", "ingest").Output()
	if err != nil {
		return row, fmt.Errorf("token: %w", err)
	}
	token := strings.TrimSpace(string(out))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return row, err
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := exec.CommandContext(ctx, b.spoor, "serve", "--data", dir, "--listen", addr)
	var srvOut bytes.Buffer
	srv.Stdout, srv.Stderr = &srvOut, &srvOut
	if err := srv.Start(); err != nil {
		return row, err
	}
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		srv.Wait()
	}()
	for i := 0; ; i++ {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if i > 500 {
			return row, fmt.Errorf("server did not start: %s", srvOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: httpSenders}}
	work := make(chan []byte)
	var (
		mu        sync.Mutex
		latencies []time.Duration
		retries   int
		firstErr  error
		wg        sync.WaitGroup
	)
	start := time.Now()
	for range httpSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range work {
				for {
					req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+path, bytes.NewReader(body))
					req.Header.Set("Authorization", scheme+token)
					t0 := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						mu.Lock()
						firstErr = cmpErr(firstErr, err)
						mu.Unlock()
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					d := time.Since(t0)
					mu.Lock()
					if resp.StatusCode == 200 {
						latencies = append(latencies, d)
						mu.Unlock()
						break
					}
					if resp.StatusCode != 429 && resp.StatusCode != 503 {
						firstErr = cmpErr(firstErr, fmt.Errorf("%s answered %d", path, resp.StatusCode))
						mu.Unlock()
						return
					}
					retries++
					mu.Unlock()
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	}
	for _, body := range batches {
		select {
		case work <- body:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	row.wall = time.Since(start)
	if firstErr != nil {
		return row, firstErr
	}
	slices.Sort(latencies)
	row.requests, row.retries = len(latencies), retries
	row.p50 = latencies[len(latencies)/2]
	row.p99 = latencies[min(len(latencies)-1, len(latencies)*99/100)]
	return row, nil
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
