package web_test

// The harness of the console's browser tests: a real spoor server with
// the console on 127.0.0.1, and a headless Chromium driven by chromedp.
// Every page's test (events, alerts, hosts, rules, sql) builds on it.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/spoor-dev/spoor/internal/auth"
	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/detect"
	"github.com/spoor-dev/spoor/internal/gen"
	"github.com/spoor-dev/spoor/internal/rules"
	"github.com/spoor-dev/spoor/internal/server"
	"github.com/spoor-dev/spoor/internal/testenv"
)

// console is a running server with the console, and tokens of two
// organizations.
type console struct {
	URL  string
	Dir  string
	DB   *datadir.DB
	Toks *auth.Store
	// Tokens of orgA and orgB by role.
	AdminA, AnalystA, IngestA, AdminB, AnalystB string
}

// startConsole runs `spoor serve`'s server, console on, over a fresh data
// directory, with detection on and the default rules, as serve runs.
func startConsole(t testing.TB) *console {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := datadir.Open(ctx, dir, datadir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	toks, err := auth.Open(filepath.Join(dir, "tokens.json"))
	if err != nil {
		t.Fatal(err)
	}
	mk := func(org string, role auth.Role) string {
		s, _, err := toks.Create(org, role, string(role)+"@"+org)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	c := &console{Dir: dir, DB: db, Toks: toks,
		AdminA: mk("orgA", auth.Admin), AnalystA: mk("orgA", auth.Analyst), IngestA: mk("orgA", auth.Ingest),
		AdminB: mk("orgB", auth.Admin), AnalystB: mk("orgB", auth.Analyst)}
	rulesDir, err := rules.OpenDir(filepath.Join(dir, "rules"))
	if err != nil {
		t.Fatal(err)
	}
	det := detect.New(rulesDir, db.Alerts, nil, nil)
	go det.Watch(ctx)
	srv := server.New(db, toks, server.Options{Listen: "127.0.0.1:0", Console: true, Detector: det, Rules: rulesDir})
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, func(a string) { addr <- a }) }()
	select {
	case a := <-addr:
		c.URL = "http://" + a
	case err := <-done:
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
		db.Close(context.Background())
	})
	return c
}

// ingest posts NDJSON events with token and fails the test unless all are
// accepted.
func (c *console) ingest(t testing.TB, token string, ndjson []byte) {
	t.Helper()
	code, body := c.do(t, "POST", "/api/v1/events", token, ndjson)
	if code != 200 || !bytes.Contains(body, []byte(`"rejected":0`)) {
		t.Fatalf("ingest: %d %s", code, body)
	}
}

// loadFleet ingests a generated fleet (internal/gen: the seeds' windows
// in 2020 with their attack scenarios) into token's organization, streamed
// from the generator in batches the API takes, and flushes it to parts as
// a running server would have; it returns the events ingested.
func (c *console) loadFleet(t testing.TB, token string, hosts int, rate float64) int {
	t.Helper()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := gen.Generate(context.Background(), gen.Options{Seed: 1, Hosts: hosts, Rate: rate}, pw, io.Discard)
		pw.CloseWithError(err)
		done <- err
	}()
	defer pr.Close() // a failed ingest stops the generator too
	sc := bufio.NewScanner(pr)
	sc.Buffer(nil, 16<<20)
	var batch bytes.Buffer
	n, inBatch := 0, 0
	send := func() {
		if inBatch > 0 {
			c.ingest(t, token, batch.Bytes())
			batch.Reset()
			inBatch = 0
		}
	}
	for sc.Scan() {
		batch.Write(sc.Bytes())
		batch.WriteByte('\n')
		n++
		if inBatch++; inBatch == 50_000 || batch.Len() > 32<<20 {
			send()
		}
	}
	send()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := c.DB.Lake.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return n
}

// do calls the server over HTTP with a bearer token ("" for none).
func (c *console) do(t testing.TB, method, path, token string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, c.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// chromium finds the browser: $SPOOR_CHROMIUM, else Debian's chromium or
// another Chrome on PATH. Without one the test skips, or fails under
// CI=true (.ci/run installs it).
func chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("SPOOR_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Missing(t, "no chromium on PATH (apt-get install chromium, or set SPOOR_CHROMIUM): the browser tests need one")
	return ""
}

// browser starts a headless Chromium of its own (its own profile, so its
// own cookies) and returns its chromedp context, ended with the test.
func browser(t testing.TB) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, // tests run as root in CI containers
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// Start the browser now, with no deadline (one would end the browser),
	// so a missing library fails here, clearly.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// stepTimeout bounds each step of a test in the browser.
const stepTimeout = 30 * time.Second

// do runs browser steps and fails the test with what it was doing.
func do(t testing.TB, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// get runs one browser action that reads something.
func get[T any](t testing.TB, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// text is the text of the first element the CSS selector sel matches.
func text(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	return get(t, ctx, "read "+sel, chromedp.Text(chromedp.CSS(sel)))
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](t testing.TB, ctx context.Context, js string) T {
	t.Helper()
	return get(t, ctx, "evaluate "+js, chromedp.Evaluate[T](js))
}

// open navigates to a path of the console and waits for sel.
func (c *console) open(t testing.TB, ctx context.Context, path, sel string) {
	t.Helper()
	do(t, ctx, "open "+path, chromedp.Navigate(c.URL+path), chromedp.WaitVisible(chromedp.CSS(sel)))
}

// signIn signs the browser in with token and waits for the events page.
func (c *console) signIn(t testing.TB, ctx context.Context, token string) {
	t.Helper()
	do(t, ctx, "sign in",
		chromedp.Navigate(c.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#token")),
		chromedp.SendKeys(chromedp.CSS("#token"), token),
		chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(chromedp.CSS("form.search")),
	)
}

// cookie returns the browser's cookie called name for the console, nil
// when it has none.
func (c *console) cookie(t testing.TB, ctx context.Context, name string) *network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{c.URL}})
	if err != nil {
		t.Fatalf("read cookies: %v", err)
	}
	for _, ck := range res.Cookies {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}

// screenshots is where the tests save screenshots: $SPOOR_SCREENSHOTS,
// else a temporary directory of the test.
func screenshots(t testing.TB) string {
	if d := os.Getenv("SPOOR_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// screenshot saves what the window shows (1280x900) as name.png.
func screenshot(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	png := get(t, ctx, "screenshot "+name, chromedp.CaptureScreenshot())
	path := filepath.Join(screenshots(t), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// probeSource runs in every page before its own scripts (DevTools
// injects it, past the CSP): it records CSP violations and script errors,
// so a test can tell that nothing an attacker wrote was run or tried to.
const probeSource = `window.__spoorProbe = {violations: [], errors: []};
document.addEventListener('securitypolicyviolation', e => window.__spoorProbe.violations.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '')));
window.addEventListener('error', e => window.__spoorProbe.errors.push(String(e.message)));`

// probe installs probeSource in the browser's pages from the next one on.
func probe(t testing.TB, ctx context.Context) { probeWith(t, ctx, probeSource) }

// probeWith installs a script that runs first in every page from the
// next one on.
func probeWith(t testing.TB, ctx context.Context, src string) {
	t.Helper()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src}); err != nil {
		t.Fatalf("install a probe: %v", err)
	}
}

// probeReport is what the probe saw on the current page.
type probeReport struct {
	Violations []string `json:"violations"`
	Errors     []string `json:"errors"`
}

func readProbe(t testing.TB, ctx context.Context) probeReport {
	t.Helper()
	return eval[probeReport](t, ctx, `window.__spoorProbe || {violations: ["no probe"], errors: []}`)
}

// eventLine is one Threat Stack event as NDJSON, with fields of its own.
func eventLine(id, host string, at time.Time, fields map[string]any) string {
	ev := map[string]any{"_id": id, "agent_id": "agent-" + host, "hostname": host, "event_time": at.UnixMilli()}
	for k, v := range fields {
		ev[k] = v
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return string(b) + "\n"
}
