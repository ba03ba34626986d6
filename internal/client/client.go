// Package client talks to a spoor server for the command line: searches and
// SQL streamed back in a format, and files sent as durable event batches.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/ingest"
	"github.com/spoor-dev/spoor/internal/parse/formats"
)

// Client is one server and token.
type Client struct {
	URL   string
	Token string
	HTTP  *http.Client
}

// New returns a client of the server at base (http://host:port).
func New(base, token string) *Client {
	return &Client{URL: strings.TrimSuffix(base, "/"), Token: token, HTTP: &http.Client{Timeout: 10 * time.Minute}}
}

// APIError is an error answer of the server.
type APIError struct {
	Status   int
	Message  string `json:"error"`
	Position string `json:"position"`
}

func (e *APIError) Error() string { return e.Message }

func (c *Client) do(ctx context.Context, method, path string, body io.Reader, hdr map[string]string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.URL+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		e := &APIError{Status: resp.StatusCode}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(b, e) != nil || e.Message == "" {
			e.Message = fmt.Sprintf("server answered %s", resp.Status)
		}
		return nil, e
	}
	return resp, nil
}

// Query posts a search or SQL request and returns the answer stream in
// format (json, ndjson or csv).
func (c *Client) Query(ctx context.Context, path string, req any, format string) (*Answer, error) {
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, "POST", path+"?format="+url.QueryEscape(format), bytes.NewReader(b), map[string]string{"Content-Type": "application/json"})
	if err != nil {
		return nil, err
	}
	return newAnswer(resp, format), nil
}

// IngestAnswer is the server's answer to one batch.
type IngestAnswer struct {
	Accepted   int64              `json:"accepted"`
	Duplicates int64              `json:"duplicates"`
	Rejected   int64              `json:"rejected"`
	Rejections []ingest.Rejection `json:"rejections"`
	Reasons    map[string]int64   `json:"reasons"`
	Counts     map[string]int64   `json:"counts"`
	Errors     []string           `json:"errors"`
	// Per format: inputs, lines (text formats), records and events.
	Formats map[string]int64 `json:"formats"`
	Lines   map[string]int64 `json:"lines"`
	Records map[string]int64 `json:"records"`
	Events  map[string]int64 `json:"events"`
}

// JSON calls an endpoint with an optional JSON body and decodes the JSON
// answer into out (when not nil).
func (c *Client) JSON(ctx context.Context, method, path string, req, out any) error {
	var body io.Reader
	hdr := map[string]string{"Accept": "application/json"}
	if req != nil {
		b, err := json.Marshal(req)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
		hdr["Content-Type"] = "application/json"
	}
	resp, err := c.do(ctx, method, path, body, hdr)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// maxFileBody is the largest file the client sends in one request when its
// format is not split into batches of lines (EVTX, auditd, CloudTrail,
// Windows JSON, zips): under the server's default 64 MiB body limit.
const maxFileBody = 48 << 20

// batchBytes is how much NDJSON one request carries.
const batchBytes = 4 << 20

// Ingest sends files (directories recursively): Threat Stack lines as
// batches of lines, gzipped, each retried until the server acknowledges it
// (its events are durable then; resending is safe, the server keeps each
// _id once), with rejections carrying the file's own lines; other formats
// as whole files, which the server reads with the same readers as a local
// ingest. format and host are as for a local ingest.
func (c *Client) Ingest(ctx context.Context, paths []string, format, host string) (ingest.Summary, error) {
	sum := ingest.Summary{ByReason: map[string]int64{}, Counts: map[string]int64{}, Formats: map[string]int64{},
		Records: map[string]int64{}, Events: map[string]int64{}, LinesBy: map[string]int64{}}
	forced, err := formats.ByName(format)
	if err != nil {
		return sum, err
	}
	files, errs := ingest.Expand(paths)
	sum.FileErrors = append(sum.FileErrors, errs...)
	for _, src := range files {
		p := src.Name
		rc, err := src.Open()
		if err != nil {
			sum.FileErrors = append(sum.FileErrors, fmt.Sprintf("%s: %v", p, err))
			continue
		}
		// The bytes read are the file's as it is on disk, as a local
		// ingest counts them.
		cr := &countingReader{r: rc}
		br := bufio.NewReaderSize(cr, 64<<10)
		f := forced
		head, what := sniff(br)
		if f.Name == "" {
			var ok bool
			f, ok = formats.Detect(head)
			if !ok && what != "" {
				rc.Close()
				sum.Files++
				if src.Found {
					sum.Skipped++
					sum.Skips = append(sum.Skips, ingest.Skip{File: p, What: what})
				} else {
					sum.FileErrors = append(sum.FileErrors, fmt.Sprintf("%s: unrecognised format: %s; name one with --format", p, what))
				}
				continue
			}
		}
		if f.Kind == formats.Lines && ingest.LineShaped(head) {
			sum.Formats[f.Name]++
			lines, evs := sum.Lines, sum.Stored+sum.Duplicates
			err = c.ingestFile(ctx, p, br, &sum)
			sum.LinesBy[f.Name] += sum.Lines - lines
			sum.Records[f.Name] += sum.Lines - lines
			sum.Events[f.Name] += sum.Stored + sum.Duplicates - evs
		} else {
			// Other formats, and Threat Stack events that are not one a
			// line, go whole to the server's readers.
			err = c.ingestWhole(ctx, p, br, forced.Name, host, &sum)
		}
		rc.Close()
		sum.Files++
		sum.Bytes += cr.n
		if err != nil {
			return sum, err
		}
	}
	return sum, nil
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// sniff returns the first bytes of a file, decompressed, to detect its
// format from; zips and what cannot be looked into go whole to the server,
// which says. What is recognisably not telemetry (a notebook, a README) is
// described in what.
func sniff(br *bufio.Reader) (head []byte, what string) {
	raw, _ := br.Peek(64 << 10)
	rd, release, err := ingest.Decompress(bytes.NewReader(raw))
	if err != nil {
		return raw, ""
	}
	defer release()
	head, _ = io.ReadAll(io.LimitReader(rd, 64<<10))
	_, ok := formats.Detect(head)
	if ok || len(bytes.TrimSpace(head)) == 0 || bytes.HasPrefix(head, []byte("PK")) {
		return head, ""
	}
	return head, formats.Describe(head)
}

// ingestWhole sends one file in one request.
func (c *Client) ingestWhole(ctx context.Context, name string, r io.Reader, format, host string, sum *ingest.Summary) error {
	b, err := io.ReadAll(io.LimitReader(r, maxFileBody+1))
	if err != nil {
		sum.FileErrors = append(sum.FileErrors, fmt.Sprintf("%s: %v", name, err))
		return nil
	}
	if len(b) > maxFileBody {
		sum.FileErrors = append(sum.FileErrors, fmt.Sprintf("%s: over %d MiB in a format sent whole: ingest it where the data lives (--data), or split it", name, maxFileBody>>20))
		return nil
	}
	q := url.Values{}
	if format != "" && format != formats.Auto {
		q.Set("format", format)
	}
	if host != "" {
		q.Set("host", host)
	}
	ans, err := c.post(ctx, "/api/v1/events?"+q.Encode(), b, "application/octet-stream")
	if err != nil {
		return err
	}
	ans.addTo(sum, name, 0)
	addCounts(sum.Formats, ans.Formats)
	addCounts(sum.Records, ans.Records)
	addCounts(sum.Events, ans.Events)
	sum.Lines += addCounts(sum.LinesBy, ans.Lines)
	for _, e := range ans.Errors {
		sum.FileErrors = append(sum.FileErrors, strings.Replace(e, "body", name, 1))
	}
	return nil
}

// addCounts adds src's counts to dst's and returns their sum.
func addCounts(dst, src map[string]int64) (total int64) {
	for k, v := range src {
		dst[k] += v
		total += v
	}
	return total
}

// addTo adds an answer to a file's summary; rejections are renamed after
// the file, their lines moved by lineBase (the lines before the batch).
func (ans IngestAnswer) addTo(sum *ingest.Summary, name string, lineBase int64) {
	sum.Stored += ans.Accepted
	sum.Duplicates += ans.Duplicates
	sum.Rejected += ans.Rejected
	for k, v := range ans.Reasons {
		sum.ByReason[k] += v
	}
	for k, v := range ans.Counts {
		sum.Counts[k] += v
	}
	for _, rj := range ans.Rejections {
		if len(sum.Samples) < 50 {
			rj.File = strings.Replace(rj.File, "body", name, 1)
			if rj.Line > 0 {
				rj.Line += lineBase
			}
			sum.Samples = append(sum.Samples, rj)
		}
	}
}

func (c *Client) ingestFile(ctx context.Context, name string, r io.Reader, sum *ingest.Summary) error {
	rd, release, err := ingest.Decompress(r)
	if err != nil {
		sum.FileErrors = append(sum.FileErrors, fmt.Sprintf("%s: %v", name, err))
		return nil
	}
	defer release()
	br := bufio.NewReaderSize(rd, event.MaxEventBytes+64<<10)
	var batch bytes.Buffer
	first, line := int64(1), int64(0)
	send := func() error {
		if batch.Len() == 0 {
			return nil
		}
		ans, err := c.sendBatch(ctx, batch.Bytes())
		if err != nil {
			return err
		}
		ans.addTo(sum, name, first-1)
		batch.Reset()
		first = line + 1
		return nil
	}
	for {
		l, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			line++
			sum.Lines++
			sum.Rejected++
			sum.ByReason[event.ReasonTooLarge]++
			batch.WriteByte('\n') // keeps the server's line numbers aligned
			if err != nil {
				break
			}
			continue
		}
		if len(l) > 0 {
			line++
			sum.Lines++
			batch.Write(l)
			if l[len(l)-1] != '\n' {
				batch.WriteByte('\n')
			}
		}
		if batch.Len() >= batchBytes {
			if err := send(); err != nil {
				return err
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				sum.FileErrors = append(sum.FileErrors, fmt.Sprintf("%s: %v (after line %d)", name, err, line))
			}
			break
		}
	}
	return send()
}

// sendBatch posts one batch, retrying while the server is unreachable or
// busy, for up to a minute.
func (c *Client) sendBatch(ctx context.Context, ndjson []byte) (IngestAnswer, error) {
	return c.post(ctx, "/api/v1/events", ndjson, "application/x-ndjson")
}

// post sends a body, gzipped, retrying while the server is unreachable or
// busy, for up to a minute.
func (c *Client) post(ctx context.Context, path string, body []byte, contentType string) (IngestAnswer, error) {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	zw.Write(body)
	zw.Close()
	deadline := time.Now().Add(time.Minute)
	wait := 100 * time.Millisecond
	for {
		resp, err := c.do(ctx, "POST", path, bytes.NewReader(gz.Bytes()), map[string]string{"Content-Encoding": "gzip", "Content-Type": contentType})
		if err == nil {
			defer resp.Body.Close()
			var ans IngestAnswer
			if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
				return ans, fmt.Errorf("read ingest answer: %w", err)
			}
			return ans, nil
		}
		var api *APIError
		retry := !errors.As(err, &api) || api.Status == http.StatusServiceUnavailable || api.Status == http.StatusTooManyRequests
		if !retry || time.Now().After(deadline) || ctx.Err() != nil {
			return IngestAnswer{}, err
		}
		fmt.Fprintf(os.Stderr, "spoor: %v; retrying in %v\n", err, wait)
		time.Sleep(wait)
		wait = min(2*wait, 5*time.Second)
	}
}
