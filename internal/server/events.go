package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/ingest"
	"github.com/spoor-dev/spoor/internal/parse/formats"
)

// ingestAnswer says what happened to each event of a batch. It is sent only
// once the accepted events are durable.
type ingestAnswer struct {
	Accepted   int64              `json:"accepted"`
	Duplicates int64              `json:"duplicates"`
	Rejected   int64              `json:"rejected"`
	Rejections []ingest.Rejection `json:"rejections"` // [] when none
	Reasons    map[string]int64   `json:"reasons,omitempty"`
	// Counts are a decoder's tallies (auditd sequence gaps, say).
	Counts map[string]int64 `json:"counts,omitempty"`
	// Errors name parts of the body that could not be read (a zip entry).
	Errors []string `json:"errors,omitempty"`
	// Formats counts the inputs read in each format (a zip's entries one
	// by one); Lines (text formats), Records and Events count per format
	// what was read and the events that came of it, as spoor ingest's
	// summary says them.
	Formats map[string]int64 `json:"formats,omitempty"`
	Lines   map[string]int64 `json:"lines,omitempty"`
	Records map[string]int64 `json:"records,omitempty"`
	Events  map[string]int64 `json:"events,omitempty"`
}

func (s *Server) postEvents(w http.ResponseWriter, r *http.Request) {
	body, code, err := s.readBody(w, r)
	if err != nil {
		writeError(w, code, err.Error(), "")
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		writeError(w, http.StatusBadRequest, "empty body: send events (JSON lines, a JSON array, or a file's bytes)", "")
		return
	}
	// The body's format: named, or recognised from its first bytes like a
	// file's. Threat Stack lines take the fast path below; the rest go
	// through the same readers as `spoor ingest`.
	f, err := bodyFormat(r, body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), "")
		return
	}
	b := bytes.TrimLeft(body, " \t\r\n")
	if f.Name != "" && f.Kind != formats.Lines {
		s.storeFormatted(w, r, f, body)
		return
	}
	if len(b) > 0 && b[0] != '[' && !ingest.LineShaped(b[:min(len(b), 64<<10)]) {
		// Pretty-printed objects: split into records as spoor ingest does.
		ts, _ := formats.ByName("threatstack")
		s.storeFormatted(w, r, ts, body)
		return
	}
	lines := lineCount(body)
	if len(b) > 0 && b[0] == '[' {
		if body, err = arrayToLines(b); err != nil {
			writeError(w, http.StatusBadRequest, "JSON array body: "+err.Error(), "")
			return
		}
	}
	if n := bytes.Count(body, []byte{'\n'}); n > s.opts.MaxBatchEvents {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%d events in one batch, limit %d: send smaller batches", n, s.opts.MaxBatchEvents), "")
		return
	}
	ans, err := s.store(r.Context(), tokenOf(r).Org, body)
	if err != nil {
		// What was acknowledged to the store is durable; the caller retries
		// the batch and the dedupe keeps each event once.
		storeFailed(w, err)
		return
	}
	const ts = "threatstack"
	ans.Formats = map[string]int64{ts: 1}
	ans.Lines = map[string]int64{ts: lines}
	ans.Records = map[string]int64{ts: ans.Accepted + ans.Duplicates + ans.Rejected}
	ans.Events = map[string]int64{ts: ans.Accepted + ans.Duplicates}
	writeJSON(w, http.StatusOK, ans)
}

// lineCount counts lines as spoor ingest does: newlines, and a last line
// without one.
func lineCount(b []byte) int64 {
	n := int64(bytes.Count(b, []byte{'\n'}))
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}

// store normalises a body of NDJSON into org and appends it durably.
func (s *Server) store(ctx context.Context, org string, body []byte) (ingestAnswer, error) {
	norm := s.norms.Get().(*event.Normalizer)
	defer s.norms.Put(norm)
	norm.Org = org
	ans := ingestAnswer{Reasons: map[string]int64{}, Rejections: []ingest.Rejection{}}
	var line int64 // lines before the batch
	reject := func(rj ingest.Rejection) {
		rj.Line += line
		ans.Rejected++
		ans.Reasons[rj.Reason]++
		if len(ans.Rejections) < 1000 {
			ans.Rejections = append(ans.Rejections, rj)
		}
	}
	// In batches of whole lines: the events of the whole body at once,
	// their WAL record and detection's copies would hold several times the
	// body's size.
	for len(body) > 0 {
		batch := body
		if len(batch) > storeBatchBytes {
			if i := bytes.IndexByte(batch[storeBatchBytes:], '\n'); i >= 0 {
				batch = batch[:storeBatchBytes+i+1]
			}
		}
		body = body[len(batch):]
		evs := ingest.ParseLines(norm, "body", batch, reject)
		line += int64(bytes.Count(batch, []byte{'\n'}))
		for _, e := range evs {
			e.SetString(event.OrganizationID, org) // the caller's organization, whatever the event says
		}
		res, err := s.db.Lake.Append(ctx, evs) // durable (WAL fsync) before it returns
		ans.Accepted += int64(res.Stored)
		ans.Duplicates += int64(res.Duplicates)
		if err != nil {
			return ans, err
		}
		if err := s.detect(ctx, org, evs); err != nil {
			return ans, err
		}
	}
	s.metrics.counted(org, ans.Accepted, ans.Duplicates, ans.Reasons)
	return ans, nil
}

// storeBatchBytes is how much of a body is parsed and stored at a time.
const storeBatchBytes = 4 << 20

// readBody reads a request body, decoded from its Content-Encoding. Body
// and decoded body are both bounded by MaxBodyBytes, so one request holds
// at most that much; on failure code is the status to answer.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) (body []byte, code int, err error) {
	limit := s.opts.MaxBodyBytes
	// Sized from Content-Length: io.ReadAll's doubling would hold up to
	// twice the body.
	buf := bytes.NewBuffer(make([]byte, 0, min(limit, max(r.ContentLength, 0))+bytes.MinRead))
	_, err = buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("body over %d bytes: send smaller batches", limit)
	}
	if err != nil {
		return nil, http.StatusBadRequest, fmt.Errorf("read body: %w", err)
	}
	body, err = decode(buf.Bytes(), r.Header.Get("Content-Encoding"), limit)
	if errors.Is(err, errDecodedTooBig) {
		return nil, http.StatusRequestEntityTooLarge, fmt.Errorf("%w (%d bytes): send smaller batches", err, limit)
	}
	if err != nil {
		return nil, http.StatusBadRequest, err
	}
	return body, 0, nil
}

// isContainer says whether a body is a zip, or a compressed file sent as
// it is (a .gz file, say, under its own Content-Encoding).
func isContainer(b []byte) bool {
	return bytes.HasPrefix(b, []byte("PK\x03\x04")) || bytes.HasPrefix(b, []byte{0x1f, 0x8b}) || bytes.HasPrefix(b, []byte{0x28, 0xb5, 0x2f, 0xfd})
}

// storeFormatted reads a body in another format than Threat Stack lines
// (auditd, EVTX, Windows JSON, CloudTrail, a zip of them) into the
// caller's organization, answering once what was accepted is durable.
func (s *Server) storeFormatted(w http.ResponseWriter, r *http.Request, f formats.Format, body []byte) {
	ans, err := s.readFormatted(r, f, body)
	var bad badBody
	switch {
	case errors.As(err, &bad):
		writeError(w, http.StatusBadRequest, err.Error(), "")
	case err != nil:
		storeFailed(w, err)
	default:
		writeJSON(w, http.StatusOK, ans)
	}
}

// badBody is a body none of which could be read.
type badBody string

func (b badBody) Error() string { return string(b) }

// readFormatted stores a body with the readers of `spoor ingest`. f is the
// format, or "container" for a zip or compressed file whose contents are
// detected one by one.
func (s *Server) readFormatted(r *http.Request, f formats.Format, body []byte) (ingestAnswer, error) {
	org := tokenOf(r).Org
	format := f.Name
	if format == "container" {
		format = ""
	}
	opts := ingest.Options{Org: org, ForceOrg: true, Format: format, Host: r.URL.Query().Get("host"), HostFlag: "?host= (spoor ingest: --host)", MaxSamples: 1000}
	var stored, dups int64
	var mu sync.Mutex
	sink := func(ctx context.Context, evs []*event.Event) (int, int, error) {
		res, err := s.db.Lake.Append(ctx, evs) // durable (WAL fsync) before it returns
		if err == nil {
			err = s.detect(ctx, org, evs)
		}
		mu.Lock()
		stored += int64(res.Stored)
		dups += int64(res.Duplicates)
		mu.Unlock()
		return res.Stored, res.Duplicates, err
	}
	sum, err := ingest.RunSources(r.Context(), []ingest.Source{ingest.ReaderSource("body", bytes.NewReader(body))}, sink, opts)
	if err != nil {
		return ingestAnswer{}, err
	}
	if len(sum.Refused) > 0 {
		// Raw auditd naming no host: the caller must say whose it is.
		return ingestAnswer{}, badBody(strings.Join(sum.Refused, "; "))
	}
	if len(sum.FileErrors) > 0 && sum.Stored+sum.Duplicates == 0 && sum.Rejected == 0 {
		return ingestAnswer{}, badBody(strings.Join(sum.FileErrors, "; "))
	}
	ans := ingestAnswer{Accepted: stored, Duplicates: dups, Rejected: sum.Rejected, Rejections: nonNil(sum.Samples), Reasons: sum.ByReason, Counts: sum.Counts, Errors: sum.FileErrors,
		Formats: sum.Formats, Lines: sum.LinesBy, Records: sum.Records, Events: sum.Events}
	s.metrics.counted(org, ans.Accepted, ans.Duplicates, ans.Reasons)
	return ans, nil
}

// bodyFormat is the format a body is in: named by ?format=, else
// recognised from its first bytes. The zero Format means Threat Stack
// lines (or HEC's own shapes); "container" a zip or compressed file.
func bodyFormat(r *http.Request, body []byte) (formats.Format, error) {
	f, err := formats.ByName(r.URL.Query().Get("format"))
	if err != nil || f.Name != "" {
		return f, err
	}
	if isContainer(body) {
		return formats.Format{Name: "container"}, nil
	}
	if d, ok := formats.Detect(body[:min(len(body), 64<<10)]); ok && d.Kind != formats.Lines {
		return d, nil
	}
	return formats.Format{}, nil
}

// detect evaluates a stored batch with the live rules and makes its alerts
// durable; the batch is acknowledged only after (see package detect).
func (s *Server) detect(ctx context.Context, org string, evs []*event.Event) error {
	if s.opts.Detector == nil {
		return nil
	}
	return s.opts.Detector.Process(ctx, evs) // the events carry org already
}

// errDecodedTooBig is a compressed body that decodes to over the body limit.
var errDecodedTooBig = errors.New("body decodes to over the body limit")

// decode undoes a Content-Encoding (gzip, zstd), bounded to limit bytes.
func decode(b []byte, enc string, limit int64) ([]byte, error) {
	var r io.Reader
	switch strings.ToLower(strings.TrimSpace(enc)) {
	case "", "identity":
		return b, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(b), zstd.WithDecoderMaxMemory(uint64(limit)))
		if err != nil {
			return nil, fmt.Errorf("zstd body: %w", err)
		}
		defer zr.Close()
		r = zr
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q (gzip, zstd or none)", enc)
	}
	out, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s body: %w", enc, err)
	}
	if int64(len(out)) > limit {
		return nil, errDecodedTooBig
	}
	return out, nil
}

// arrayToLines turns a JSON array of events into NDJSON, one element at a
// time: a parse tree of the whole array would hold many times its size.
func arrayToLines(b []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return nil, errors.New("not a JSON array")
	}
	out := make([]byte, 0, len(b))
	var elem json.RawMessage
	for dec.More() {
		elem = elem[:0]
		if err := dec.Decode(&elem); err != nil {
			return nil, err
		}
		if err := compactInto(&out, elem); err != nil {
			return nil, err
		}
		out = append(out, '\n') // compact JSON holds no newline
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return out, nil
}

// compactInto appends elem without insignificant space: one line.
func compactInto(out *[]byte, elem []byte) error {
	buf := bytes.NewBuffer(*out)
	if err := json.Compact(buf, elem); err != nil {
		return err
	}
	*out = buf.Bytes()
	return nil
}
