// Package server is spoor's HTTP API v1: durable event ingest, filter-
// language search and SQL, every call scoped to the organization of the
// caller's token.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/spoor-dev/spoor/internal/auth"
	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/detect"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/rules"
)

// Options configure a server. Zero values take the defaults.
type Options struct {
	Listen       string        // default 127.0.0.1:7878
	MaxBodyBytes int64         // request body limit, default 64 MiB
	MaxRows      int           // rows a search or SQL answer may hold, default 100,000
	FlushEvery   time.Duration // head to parts, default 10 s
	CompactEvery time.Duration // compaction and retention, default 10 min
	TLSCert      string
	TLSKey       string
	Logger       *slog.Logger
	// MaxQueries bounds searches and SQL running at once (default 4); more
	// wait up to QueueWait, then get 429 with Retry-After.
	MaxQueries int
	// MaxIngests bounds ingest requests in flight (default 16), likewise
	// with 503.
	MaxIngests int
	// MaxQueriesPerOrg and MaxIngestsPerOrg are one organization's share of
	// those slots (default half, rounded up): its extra requests wait in
	// its own queue, and waiting organizations are served in turn.
	MaxQueriesPerOrg int
	MaxIngestsPerOrg int
	QueueWait        time.Duration // default 2 s
	// WriteTimeout drops an answer that makes no progress for this long: a
	// client that stops reading frees its slot (default 30 s). A slow
	// client that keeps reading is served to the end.
	WriteTimeout time.Duration
	// ShutdownWait bounds the way out (default 10 s): requests still
	// running after 3/4 of it are cut, and the head is flushed in what is
	// left; what the flush does not reach stays in the WAL.
	ShutdownWait time.Duration
	// MaxHeadEvents: above this many unflushed events ingest answers 503
	// with Retry-After until the flush catches up (default 2,000,000).
	MaxHeadEvents int
	// ReadHeaderTimeout drops clients that send headers too slowly (10 s).
	ReadHeaderTimeout time.Duration
	// OperatorOrg's /metrics also shows what all organizations share (the
	// WAL); "" shows it to none.
	OperatorOrg string
	// Detector evaluates every ingested batch before it is acknowledged;
	// nil turns detection off. Rules is the rules directory it reads.
	Detector *detect.Detector
	Rules    *rules.Dir
	// MaxBatchEvents bounds the events of one request (default 100,000).
	MaxBatchEvents int
	// Console serves the web console (internal/web) at /.
	Console bool
}

func (o *Options) defaults() {
	if o.Listen == "" {
		o.Listen = "127.0.0.1:7878"
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 64 << 20
	}
	if o.MaxRows <= 0 {
		o.MaxRows = 100_000
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = 10 * time.Second
	}
	if o.CompactEvery <= 0 {
		o.CompactEvery = 10 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxQueries <= 0 {
		o.MaxQueries = 4
	}
	if o.MaxIngests <= 0 {
		o.MaxIngests = 16
	}
	if o.QueueWait <= 0 {
		o.QueueWait = 2 * time.Second
	}
	if o.MaxHeadEvents <= 0 {
		o.MaxHeadEvents = 2_000_000
	}
	if o.MaxBatchEvents <= 0 {
		o.MaxBatchEvents = 100_000
	}
	if o.ReadHeaderTimeout <= 0 {
		o.ReadHeaderTimeout = 10 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 30 * time.Second
	}
	if o.ShutdownWait <= 0 {
		o.ShutdownWait = 10 * time.Second
	}
}

// defaultOptions are the options a zero Options stands for.
func defaultOptions() Options {
	var o Options
	o.defaults()
	return o
}

// Server answers the API over one data directory.
type Server struct {
	db       *datadir.DB
	tokens   *auth.Store
	opts     Options
	metrics  *metrics
	queries  *fairSlots    // slots for queries running at once
	ingests  *fairSlots    // slots for ingest requests in flight
	flushNow chan struct{} // asks Run for a flush ahead of its ticker
	norms    sync.Pool     // *event.Normalizer, caches warm across requests
}

// FlushWanted returns the hook to give the lake (lake.Options.FlushWanted)
// so that a full head is flushed by the server's loop, not in a request.
func FlushWanted(s **Server) func() {
	return func() {
		if *s != nil {
			(*s).wantFlush()
		}
	}
}

func (s *Server) wantFlush() {
	select {
	case s.flushNow <- struct{}{}:
	default:
	}
}

// New returns a server over db, authenticating with tokens.
func New(db *datadir.DB, tokens *auth.Store, opts Options) *Server {
	opts.defaults()
	s := &Server{db: db, tokens: tokens, opts: opts,
		queries: newFairSlots(opts.MaxQueries, opts.MaxQueriesPerOrg), ingests: newFairSlots(opts.MaxIngests, opts.MaxIngestsPerOrg),
		flushNow: make(chan struct{}, 1)}
	s.metrics = s.newMetrics()
	s.norms.New = func() any { return new(event.Normalizer) }
	return s
}

// Handler routes the API, and the console when Options.Console is on.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.authed(auth.Role.CanRead, s.ready))
	mux.HandleFunc("POST /api/v1/events", s.authed(auth.Role.CanWrite, s.ingestSlot(s.postEvents)))
	mux.HandleFunc("POST /api/v1/search", s.authed(auth.Role.CanRead, s.querySlot(s.metrics.timed("search", s.search))))
	mux.HandleFunc("POST /api/v1/sql", s.authed(auth.Role.CanRead, s.querySlot(s.metrics.timed("sql", s.sql))))
	mux.HandleFunc("GET /api/v1/search", s.authed(auth.Role.CanRead, s.querySlot(s.metrics.timed("search", s.search))))
	mux.HandleFunc("GET /api/v1/events/{id}", s.authed(auth.Role.CanRead, s.querySlot(s.metrics.timed("event", s.getEvent))))
	mux.HandleFunc("GET /metrics", s.authed(auth.Role.CanRead, s.metrics.handler))
	mux.HandleFunc("POST /services/collector/event", s.hecAuthed(s.ingestSlot(s.hecEvent)))
	mux.HandleFunc("POST /services/collector", s.hecAuthed(s.ingestSlot(s.hecEvent)))
	mux.HandleFunc("POST /services/collector/event/1.0", s.hecAuthed(s.ingestSlot(s.hecEvent)))
	mux.HandleFunc("POST /services/collector/raw", s.hecAuthed(s.ingestSlot(s.hecRaw)))
	mux.HandleFunc("POST /services/collector/raw/1.0", s.hecAuthed(s.ingestSlot(s.hecRaw)))
	mux.HandleFunc("GET /services/collector/health", s.hecAuthed(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, hecAnswer{Text: "HEC is healthy", Code: 17})
	}))
	mux.HandleFunc("GET /api/v1/sql", s.authed(auth.Role.CanRead, s.querySlot(s.metrics.timed("sql", s.sql))))
	s.routeDetection(mux)
	s.routeHunt(mux)
	s.routeAgents(mux)
	api := jsonRouteErrors(mux)
	if s.opts.Console {
		return writeDeadlines(s.opts.WriteTimeout, withConsole(mux, api, s.console(api)))
	}
	return writeDeadlines(s.opts.WriteTimeout, api)
}

// jsonRouteErrors answers what the mux itself refuses, a path no route
// has (404) or a method the path's routes do not take (405), with the JSON
// error every other answer has.
func jsonRouteErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		// The mux's own answer, for its status and Allow header only.
		rec := &statusRecorder{header: http.Header{}, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		switch rec.code {
		case http.StatusNotFound:
			writeError(w, rec.code, fmt.Sprintf("no such endpoint: %s %s (docs/api.md lists them)", r.Method, r.URL.Path), "")
		case http.StatusMethodNotAllowed:
			allow := rec.header.Get("Allow")
			w.Header().Set("Allow", allow)
			writeError(w, rec.code, fmt.Sprintf("%s %s: the method is not allowed here (allowed: %s)", r.Method, r.URL.Path, allow), "")
		default: // a redirect to the canonical path, say
			mux.ServeHTTP(w, r)
		}
	})
}

// statusRecorder keeps the status and headers of an answer, dropping its
// body.
type statusRecorder struct {
	header http.Header
	code   int
}

func (s *statusRecorder) Header() http.Header         { return s.header }
func (s *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusRecorder) WriteHeader(code int)        { s.code = code }

// article is "a" or "an" before word, as it is said.
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

type ctxKey struct{}

// tokenOf returns the caller's token (set by authed).
func tokenOf(r *http.Request) auth.Token { return r.Context().Value(ctxKey{}).(auth.Token) }

// authed admits callers with a live token whose role passes allow.
func (s *Server) authed(allow func(auth.Role) bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		tok, valid := s.tokens.Verify(strings.TrimSpace(secret))
		if !ok || !valid {
			w.Header().Set("WWW-Authenticate", `Bearer realm="spoor"`)
			writeError(w, http.StatusUnauthorized, "a valid token is required (Authorization: Bearer TOKEN)", "")
			return
		}
		if !allow(tok.Role) {
			writeError(w, http.StatusForbidden, fmt.Sprintf("%s %s token may not do this", article(string(tok.Role)), tok.Role), "")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, tok)))
	}
}

// querySlot runs h when a query slot is free within QueueWait, else 429.
func (s *Server) querySlot(h http.HandlerFunc) http.HandlerFunc {
	return s.slot(s.queries, http.StatusTooManyRequests, "too many queries at once for your organization", h)
}

// ingestSlot runs h when the store takes writes (else 507 or 503, see
// storeFailed), an ingest slot is free and the head is not too far behind
// its flushes (else 503); senders retry both.
func (s *Server) ingestSlot(h http.HandlerFunc) http.HandlerFunc {
	inner := s.slot(s.ingests, http.StatusServiceUnavailable, "too many ingest requests at once for your organization", h)
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.db.Lake.Writable(r.Context()); err != nil {
			// Refused before the body is read: a full disk costs little.
			storeFailed(w, err)
			return
		}
		if s.db.Lake.Stats().HeadEvents > s.opts.MaxHeadEvents {
			// The flush is behind; ask for one now.
			s.wantFlush()
			w.Header().Set("Retry-After", "2")
			writeError(w, http.StatusServiceUnavailable, "ingest is behind its flushes: retry later", "")
			return
		}
		inner(w, r)
	}
}

// slot runs h in one of slots, shared fairly among organizations (see
// fairSlots); after QueueWait without one it answers busy.
func (s *Server) slot(slots *fairSlots, busy int, msg string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		release, ok := slots.acquire(r.Context(), tokenOf(r).Org, s.opts.QueueWait)
		if !ok {
			if r.Context().Err() != nil {
				return // the client left
			}
			w.Header().Set("Retry-After", "1")
			writeError(w, busy, msg+": retry later", "")
			return
		}
		defer release()
		h(w, r)
	}
}

// apiError is the body of every error answer.
type apiError struct {
	Error    string `json:"error"`
	Position string `json:"position,omitempty"`
}

func writeError(w http.ResponseWriter, code int, msg, pos string) {
	writeJSON(w, code, apiError{Error: msg, Position: pos})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// Run serves until ctx ends, flushing the head and compacting in the
// background; on the way out it stops taking requests and flushes the head.
func (s *Server) Run(ctx context.Context, ready func(addr string)) error {
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       5 * time.Minute, // a body trickling in for longer is dropped
		MaxHeaderBytes:    64 << 10,
		// Every request's context ends with ctx: shutting down interrupts
		// the queries still running.
		BaseContext: func(net.Listener) context.Context { return ctx },
		ErrorLog:    slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn),
	}
	if ready != nil {
		ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() {
		if s.opts.TLSCert != "" {
			errc <- srv.ServeTLS(ln, s.opts.TLSCert, s.opts.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	flush := time.NewTicker(s.opts.FlushEvery)
	defer flush.Stop()
	compact := time.NewTicker(s.opts.CompactEvery)
	defer compact.Stop()
	for {
		select {
		case err := <-errc:
			return err
		case <-s.flushNow:
			s.flush(ctx)
		case <-flush.C:
			s.flush(ctx)
		case <-compact.C:
			if _, err := s.db.Lake.Compact(ctx, time.Now()); err != nil {
				s.opts.Logger.Error("compact", "err", err)
			}
		case <-ctx.Done():
			return s.shutdown(ctx, srv)
		}
	}
}

// flush writes the head to parts in the background. A flush that ctx's
// end stopped is no failure: the shutdown's flush takes over.
func (s *Server) flush(ctx context.Context) {
	if err := s.db.Lake.Flush(ctx); err != nil && ctx.Err() == nil {
		s.opts.Logger.Error("flush head", "err", err)
	}
}

// shutdown stops taking requests, waits for those running (their contexts
// have ended with ctx, so queries are being interrupted) for most of
// ShutdownWait, cuts the rest, and flushes the head in what is left. A
// flush out of time stops unpublished and is no failure: the WAL keeps
// the head and the next start replays it. The data directory is then to
// be closed without a flush (datadir.DB.CloseUnflushed).
func (s *Server) shutdown(ctx context.Context, srv *http.Server) error {
	end := time.Now().Add(s.opts.ShutdownWait)
	sctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), end.Add(-s.opts.ShutdownWait/4))
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		s.opts.Logger.Warn("requests still running at shutdown: cut", "err", err)
		srv.Close()
	}
	fctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), end)
	defer cancel()
	err := s.db.Lake.Flush(fctx)
	if err == nil {
		return nil
	}
	n := s.db.Lake.Stats().HeadEvents
	if fctx.Err() != nil && errors.Is(err, fctx.Err()) {
		s.opts.Logger.Warn(fmt.Sprintf("head not flushed before the deadline: %d events stay in the WAL and are replayed at the next start", n),
			"events", n, "shutdown_wait", s.opts.ShutdownWait)
		return nil
	}
	return fmt.Errorf("flush head at shutdown (%d events stay in the WAL for the next start): %w", n, err)
}
