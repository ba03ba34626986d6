package ship

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/spoor-dev/spoor/internal/agent/spool"
)

// fakeServer stands for spoor serve: it checks what the agent sends and
// keeps the _ids; fail decides the answer to each request.
type fakeServer struct {
	mu       sync.Mutex
	ids      map[string]int
	requests int
	fail     func(n int, lines []string) int // status for request n (0: 200)
	t        *testing.T
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/events" || r.URL.Query().Get("format") != "threatstack" {
		f.t.Errorf("request to %s", r.URL)
	}
	if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("Content-Encoding") != "gzip" {
		f.t.Errorf("headers %v", r.Header)
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		f.t.Errorf("body not gzip: %v", err)
		return
	}
	var lines []string
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if f.fail != nil {
		if code := f.fail(f.requests, lines); code != 0 {
			if code == -1 { // a dropped connection
				hj, _ := w.(http.Hijacker)
				c, _, _ := hj.Hijack()
				c.Close()
				return
			}
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"error":"status %d"}`, code)
			return
		}
	}
	for _, l := range lines {
		var e struct {
			ID string `json:"_id"`
		}
		if err := json.Unmarshal([]byte(l), &e); err != nil || e.ID == "" {
			f.t.Errorf("line %q: %v", l, err)
		}
		f.ids[e.ID]++
	}
	fmt.Fprintf(w, `{"accepted":%d,"duplicates":0,"rejected":0}`, len(lines))
}

func (f *fakeServer) count() (ids, requests int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.ids), f.requests
}

func newSpool(t *testing.T, n int) *spool.Spool {
	t.Helper()
	sp, err := spool.Open(t.TempDir(), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	var evs [][]byte
	for i := range n {
		evs = append(evs, []byte(fmt.Sprintf(`{"_id":"e%d","event_type":"audit","event_time":1}`, i)))
	}
	if _, err := sp.Append(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	return sp
}

func sink(t *testing.T, url string, o HTTPOptions) *HTTPSink {
	t.Helper()
	o.Server, o.Token = url, "tok"
	s, err := NewHTTPSink(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var fast = Options{BatchEvents: 10, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}

func drain(t *testing.T, sh *Shipper) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := sh.Drain(ctx); err != nil {
		t.Fatalf("drain: %v (stats %+v)", err, sh.Stats())
	}
}

func TestShipBatchesAndAcknowledges(t *testing.T) {
	f := &fakeServer{ids: map[string]int{}, t: t}
	ts := httptest.NewServer(f)
	defer ts.Close()
	sp := newSpool(t, 25)
	sh := New(sp, sink(t, ts.URL, HTTPOptions{}), fast)
	drain(t, sh)
	ids, reqs := f.count()
	if ids != 25 || reqs != 3 {
		t.Fatalf("server got %d events in %d requests, want 25 in 3", ids, reqs)
	}
	if st := sp.Stats(); st.Events != 0 {
		t.Fatalf("spool still holds %d events", st.Events)
	}
	if st := sh.Stats(); st.Sent != 25 || st.Batches != 3 || st.LastSend == 0 {
		t.Fatalf("stats %+v", st)
	}
}

// 5xx answers and dropped connections are retried until the batch is
// taken; nothing is lost or counted lost.
func TestShipRetriesOutages(t *testing.T) {
	f := &fakeServer{ids: map[string]int{}, t: t, fail: func(n int, _ []string) int {
		switch n {
		case 1, 2:
			return http.StatusServiceUnavailable
		case 3:
			return -1
		case 4:
			return http.StatusTooManyRequests
		}
		return 0
	}}
	ts := httptest.NewServer(f)
	defer ts.Close()
	sp := newSpool(t, 15)
	sh := New(sp, sink(t, ts.URL, HTTPOptions{}), fast)
	drain(t, sh)
	if ids, _ := f.count(); ids != 15 {
		t.Fatalf("server got %d of 15 events", ids)
	}
	if st := sh.Stats(); st.Retries != 4 || st.Refused != 0 {
		t.Fatalf("stats %+v, want 4 retries, nothing refused", st)
	}
}

// A batch the server refuses (4xx) is counted lost once and not retried
// forever; the batches after it go through.
func TestShipRefusedBatchIsCountedNotRetried(t *testing.T) {
	f := &fakeServer{ids: map[string]int{}, t: t, fail: func(_ int, lines []string) int {
		for _, l := range lines {
			if strings.Contains(l, `"e3"`) {
				return http.StatusBadRequest
			}
		}
		return 0
	}}
	ts := httptest.NewServer(f)
	defer ts.Close()
	sp := newSpool(t, 30)
	sh := New(sp, sink(t, ts.URL, HTTPOptions{}), fast)
	drain(t, sh)
	ids, reqs := f.count()
	if ids != 20 || reqs != 3 {
		t.Fatalf("server took %d events in %d requests, want 20 in 3", ids, reqs)
	}
	if st := sh.Stats(); st.Refused != 10 || st.Retries != 0 {
		t.Fatalf("stats %+v, want 10 refused", st)
	}
}

// 413 splits the batch until the server takes it.
func TestShipSplitsTooLargeBatches(t *testing.T) {
	f := &fakeServer{ids: map[string]int{}, t: t, fail: func(_ int, lines []string) int {
		if len(lines) > 3 {
			return http.StatusRequestEntityTooLarge
		}
		return 0
	}}
	ts := httptest.NewServer(f)
	defer ts.Close()
	sp := newSpool(t, 20)
	sh := New(sp, sink(t, ts.URL, HTTPOptions{}), fast)
	drain(t, sh)
	if ids, _ := f.count(); ids != 20 {
		t.Fatalf("server got %d of 20 events", ids)
	}
	if st := sh.Stats(); st.Refused != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Run sends a lone event once it has waited BatchAge, without a full batch.
func TestShipSendsPartialBatchAfterItsAge(t *testing.T) {
	f := &fakeServer{ids: map[string]int{}, t: t}
	ts := httptest.NewServer(f)
	defer ts.Close()
	sp := newSpool(t, 1)
	o := fast
	o.BatchEvents, o.BatchAge = 1000, 20*time.Millisecond
	sh := New(sp, sink(t, ts.URL, HTTPOptions{}), o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- sh.Run(ctx) }()
	for i := 0; ; i++ {
		if ids, _ := f.count(); ids == 1 {
			break
		}
		if i > 3000 {
			t.Fatal("a lone event was never sent")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TLS: the server's certificate is checked against --ca, and the agent
// presents its client certificate.
func TestShipTLSWithCAAndClientCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, clientCert := selfSigned(t, dir)
	f := &fakeServer{ids: map[string]int{}, t: t}
	ts := httptest.NewUnstartedServer(f)
	pool := x509.NewCertPool()
	pool.AddCert(clientCert)
	ts.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	defer ts.Close()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	sp := newSpool(t, 5)
	sh := New(sp, sink(t, ts.URL, HTTPOptions{CA: ca, Cert: certFile, Key: keyFile}), fast)
	drain(t, sh)
	if ids, _ := f.count(); ids != 5 {
		t.Fatalf("server got %d of 5 events over TLS", ids)
	}

	// Without the CA the server's certificate is not trusted: retried, never sent.
	sp2 := newSpool(t, 1)
	sh2 := New(sp2, sink(t, ts.URL, HTTPOptions{Cert: certFile, Key: keyFile}), fast)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- sh2.Drain(ctx) }()
	for sh2.Stats().Retries == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err == nil || !strings.Contains(sh2.Stats().LastError, "certificate") || sh2.Stats().Sent != 0 {
		t.Fatalf("sent to an untrusted server: %v, %+v", err, sh2.Stats())
	}
}

func selfSigned(t *testing.T, dir string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "agent"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "agent.pem"), filepath.Join(dir, "agent.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile, cert
}

func TestShipToFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "events.ndjson")
	fs, err := NewFileSink(out)
	if err != nil {
		t.Fatal(err)
	}
	sp := newSpool(t, 12)
	sh := New(sp, fs, fast)
	drain(t, sh)
	fs.Close()
	b, _ := os.ReadFile(out)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 12 || lines[11] != `{"_id":"e11","event_type":"audit","event_time":1}` {
		t.Fatalf("file holds %d lines, last %q", len(lines), lines[len(lines)-1])
	}
}

func TestClassify(t *testing.T) {
	f := func(status int, body string, want string) {
		t.Helper()
		_, err := classify(status, []byte(body), 3)
		got := "ok"
		switch err.(type) {
		case nil:
		case *RetryError:
			got = "retry"
		case *RefusedError:
			got = "refuse"
		default:
			got = "split"
		}
		if got != want {
			t.Errorf("%d %s: %s, want %s", status, body, got, want)
		}
	}
	f(200, `{"accepted":3}`, "ok")
	f(200, `garbage`, "ok")
	f(400, `{"error":"bad"}`, "refuse")
	f(422, ``, "refuse")
	f(413, ``, "split")
	f(401, ``, "retry")
	f(429, ``, "retry")
	f(500, ``, "retry")
	f(503, ``, "retry")
	res, _ := classify(200, []byte(`{"accepted":1,"rejected":2,"reasons":{"malformed JSON":2}}`), 3)
	if res.Rejected["malformed JSON"] != 2 {
		t.Errorf("rejections lost: %+v", res)
	}
}

// A batch in hand when Run stops is the first Drain sends: the spool is
// acknowledged in order, so a batch skipped would be a batch lost.
func TestShipDrainSendsTheBatchRunWasRetrying(t *testing.T) {
	var down sync.Mutex
	failing := true
	f := &fakeServer{ids: map[string]int{}, t: t, fail: func(int, []string) int {
		down.Lock()
		defer down.Unlock()
		if failing {
			return http.StatusServiceUnavailable
		}
		return 0
	}}
	ts := httptest.NewServer(f)
	defer ts.Close()
	sp := newSpool(t, 25)
	sh := New(sp, sink(t, ts.URL, HTTPOptions{}), fast)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- sh.Run(ctx) }()
	for sh.Stats().Retries < 2 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	down.Lock()
	failing = false
	down.Unlock()
	drain(t, sh)
	if ids, _ := f.count(); ids != 25 {
		t.Fatalf("server got %d of 25 events", ids)
	}
}
