package web_test

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spoor-dev/spoor/internal/web"
)

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// httpSession signs in over plain HTTP, as a browser would, and returns a
// client with the session cookie and the session's CSRF token (read from
// a page's form).
func (c *console) httpSession(t *testing.T, token string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, CheckRedirect: noRedirects.CheckRedirect}
	resp, err := cl.PostForm(c.URL+"/login", url.Values{"token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	resp, err = cl.Get(c.URL + "/alerts")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no CSRF token on /alerts: %s", b)
	}
	return cl, string(m[1])
}

func postForm(t *testing.T, cl *http.Client, u string, form url.Values, hdr ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// A state change without the session's CSRF token, with a wrong one, or
// from another site's page is refused, and changes nothing; with the
// token from the console's own page it goes through.
func TestCSRFRefused(t *testing.T) {
	c := startConsole(t)
	c.ingest(t, c.AdminA, []byte(tmpExec("x-1", "web-1", "/tmp/implant", time.Now())))
	var alerts []struct {
		ID     string `json:"alert_id"`
		Status string `json:"status"`
	}
	code, body := c.do(t, "GET", "/api/v1/alerts", c.AnalystA, nil)
	if code != 200 || json.Unmarshal(body, &alerts) != nil || len(alerts) != 1 {
		t.Fatalf("alerts: %d %s", code, body)
	}
	cl, csrf := c.httpSession(t, c.AnalystA)
	form := func(token string) url.Values {
		v := url.Values{"id": {alerts[0].ID}, "reason": {"forged"}, "tab": {"open"}}
		if token != "" {
			v.Set("csrf", token)
		}
		return v
	}
	for _, tc := range []struct {
		name string
		form url.Values
		hdr  []string
	}{
		{"no token", form(""), nil},
		{"a wrong token", form(strings.Repeat("A", len(csrf))), nil},
		{"another site's page", form(csrf), []string{"Origin", "https://evil.example"}},
		{"another site's page, by its referer", form(csrf), []string{"Referer", "https://evil.example/page"}},
	} {
		resp := postForm(t, cl, c.URL+"/alerts/dismiss", tc.form, tc.hdr...)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("dismiss with %s: %d, want 403", tc.name, resp.StatusCode)
		}
	}
	if resp := postForm(t, cl, c.URL+"/logout", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-out without the token: %d, want 403", resp.StatusCode)
	}
	if _, body := c.do(t, "GET", "/api/v1/alerts?status=open", c.AnalystA, nil); !strings.Contains(string(body), alerts[0].ID) {
		t.Fatalf("a refused dismissal dismissed the alert: %s", body)
	}
	resp := postForm(t, cl, c.URL+"/alerts/dismiss", form(csrf), "Origin", c.URL)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "done=dismissed+1+of+1") {
		t.Fatalf("dismiss with the token: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// A revoked token ends its sessions at their next request.
func TestRevokedTokenEndsSession(t *testing.T) {
	c := startConsole(t)
	secret, tok, err := c.Toks.Create("orgA", "analyst", "soon revoked")
	if err != nil {
		t.Fatal(err)
	}
	cl, _ := c.httpSession(t, secret)
	if resp, err := cl.Get(c.URL + "/events"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("events before the revocation: %v %v", resp.StatusCode, err)
	}
	if err := c.Toks.Revoke(tok.ID); err != nil {
		t.Fatal(err)
	}
	resp, err := cl.Get(c.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("a revoked token's session still opens /events: %d", resp.StatusCode)
	}
}

// Every console answer carries the security headers: pages, the sign-in
// page, static files, errors and redirects alike; the API's answers are
// left as they are.
func TestSecurityHeaders(t *testing.T) {
	c := startConsole(t)
	cl, _ := c.httpSession(t, c.AnalystA)
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
	}
	for _, p := range []string{"/", "/login", "/events", "/alerts", "/events/nope", "/static/console.css", "/static/alerts.js", "/no-such-page", "/hosts"} {
		resp, err := cl.Get(c.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for k, v := range want {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s (%d): %s %q, want %q", p, resp.StatusCode, k, got, v)
			}
		}
	}
	// The API keeps its JSON answers, its 404 too, under the console.
	code, body := c.do(t, "GET", "/api/v1/nope", c.AnalystA, nil)
	if code != 404 || !strings.Contains(string(body), `"error":"no such endpoint`) {
		t.Errorf("an unknown API path: %d %s", code, body)
	}
}

// Under TLS the session cookie is Secure; sign-in sends the browser only
// to the console's own pages afterwards.
func TestSignInCookieAndNext(t *testing.T) {
	con := web.New(web.Options{API: http.NotFoundHandler(), Verify: func(s string) (string, string, bool) { return "orgA", "analyst", s == "good" }})
	for _, tc := range []struct{ next, want string }{
		{"/alerts?tab=dismissed", "/alerts?tab=dismissed"},
		{"//evil.example/x", "/events"},
		{`/\evil.example`, "/events"},
		{"https://evil.example", "/events"},
		{"", "/events"},
	} {
		req := httptest.NewRequest("POST", "https://console.example/login", strings.NewReader(url.Values{"token": {"good"}, "next": {tc.next}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.TLS = &tls.ConnectionState{}
		rec := httptest.NewRecorder()
		con.ServeHTTP(rec, req)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != tc.want {
			t.Errorf("next %q: %d to %q, want %q", tc.next, rec.Code, rec.Header().Get("Location"), tc.want)
		}
		ck := rec.Result().Cookies()
		if len(ck) != 1 || !ck[0].Secure || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode {
			t.Errorf("cookie under TLS %+v: want Secure, HttpOnly, SameSite=Strict", ck)
		}
	}
}

// A session ends after IdleTimeout without a request, and after MaxAge
// whatever its use.
func TestSessionExpiry(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	con := web.New(web.Options{API: http.NotFoundHandler(), Verify: func(string) (string, string, bool) { return "orgA", "analyst", true },
		Now: func() time.Time { return now }, IdleTimeout: time.Hour, MaxAge: 3 * time.Hour})
	signIn := func() *http.Cookie {
		req := httptest.NewRequest("POST", "/login", strings.NewReader("token=t"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		con.ServeHTTP(rec, req)
		return rec.Result().Cookies()[0]
	}
	// signedIn: a signed-in browser asking for the sign-in page is sent on.
	signedIn := func(ck *http.Cookie) bool {
		req := httptest.NewRequest("GET", "/login", nil)
		req.AddCookie(ck)
		rec := httptest.NewRecorder()
		con.ServeHTTP(rec, req)
		return rec.Code == http.StatusSeeOther
	}
	start := now
	ck := signIn()
	for _, step := range []struct {
		at   time.Duration
		want bool
	}{
		{59 * time.Minute, true},   // within the idle timeout
		{118 * time.Minute, true},  // 59 minutes after the last request
		{170 * time.Minute, true},  // 52 minutes idle
		{181 * time.Minute, false}, // used 11 minutes ago, but over MaxAge
	} {
		now = start.Add(step.at)
		if got := signedIn(ck); got != step.want {
			t.Errorf("at +%v: signed in %v, want %v", step.at, got, step.want)
		}
	}
	ck = signIn()
	now = now.Add(61 * time.Minute)
	if signedIn(ck) {
		t.Error("a session idle for 61 minutes is still signed in (idle timeout 1 h)")
	}
}
