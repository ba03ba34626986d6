package server

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spoor-dev/spoor/internal/auth"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/hunt/analysis"
	"github.com/spoor-dev/spoor/internal/hunt/timeline"
	"github.com/spoor-dev/spoor/internal/render"
	"github.com/spoor-dev/spoor/internal/timespec"
)

// routeHunt adds POST /api/v1/hunt/{analysis}: diff, sweep, sessions,
// tree, cluster, timeline, talkers, connections, logins, over the caller's
// organization; answers as JSON (default), NDJSON or CSV, and the timeline
// also as SVG.
func (s *Server) routeHunt(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/hunt/{analysis}", s.authed(auth.Role.CanRead, s.querySlot(s.metrics.timed("hunt", s.hunt))))
}

func (s *Server) hunt(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("analysis")
	if !slices.Contains(analysis.Names(), name) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no analysis %q (one of %s)", name, strings.Join(analysis.Names(), ", ")), "")
		return
	}
	var req analysis.Request
	if !decodeBody(w, r, 1<<20, &req) {
		return
	}
	svg := r.URL.Query().Get("format") == "svg"
	f, ctype := "json", "application/json"
	if !svg {
		// JSON unless asked otherwise (docs/api.md): what a browser and jq read.
		if f, ctype = formatOr(r, "json"); f == "" || f == "parquet" {
			writeError(w, http.StatusBadRequest, "format must be json, ndjson, csv (or svg for the timeline)", "")
			return
		}
	}
	t, err := analysis.Run(r.Context(), s.db, tokenOf(r).Org, name, req)
	var ue analysis.UsageError
	if errors.As(err, &ue) {
		writeError(w, http.StatusBadRequest, err.Error(), "")
		return
	}
	if err != nil {
		queryFailed(w, err, req.Query)
		return
	}
	// An analysis reads its own ranges; the warning covers the request's
	// since/until, else every hour of the organization.
	from, to, err := timespec.Range(req.Since, req.Until, time.Now())
	if err != nil || req.Baseline != "" || req.Window != "" {
		from, to = 0, event.MaxTime
	}
	s.warn(w, tokenOf(r).Org, from, to)
	s.warnFields(w, r, from, to, req.Query)
	if svg {
		if name != "timeline" {
			writeError(w, http.StatusBadRequest, "only the timeline draws as SVG", "")
			return
		}
		w.Header().Set("Content-Type", "image/svg+xml")
		timeline.SVG(t, w)
		return
	}
	w.Header().Set("Content-Type", ctype)
	out, _ := render.New(f, w)
	t.Write(out)
}
