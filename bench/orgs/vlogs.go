package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The peer the issue compares with, built from the Go module proxy.
const vlogsModule = "github.com/VictoriaMetrics/VictoriaLogs/app/victoria-logs@v1.52.2"

// vlRow is one file through VictoriaLogs' /insert/jsonline.
type vlRow struct {
	ds       *dataset
	requests int
	wall     time.Duration // from the first request to the end of /internal/force_flush
	bytes    int64         // its data directory once merged and stopped
	server   measured
}

func (r *vlRow) rate() float64 { return float64(r.ds.events) / r.wall.Seconds() }

// vlogsBinary finds victoria-logs: -vlogs, else on PATH, else built with go
// install into the scratch directory's GOBIN. An empty path and a reason
// mean the column is skipped.
func vlogsBinary(ctx context.Context, c *config) (string, string) {
	switch c.vlogs {
	case "skip", "none", "0":
		return "", "skipped (-vlogs " + c.vlogs + ")"
	case "":
	default:
		return c.vlogs, ""
	}
	if p, err := exec.LookPath("victoria-logs"); err == nil {
		return p, ""
	}
	gobin := filepath.Join(c.scratch, "gobin")
	logf("building VictoriaLogs: GOBIN=%s go install %s", gobin, vlogsModule)
	cmd := exec.CommandContext(ctx, "go", "install", vlogsModule)
	cmd.Dir = c.scratch // outside spoor's module: the peer's own go.mod decides its dependencies
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		msg := strings.TrimSpace(string(out))
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		return "", fmt.Sprintf("skipped: `go install %s` failed: %v: %s", vlogsModule, err, msg)
	}
	return filepath.Join(gobin, "victoria-logs"), ""
}

// ingestVL sends the file to VictoriaLogs with one AccountID per
// organization: one request per organization (at most c.vlChunk lines each,
// so one tenant's file is not one giant request), four at a time.
func ingestVL(ctx context.Context, c *config, bin string, ds *dataset) (*vlRow, error) {
	row := &vlRow{ds: ds}
	dir := filepath.Join(c.scratch, fmt.Sprintf("vl-%d", ds.orgs))
	defer c.drop(dir)
	// Events from any date are kept (the default retention is 7 days).
	srv, err := startServer(ctx, bin, "/health", func(addr string) []string {
		return []string{"-storageDataPath=" + dir, "-httpListenAddr=" + addr, "-retentionPeriod=100y", "-loggerLevel=WARN"}
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
	if err := settle(ds.path); err != nil {
		return nil, err
	}
	tenant := map[string]int{}
	for i, s := range ds.segs {
		tenant[s.org] = i + 1
	}
	pieces := ds.pieces(1, c.vlChunk)
	row.requests = len(pieces)
	logf("VictoriaLogs: the %s-organization file, %d requests", commas(int64(ds.orgs)), len(pieces))
	url := base + "/insert/jsonline?_stream_fields=agent_id&_time_field=event_time&_msg_field=event_type"
	jobs := make(chan segment)
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	t0 := time.Now()
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range jobs {
				body, err := ds.body(f, ds.refs[p.from:p.to])
				if err == nil {
					err = vlPost(ctx, url, tenant[p.org], body)
				}
				if err != nil {
					errs <- err
					for range jobs {
					}
					return
				}
			}
		}()
	}
	for _, p := range pieces {
		jobs <- p
	}
	close(jobs)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	if err := vlGet(ctx, base+"/internal/force_flush"); err != nil {
		return nil, err
	}
	row.wall = time.Since(t0)
	n, err := vlMetric(ctx, base, "vl_rows_ingested_total")
	if err != nil {
		return nil, err
	}
	if n != int64(ds.events) {
		return nil, fmt.Errorf("victoria-logs ingested %d rows of %d", n, ds.events)
	}
	if err := vlSettle(ctx, base); err != nil {
		return nil, err
	}
	// force_flush makes the data searchable, in memory: only a clean stop
	// writes all of it to the data directory.
	if row.server, err = srv.stop(); err != nil {
		return nil, err
	}
	if row.bytes, err = treeBytes(dir); err != nil {
		return nil, err
	}
	logf("  %s ev/s, %s (%.0f B/event), peak RSS %s", commas(int64(row.rate())), bytesStr(row.bytes),
		float64(row.bytes)/float64(ds.events), bytesStr(row.server.rss))
	return row, nil
}

func vlPost(ctx context.Context, url string, account int, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	// Without it the body would be read as a form.
	req.Header.Set("Content-Type", "application/stream+json")
	req.Header.Set("AccountID", strconv.Itoa(account))
	req.Header.Set("ProjectID", "0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("victoria-logs insert: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("victoria-logs insert: %s: %s", resp.Status, clip(msg))
	}
	return nil
}

func vlGet(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// vlMetric sums the samples of VictoriaLogs' /metrics whose names are name
// (with any labels).
func vlMetric(ctx context.Context, base, name string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var n float64
	found := false
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		l := sc.Text()
		rest, ok := strings.CutPrefix(l, name)
		if !ok || rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		if v, err := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64); err == nil {
			n += v
			found = true
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("victoria-logs /metrics: no %s", name)
	}
	return int64(n), nil
}

// vlSettle forces VictoriaLogs to merge its parts, as spoor's lake is
// compacted before it is measured, and waits until no merge runs (seen
// three times in a row, at most ten minutes).
func vlSettle(ctx context.Context, base string) error {
	if err := vlGet(ctx, base+"/internal/force_merge"); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Minute)
	for idle := 0; idle < 3; {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		a, err := vlMetric(ctx, base, "vl_active_force_merges")
		if err != nil {
			return err
		}
		b, err := vlMetric(ctx, base, "vl_active_merges")
		if err != nil {
			return err
		}
		idle++
		if a+b > 0 {
			idle = 0
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("victoria-logs still merging after ten minutes")
		}
	}
	return nil
}

// treeBytes sums the sizes of the regular files under dir.
func treeBytes(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	return n, err
}
