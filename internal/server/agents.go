package server

import (
	"net/http"
	"time"

	"github.com/spoor-dev/spoor/internal/auth"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/fleet"
	"github.com/spoor-dev/spoor/internal/render"
)

// routeAgents adds GET /api/v1/agents: the caller's organization's agents
// and hosts (fleet.Agents), silent ones first. ?silent_after=DURATION
// (default 3m, three health intervals) sets when an agent is silent;
// ?format= json (default), ndjson or csv. POST takes
// {"silent_after": DURATION} as the body instead, as the hunts do (the
// CLI's client posts its requests).
func (s *Server) routeAgents(mux *http.ServeMux) {
	h := s.authed(auth.Role.CanRead, s.querySlot(s.metrics.timed("agents", s.agents)))
	mux.HandleFunc("GET /api/v1/agents", h)
	mux.HandleFunc("POST /api/v1/agents", h)
}

// AgentsRequest is the body of POST /api/v1/agents.
type AgentsRequest struct {
	SilentAfter string `json:"silent_after,omitempty"`
}

func (s *Server) agents(w http.ResponseWriter, r *http.Request) {
	var req AgentsRequest
	if r.Method == http.MethodPost && !decodeBody(w, r, 1<<16, &req) {
		return
	}
	if v := r.URL.Query().Get("silent_after"); v != "" {
		req.SilentAfter = v
	}
	var opts fleet.Options
	if v := req.SilentAfter; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, "silent_after must be a positive duration such as 3m or 1h", "")
			return
		}
		opts.SilentAfter = d
	}
	f, ctype := formatOr(r, "json")
	if f == "" || f == "parquet" {
		writeError(w, http.StatusBadRequest, "format must be json, ndjson or csv", "")
		return
	}
	org := tokenOf(r).Org
	t, err := fleet.Agents(r.Context(), s.db, org, opts)
	if err != nil {
		queryFailed(w, err, "")
		return
	}
	s.warn(w, org, 0, event.MaxTime)
	w.Header().Set("Content-Type", ctype)
	out, _ := render.New(f, w)
	t.Write(out)
}
