// Package web is spoor's console: server-rendered pages for events, alerts,
// hosts, rules and SQL, signed in with a token. Every page reads through
// the HTTP API in-process (see call), with the session's token, so the
// console sees exactly what that token may see and nothing more.
package web

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure a console. API and Verify are required.
type Options struct {
	// API is the HTTP API (/api/v1/...) that pages call in-process.
	API http.Handler
	// Verify says whose a token is: its organization and role, or !ok when
	// it is unknown or revoked. It runs on every request, so a revoked
	// token ends its sessions at once.
	Verify func(secret string) (org, role string, ok bool)
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// IdleTimeout ends a session unused for this long (default 12 h);
	// MaxAge ends any session this long after sign-in (default 7 days).
	IdleTimeout time.Duration
	MaxAge      time.Duration
	// PageSize is the rows of an events page (default 50).
	PageSize int
	// AlertPoll is how often an alert stream looks for new alerts
	// (default 2 s); Heartbeat how often it says it is alive (15 s, under
	// the server's 30 s write deadline).
	AlertPoll time.Duration
	Heartbeat time.Duration
}

func (o *Options) defaults() {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 12 * time.Hour
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 7 * 24 * time.Hour
	}
	if o.PageSize <= 0 {
		o.PageSize = 50
	}
	if o.AlertPoll <= 0 {
		o.AlertPoll = 2 * time.Second
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
}

// Console serves the pages.
type Console struct {
	opts     Options
	sessions *sessions
	pages    *pages
	mux      *http.ServeMux
}

// New returns a console over opts.API.
func New(opts Options) *Console {
	opts.defaults()
	c := &Console{opts: opts, sessions: newSessions(opts.Now, opts.IdleTimeout, opts.MaxAge), pages: loadPages()}
	c.mux = http.NewServeMux()
	c.routes()
	return c
}

// routes names every page. A page is a file, NAME.go, whose routeNAME adds
// its handlers: c.page(h) for a signed-in GET, c.post(h) for a change (CSRF
// and origin checked); h reads through c.callJSON or c.callRows (the API,
// as the session's token) and answers with c.render(w, r, s, code, "NAME",
// title, data), which draws templates/NAME.html's "content" in the layout
// (templates/NAME_more.html for more pages of the section; "table" and
// "queryerror" are layout templates to reuse), or c.fail on an error.
func (c *Console) routes() {
	static, _ := fs.Sub(staticFS, "static")
	c.mux.Handle("GET /static/", http.StripPrefix("/static/", cacheStatic(http.FileServerFS(static))))
	c.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/events", http.StatusSeeOther)
	})
	c.mux.HandleFunc("GET /login", c.loginPage)
	c.mux.HandleFunc("POST /login", c.login)
	c.mux.HandleFunc("POST /logout", c.post(c.logout))
	c.routeEvents()
	c.routeAlerts()
	c.routeHosts()
	c.routeRules()
	c.routeSQL()
	c.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, http.StatusNotFound, "no such page: "+r.URL.Path)
	})
}

// csp is the Content-Security-Policy of every console answer: nothing but
// the console's own files, no inline script or style, never framed but by
// itself (frames say so, see renderFrame).
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// ServeHTTP answers every console request with the security headers.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	c.mux.ServeHTTP(w, r)
}

// cacheStatic lets browsers keep the CSS and JS for an hour: they are
// small and change only with the binary.
func cacheStatic(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		h.ServeHTTP(w, r)
	})
}
