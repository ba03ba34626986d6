package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/spoor-dev/spoor/internal/detect"
	"github.com/spoor-dev/spoor/internal/rules"
)

// sigmaView is one live Sigma rule as GET /api/v1/sigma shows it.
type sigmaView struct {
	ID        string   `json:"id"`
	Title     string   `json:"title"`
	Level     string   `json:"level"`
	Status    string   `json:"status"`
	Technique string   `json:"technique"`
	Tags      []string `json:"tags"`
	Logsource string   `json:"logsource"`
	Origin    string   `json:"origin"`
}

// sigmaList is the answer of GET /api/v1/sigma: a page of the live Sigma
// rules (the shared ones and the caller's organization's) that match q.
type sigmaList struct {
	Total int         `json:"total"`
	Rules []sigmaView `json:"rules"`
}

// maxSigmaPage bounds a page: a SigmaHQ checkout loads thousands of rules.
const maxSigmaPage = 500

// listSigma pages through the live Sigma rules. q matches the title, id,
// ATT&CK technique or tags and logsource, case-insensitively; offset and
// limit (default 100, at most 500) page.
func (s *Server) listSigma(w http.ResponseWriter, r *http.Request) {
	d := s.opts.Detector
	if d == nil {
		writeError(w, http.StatusNotFound, "detection is off on this server", "")
		return
	}
	qv := r.URL.Query()
	limit, offset := 100, 0
	if v := qv.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxSigmaPage {
			writeError(w, http.StatusBadRequest, "limit: want a number from 1 to "+strconv.Itoa(maxSigmaPage), "")
			return
		}
		limit = n
	}
	if v := qv.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, "offset: want a number, 0 or more", "")
			return
		}
		offset = n
	}
	q := strings.ToLower(strings.TrimSpace(qv.Get("q")))
	ans := sigmaList{Rules: []sigmaView{}}
	for _, src := range []struct {
		set    *detect.Set
		origin string
	}{{d.Set(), rules.OriginShared}, {d.OrgSet(tokenOf(r).Org), rules.OriginOrg}} {
		if src.set == nil {
			continue
		}
		for _, rule := range src.set.SigmaRules() {
			v := sigmaView{ID: rule.ID, Title: rule.Title, Level: rule.Level, Status: rule.Status, Technique: rule.Technique(),
				Tags: nonNil(rule.Tags), Logsource: rule.Logsource.String(), Origin: src.origin}
			if q != "" && !strings.Contains(strings.ToLower(v.Title+"\x00"+v.ID+"\x00"+v.Technique+"\x00"+strings.Join(v.Tags, " ")+"\x00"+v.Logsource), q) {
				continue
			}
			if ans.Total >= offset && len(ans.Rules) < limit {
				ans.Rules = append(ans.Rules, v)
			}
			ans.Total++
		}
	}
	writeJSON(w, http.StatusOK, ans)
}
