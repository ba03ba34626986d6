package ship

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
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
)

// HTTPOptions configures the sink of a spoor server.
type HTTPOptions struct {
	Server string // base URL, http(s)://host:port
	Token  string // an ingest token
	// CA is a PEM file of the certificates the server's is checked against
	// (default: the system's). Cert and Key are a client certificate.
	CA, Cert, Key string
	UserAgent     string
	Timeout       time.Duration // one request (default 60 s)
}

// HTTPSink posts batches to POST /api/v1/events?format=threatstack.
type HTTPSink struct {
	url, token, agent string
	client            *http.Client
	buf               bytes.Buffer
	zw                *gzip.Writer
}

// NewHTTPSink checks o and prepares the TLS configuration.
func NewHTTPSink(o HTTPOptions) (*HTTPSink, error) {
	u, err := url.Parse(o.Server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server %q: want http(s)://host:port", o.Server)
	}
	if o.Token == "" {
		return nil, errors.New("no token: the server takes events only with an ingest token")
	}
	if (o.Cert == "") != (o.Key == "") {
		return nil, errors.New("a client certificate needs both its certificate and its key")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 1
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.CA != "" {
		pem, err := os.ReadFile(o.CA)
		if err != nil {
			return nil, fmt.Errorf("ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca %s: no PEM certificate in it", o.CA)
		}
		tc.RootCAs = pool
	}
	if o.Cert != "" {
		c, err := tls.LoadX509KeyPair(o.Cert, o.Key)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{c}
	}
	tr.TLSClientConfig = tc
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	agent := o.UserAgent
	if agent == "" {
		agent = "spoor-agent"
	}
	s := &HTTPSink{url: strings.TrimSuffix(o.Server, "/") + "/api/v1/events?format=threatstack", token: o.Token,
		agent: agent, client: &http.Client{Transport: tr, Timeout: timeout}}
	s.zw, _ = gzip.NewWriterLevel(&s.buf, gzip.BestSpeed)
	return s, nil
}

// answer is the server's reply to a batch (internal/server's ingestAnswer).
type answer struct {
	Accepted   int64            `json:"accepted"`
	Duplicates int64            `json:"duplicates"`
	Rejected   int64            `json:"rejected"`
	Reasons    map[string]int64 `json:"reasons"`
}

// Send implements Sink.
func (s *HTTPSink) Send(ctx context.Context, lines [][]byte) (Result, error) {
	s.buf.Reset()
	s.zw.Reset(&s.buf)
	for _, l := range lines {
		s.zw.Write(l)
		s.zw.Write([]byte{'\n'})
	}
	if err := s.zw.Close(); err != nil {
		return Result{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(s.buf.Bytes()))
	if err != nil {
		return Result{}, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("User-Agent", s.agent)
	resp, err := s.client.Do(req)
	if err != nil {
		return Result{}, &RetryError{err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return classify(resp.StatusCode, body, len(lines))
}

// classify turns a server's answer into a Result or an error the shipper
// acts on: retry (5xx, and 4xx that are not about the batch: a token not
// yet valid, throttling), split (413), or refuse (any other 4xx).
func classify(status int, body []byte, n int) (Result, error) {
	msg := errorMessage(body)
	switch {
	case status == http.StatusOK:
		var a answer
		if err := json.Unmarshal(body, &a); err != nil {
			// Stored, but the answer is unreadable: count it all accepted.
			return Result{Accepted: int64(n)}, nil
		}
		res := Result{Accepted: a.Accepted, Duplicates: a.Duplicates, Rejected: a.Reasons}
		if a.Rejected > 0 && len(a.Reasons) == 0 {
			res.Rejected = map[string]int64{"rejected": a.Rejected}
		}
		return res, nil
	case status == http.StatusRequestEntityTooLarge:
		return Result{}, fmt.Errorf("%w: %s", errSplit, msg)
	case status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusRequestTimeout,
		status == http.StatusTooEarly, status == http.StatusTooManyRequests:
		return Result{}, &RetryError{fmt.Errorf("server: %d %s", status, msg)}
	case status >= 400 && status < 500:
		return Result{}, &RefusedError{Status: status, Msg: msg}
	default:
		return Result{}, &RetryError{fmt.Errorf("server: %d %s", status, msg)}
	}
}

// errorMessage is the "error" of a JSON error answer, else the body's start.
func errorMessage(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return e.Error
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// Close implements Sink.
func (s *HTTPSink) Close() error {
	s.client.CloseIdleConnections()
	return nil
}

// FileSink appends batches to an NDJSON file, for hosts with no uplink
// (the file is carried over and read with `spoor ingest`).
type FileSink struct{ f *os.File }

// NewFileSink opens (creating) path for appending.
func NewFileSink(path string) (*FileSink, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("out: %w", err)
	}
	return &FileSink{f: f}, nil
}

// Send implements Sink: the batch is written and fsynced before it counts
// as delivered.
func (s *FileSink) Send(_ context.Context, lines [][]byte) (Result, error) {
	n := 0
	for _, l := range lines {
		n += len(l) + 1
	}
	b := make([]byte, 0, n)
	for _, l := range lines {
		b = append(append(b, l...), '\n')
	}
	if _, err := s.f.Write(b); err != nil {
		return Result{}, &RetryError{fmt.Errorf("out: %w", err)}
	}
	if err := s.f.Sync(); err != nil {
		return Result{}, &RetryError{fmt.Errorf("out: %w", err)}
	}
	return Result{Accepted: int64(len(lines))}, nil
}

// Close implements Sink.
func (s *FileSink) Close() error { return s.f.Close() }
