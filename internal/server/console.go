package server

import (
	"net/http"
	"strings"

	"github.com/spoor-dev/spoor/internal/web"
)

// console returns the web console (internal/web) over api, the handler of
// the API's own routes: its pages call the API in-process with the
// signed-in session's token, so they read through the same scoping.
func (s *Server) console(api http.Handler) http.Handler {
	return web.New(web.Options{API: api, Logger: s.opts.Logger,
		Verify: func(secret string) (string, string, bool) {
			tok, ok := s.tokens.Verify(secret)
			return tok.Org, string(tok.Role), ok
		}})
}

// withConsole serves the console at every path the API does not own: the
// API's paths keep their JSON 404 and 405 answers.
func withConsole(api *http.ServeMux, apiErrors, console http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := api.Handler(r); pattern != "" || apiPath(r.URL.Path) {
			apiErrors.ServeHTTP(w, r)
			return
		}
		console.ServeHTTP(w, r)
	})
}

// apiPath says whether a path belongs to the API (or to the endpoints a
// collector or Prometheus calls), found or not.
func apiPath(p string) bool {
	for _, pre := range []string{"/api/", "/services/", "/healthz", "/readyz", "/metrics"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}
