package server

import (
	"bytes"
	"context"
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
	"github.com/valyala/fastjson"
)

// maxDecoded bounds a decompressed body: a small zip bomb must not fill memory.
const maxDecoded = 512 << 20

// ingestAnswer says what happened to each event of a batch. It is sent only
// once the accepted events are durable.
type ingestAnswer struct {
	Accepted   int64              `json:"accepted"`
	Duplicates int64              `json:"duplicates"`
	Rejected   int64              `json:"rejected"`
	Rejections []ingest.Rejection `json:"rejections,omitempty"`
	Reasons    map[string]int64   `json:"reasons,omitempty"`
	// Counts are a decoder's tallies (auditd sequence gaps, say).
	Counts map[string]int64 `json:"counts,omitempty"`
	// Errors name parts of the body that could not be read (a zip entry).
	Errors []string `json:"errors,omitempty"`
}

func (s *Server) postEvents(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes: send smaller batches", s.opts.MaxBodyBytes), "")
		return
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "read body: "+err.Error(), "")
		return
	}
	body, err = decode(body, r.Header.Get("Content-Encoding"))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), "")
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
	if f.Name != "" && f.Kind != formats.Lines {
		s.storeFormatted(w, r, f, body)
		return
	}
	if b := bytes.TrimLeft(body, " \t\r\n"); len(b) > 0 && b[0] == '[' {
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
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "store unavailable, retry the batch: "+err.Error(), "")
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// store normalises a body of NDJSON into org and appends it durably.
func (s *Server) store(ctx context.Context, org string, body []byte) (ingestAnswer, error) {
	norm := s.norms.Get().(*event.Normalizer)
	defer s.norms.Put(norm)
	norm.Org = org
	ans := ingestAnswer{Reasons: map[string]int64{}}
	evs := ingest.ParseLines(norm, "body", body, func(rj ingest.Rejection) {
		ans.Rejected++
		ans.Reasons[rj.Reason]++
		if len(ans.Rejections) < 1000 {
			ans.Rejections = append(ans.Rejections, rj)
		}
	})
	for _, e := range evs {
		e.SetString(event.OrganizationID, org) // the caller's organization, whatever the event says
	}
	res, err := s.db.Lake.Append(ctx, evs) // durable (WAL fsync) before it returns
	if err != nil {
		return ans, err
	}
	if err := s.detect(ctx, org, evs); err != nil {
		return ans, err
	}
	ans.Accepted, ans.Duplicates = int64(res.Stored), int64(res.Duplicates)
	s.metrics.counted(org, ans.Accepted, ans.Duplicates, ans.Reasons)
	return ans, nil
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
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "store unavailable, retry the batch: "+err.Error(), "")
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
	opts := ingest.Options{Org: org, ForceOrg: true, Format: format, Host: r.URL.Query().Get("host"), MaxSamples: 1000}
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
	if len(sum.FileErrors) > 0 && sum.Stored+sum.Duplicates == 0 && sum.Rejected == 0 {
		return ingestAnswer{}, badBody(strings.Join(sum.FileErrors, "; "))
	}
	ans := ingestAnswer{Accepted: stored, Duplicates: dups, Rejected: sum.Rejected, Rejections: sum.Samples, Reasons: sum.ByReason, Counts: sum.Counts, Errors: sum.FileErrors}
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

// decode undoes a Content-Encoding (gzip, zstd), bounded.
func decode(b []byte, enc string) ([]byte, error) {
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
		zr, err := zstd.NewReader(bytes.NewReader(b), zstd.WithDecoderMaxMemory(maxDecoded))
		if err != nil {
			return nil, fmt.Errorf("zstd body: %w", err)
		}
		defer zr.Close()
		r = zr
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q (gzip, zstd or none)", enc)
	}
	out, err := io.ReadAll(io.LimitReader(r, maxDecoded+1))
	if err != nil {
		return nil, fmt.Errorf("%s body: %w", enc, err)
	}
	if len(out) > maxDecoded {
		return nil, fmt.Errorf("%s body decodes to over %d bytes", enc, maxDecoded)
	}
	return out, nil
}

// arrayToLines turns a JSON array of events into NDJSON.
func arrayToLines(b []byte) ([]byte, error) {
	var p fastjson.Parser
	v, err := p.ParseBytes(b)
	if err != nil {
		return nil, err
	}
	a, err := v.Array()
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(b)+len(a))
	for _, x := range a {
		out = x.MarshalTo(out)
		out = append(out, '\n')
	}
	return out, nil
}
