package server

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/spoor-dev/spoor/internal/alert"
	"github.com/spoor-dev/spoor/internal/auth"
	"github.com/spoor-dev/spoor/internal/detect"
	"github.com/spoor-dev/spoor/internal/query"
	"github.com/spoor-dev/spoor/internal/rules"
	"github.com/spoor-dev/spoor/internal/timespec"
)

// routeDetection adds the alert and rule endpoints.
func (s *Server) routeDetection(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/alerts", s.authed(auth.Role.CanRead, s.listAlerts))
	mux.HandleFunc("GET /api/v1/alerts/{id}", s.authed(auth.Role.CanRead, s.getAlert))
	mux.HandleFunc("POST /api/v1/alerts/{id}/dismiss", s.authed(auth.Role.CanRead, s.dismissAlert))
	mux.HandleFunc("GET /api/v1/rules", s.authed(auth.Role.CanRead, s.listRules))
	mux.HandleFunc("GET /api/v1/sigma", s.authed(auth.Role.CanRead, s.listSigma))
	mux.HandleFunc("GET /api/v1/rules/{name}", s.authed(auth.Role.CanRead, s.getRule))
	mux.HandleFunc("PUT /api/v1/rules/{name}", s.authed(s.canEditRules, s.putRule))
	mux.HandleFunc("DELETE /api/v1/rules/{name}", s.authed(s.canEditRules, s.deleteRule))
	mux.HandleFunc("POST /api/v1/rules/test", s.authed(auth.Role.CanRead, s.querySlot(s.testRule)))
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) {
	if s.db.Alerts == nil {
		writeError(w, http.StatusNotFound, "no alerts on a read-only server", "")
		return
	}
	all, err := s.db.Alerts.List(tokenOf(r).Org)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	q := r.URL.Query()
	status := q.Get("status")
	var kept []alert.Alert
	for _, a := range all {
		if (status == "" && a.Status != alert.StatusPending) || status == "all" || a.Status == status {
			kept = append(kept, a)
		}
	}
	kept, err = alert.Filter(kept, q.Get("query"))
	if err != nil {
		var qe *query.Error
		pos := ""
		if errors.As(err, &qe) {
			pos = qe.Pos.String()
		}
		writeError(w, http.StatusBadRequest, err.Error(), pos)
		return
	}
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 && n < len(kept) {
		kept = kept[:n]
	}
	if kept == nil {
		kept = []alert.Alert{}
	}
	writeJSON(w, http.StatusOK, kept)
}

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) {
	if s.db.Alerts == nil {
		writeError(w, http.StatusNotFound, "no alerts on a read-only server", "")
		return
	}
	a, err := s.db.Alerts.Get(tokenOf(r).Org, r.PathValue("id"))
	if errors.Is(err, alert.ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no alert %q in your organization", r.PathValue("id")), "")
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) dismissAlert(w http.ResponseWriter, r *http.Request) {
	if s.db.Alerts == nil {
		writeError(w, http.StatusNotFound, "no alerts on a read-only server", "")
		return
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if r.ContentLength != 0 && !decodeBody(w, r, 1<<16, &req) {
		return
	}
	tok := tokenOf(r)
	a, err := s.db.Alerts.Dismiss(tok.Org, r.PathValue("id"), tok.Name, req.Reason)
	if errors.Is(err, alert.ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no alert %q in your organization", r.PathValue("id")), "")
		return
	}
	if errors.Is(err, alert.ErrDismissed) {
		writeError(w, http.StatusConflict, fmt.Sprintf("alert %s was dismissed already by %s: %q", a.ID, a.DismissedBy, a.Reason), "")
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	writeJSON(w, http.StatusOK, a)
}

// testRule backtests a native or Sigma rule (YAML in "rule") over the caller's
// stored events since "since" (default 30 days).
func (s *Server) testRule(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Rule  string `json:"rule"`
		Since string `json:"since"`
		Until string `json:"until"`
	}
	if !decodeBody(w, r, 1<<20, &req) {
		return
	}
	var rule *rules.Rule
	if !detect.IsSigma([]byte(req.Rule)) {
		var err error
		if rule, err = rules.ParseRule([]byte(req.Rule), "rule"); err != nil {
			writeError(w, http.StatusBadRequest, err.Error(), "")
			return
		}
	}
	if req.Since == "" {
		req.Since = "30d"
	}
	from, to, err := timespec.Range(req.Since, req.Until, time.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), "")
		return
	}
	var bt *detect.Backtest
	if rule == nil {
		bt, err = detect.RunSigmaBacktest(r.Context(), s.db, tokenOf(r).Org, []byte(req.Rule), from, to)
	} else {
		bt, err = detect.RunBacktest(r.Context(), s.db, tokenOf(r).Org, rule, from, to)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), "")
		return
	}
	// A backtest answers one JSON object: a range with quarantined parts
	// is said in its warnings as well as in the header.
	if msg := s.db.Warning(tokenOf(r).Org, from, to); msg != "" {
		bt.Warnings = append(bt.Warnings, msg)
		w.Header().Set(hdrWarning, msg)
	}
	writeJSON(w, http.StatusOK, bt)
}
