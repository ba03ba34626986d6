package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spoor-dev/spoor/internal/auth"
	"github.com/spoor-dev/spoor/internal/detect"
	"github.com/spoor-dev/spoor/internal/rules"
)

// Rules are scoped like everything else: an organization's token sees the
// shared rules (the operator's, for every organization) and its own
// organization's, and an admin changes only its own organization's rules.
// The shared rules change through their files, or through the API by the
// admins of --operator-org with ?scope=shared.

// canEditRules: admins change rules; the handlers pick which (editable).
func (s *Server) canEditRules(r auth.Role) bool { return r == auth.Admin }

// editable returns the rules directory a PUT or DELETE changes: the
// caller's organization's, or with ?scope=shared the shared one, which only
// the operator organization's admins change.
func (s *Server) editable(w http.ResponseWriter, r *http.Request) (*rules.Dir, bool) {
	if s.opts.Rules == nil {
		writeError(w, http.StatusNotFound, "detection is off on this server", "")
		return nil, false
	}
	org := tokenOf(r).Org
	switch scope := r.URL.Query().Get("scope"); scope {
	case "shared":
		if s.opts.OperatorOrg == "" || org != s.opts.OperatorOrg {
			writeError(w, http.StatusForbidden, "shared rules serve every organization: only the operator organization's admins change them", "")
			return nil, false
		}
		return s.opts.Rules, true
	case "", "org":
		dir, err := s.opts.Rules.Org(org)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error(), "")
			return nil, false
		}
		return dir, true
	default:
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown scope %q (org or shared)", scope), "")
		return nil, false
	}
}

// readOnlyShared answers 403 when name is a shared rule and dir an
// organization's: an organization may not change or shadow it.
func (s *Server) readOnlyShared(w http.ResponseWriter, dir *rules.Dir, name string) bool {
	if dir.OrgName() == "" {
		return false
	}
	if r, err := s.opts.Rules.Get(name); err == nil {
		writeError(w, http.StatusForbidden, fmt.Sprintf("rule %s is a %s rule of the operator, read-only to organizations: give yours another name", name, r.Origin), "")
		return true
	}
	return false
}

// reloaded makes a change to dir live at once.
func (s *Server) reloaded(dir *rules.Dir) {
	switch {
	case s.opts.Detector == nil:
	case dir.OrgName() == "":
		s.opts.Detector.Reload()
	default:
		s.opts.Detector.ReloadOrg(dir.OrgName())
	}
}

// ruleView is a rule as the API shows it: its fields named as in its YAML,
// its origin and its file within its rules directory, never a server path.
// Lists are [] when empty.
type ruleView struct {
	Name         string     `json:"name"`
	Title        string     `json:"title,omitempty"`
	Type         string     `json:"type"`
	Severity     int        `json:"severity"`
	Description  string     `json:"description,omitempty"`
	Technique    string     `json:"technique,omitempty"`
	Filter       string     `json:"filter"`
	Suppressions []string   `json:"suppressions"`
	Aggregate    []string   `json:"aggregate"`
	Window       string     `json:"window"` // as YAML writes it: "1h", "15m"
	Threshold    int        `json:"threshold"`
	After        *afterView `json:"after,omitempty"` // a sequence rule's
	Enabled      bool       `json:"enabled"`
	Kind         string     `json:"kind"`
	Origin       string     `json:"origin"`
	File         string     `json:"file,omitempty"`
}

type afterView struct {
	Filter    string `json:"filter"`
	Threshold int    `json:"threshold"`
}

func viewOf(r *rules.Rule) ruleView {
	v := ruleView{Name: r.Name, Title: r.Title, Type: r.Type, Severity: r.Severity, Description: r.Description,
		Technique: r.Technique, Filter: r.Filter, Suppressions: nonNil(r.Suppressions), Aggregate: nonNil(r.Aggregate),
		Window: durationText(r.Window), Threshold: r.Threshold, Enabled: r.Enabled, Kind: r.Kind, Origin: r.Origin, File: r.Source}
	if r.After != nil {
		v.After = &afterView{Filter: r.After.Filter, Threshold: r.After.Threshold}
	}
	return v
}

// durationText writes a duration as a rule's YAML does: 1h, 15m, 1h30m
// (Go's 1h0m0s without its zero units).
func durationText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// nonNil is l, or an empty list where l is nil: answers hold [], not null.
func nonNil[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}

// ruleList is the answer of GET /api/v1/rules.
type ruleList struct {
	Native   []ruleView       `json:"native"`
	Sigma    int              `json:"sigma_rules"`
	Problems []detect.Problem `json:"problems"`
}

func (s *Server) listRules(w http.ResponseWriter, r *http.Request) {
	if s.opts.Rules == nil {
		writeError(w, http.StatusNotFound, "detection is off on this server", "")
		return
	}
	org := tokenOf(r).Org
	ans := ruleList{Native: []ruleView{}, Problems: []detect.Problem{}}
	shared, _ := s.opts.Rules.Load()
	taken := map[string]bool{}
	for _, rule := range shared {
		taken[rule.Name] = true
		ans.Native = append(ans.Native, viewOf(rule))
	}
	if dir, err := s.opts.Rules.Org(org); err == nil {
		own, _ := dir.Load()
		for _, rule := range own {
			if !taken[rule.Name] { // else the shared rule is live, and a problem says so
				ans.Native = append(ans.Native, viewOf(rule))
			}
		}
	}
	if d := s.opts.Detector; d != nil {
		for _, set := range []*detect.Set{d.Set(), d.OrgSet(org)} {
			if set != nil {
				_, sg, _ := set.Stats()
				ans.Sigma += sg
				ans.Problems = append(ans.Problems, set.Problems...)
			}
		}
	}
	writeJSON(w, http.StatusOK, ans)
}

// getRule shows a shared rule or one of the caller's organization's.
func (s *Server) getRule(w http.ResponseWriter, r *http.Request) {
	if s.opts.Rules == nil {
		writeError(w, http.StatusNotFound, "detection is off on this server", "")
		return
	}
	name := r.PathValue("name")
	rule, err := s.opts.Rules.Get(name)
	if errors.Is(err, rules.ErrNotFound) {
		if dir, derr := s.opts.Rules.Org(tokenOf(r).Org); derr == nil {
			rule, err = dir.Get(name)
		}
	}
	if err != nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no rule %q for your organization", name), "")
		return
	}
	writeJSON(w, http.StatusOK, viewOf(rule))
}

// putRule writes a native rule (YAML body) to the caller's organization's
// rules (or the shared ones, see editable); the detector takes it up at
// once.
func (s *Server) putRule(w http.ResponseWriter, r *http.Request) {
	dir, ok := s.editable(w, r)
	if !ok {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), "")
		return
	}
	rule, err := rules.ParseRule(body, "PUT "+r.URL.Path)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), "")
		return
	}
	if rule.Name != r.PathValue("name") {
		writeError(w, http.StatusBadRequest, "the rule's name must be the one in the path", "")
		return
	}
	if s.readOnlyShared(w, dir, rule.Name) {
		return
	}
	if err := dir.Put(rule); err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	s.reloaded(dir)
	stored, err := dir.Get(rule.Name)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error(), "")
		return
	}
	// Warnings are sentences, as a backtest's.
	warnings := []string{}
	for _, lw := range rules.Lint(rule) {
		warnings = append(warnings, lw.String())
	}
	writeJSON(w, http.StatusOK, map[string]any{"rule": viewOf(stored), "warnings": warnings})
}

func (s *Server) deleteRule(w http.ResponseWriter, r *http.Request) {
	dir, ok := s.editable(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	err := dir.Delete(name)
	if errors.Is(err, rules.ErrNotFound) {
		if !s.readOnlyShared(w, dir, name) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no rule %q of your organization", name), "")
		}
		return
	}
	if err != nil {
		writeError(w, http.StatusConflict, err.Error(), "")
		return
	}
	s.reloaded(dir)
	w.WriteHeader(http.StatusNoContent)
}
