package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/spoor-dev/spoor/internal/client"
)

// answer is what the API answered a sub-request.
type answer struct {
	Status int
	Header http.Header // trailers too: a recorder keeps the header map
	Body   []byte
}

// warnings are the answer's Spoor-Warning headers (quarantined parts,
// unknown fields), said on the page.
func (a *answer) warnings() []string { return a.Header.Values("Spoor-Warning") }

// err is the API's error of a failed answer, nil for a good one.
func (a *answer) err() error {
	if a.Status < 300 {
		return nil
	}
	e := &client.APIError{Status: a.Status}
	if json.Unmarshal(a.Body, e) != nil || e.Message == "" {
		e.Message = fmt.Sprintf("the API answered %d %s", a.Status, http.StatusText(a.Status))
	}
	return e
}

// call makes one request of the API in-process, as the session's token:
// the API's own checks (organization, role, SQL gate, limits) apply to
// every read and change the console makes. body, when not nil, is sent
// as JSON, or as it is when it is a []byte.
func (c *Console) call(ctx context.Context, s *session, method, path string, body any) (*answer, error) {
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", method, path, err)
		}
		rd, ctype = bytes.NewReader(j), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return nil, fmt.Errorf("request %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Accept", "application/json")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.RemoteAddr = "127.0.0.1:0" // the console itself
	rec := &recorder{header: http.Header{}}
	c.opts.API.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return &answer{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()}, nil
}

// callJSON calls the API and decodes a good answer's JSON into out; a
// failed answer is its *client.APIError.
func (c *Console) callJSON(ctx context.Context, s *session, method, path string, body, out any) (*answer, error) {
	a, err := c.call(ctx, s, method, path, body)
	if err != nil {
		return nil, err
	}
	if err := a.err(); err != nil {
		return a, err
	}
	if out != nil {
		if err := json.Unmarshal(a.Body, out); err != nil {
			return a, fmt.Errorf("read %s %s: %w", method, path, err)
		}
	}
	return a, nil
}

// recorder keeps an in-process answer. Headers set after the body (the
// trailers of a streamed search: Spoor-Next-Cursor, Spoor-Error) land in
// the same map, so they read as headers.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}

// Flush is a no-op: the whole answer is kept.
func (r *recorder) Flush() {}
