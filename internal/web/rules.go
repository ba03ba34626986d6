package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/spoor-dev/spoor/internal/rules"
)

// routeRules adds the Rules pages: the list, a rule, and for an admin the
// editor's backtest, save, enable and disable, each a POST with the
// session's CSRF token. An analyst reads and backtests; the API refuses
// an analyst's writes whatever the page shows.
func (c *Console) routeRules() {
	c.mux.HandleFunc("GET /rules", c.page(c.rulesPage))
	c.mux.HandleFunc("GET /rules/{name}", c.page(c.rulePage))
	c.mux.HandleFunc("POST /rules/{name}/backtest", c.post(c.ruleBacktest))
	c.mux.HandleFunc("POST /rules/{name}/save", c.post(c.ruleSave))
	c.mux.HandleFunc("POST /rules/{name}/enable", c.post(c.ruleEnabled(true)))
	c.mux.HandleFunc("POST /rules/{name}/disable", c.post(c.ruleEnabled(false)))
}

// ruleView is a rule as the API shows it (docs/api.md).
type ruleView struct {
	Name         string   `json:"name"`
	Title        string   `json:"title"`
	Type         string   `json:"type"`
	Severity     int      `json:"severity"`
	Description  string   `json:"description"`
	Technique    string   `json:"technique"`
	Filter       string   `json:"filter"`
	Suppressions []string `json:"suppressions"`
	Aggregate    []string `json:"aggregate"`
	Window       string   `json:"window"`
	Threshold    int      `json:"threshold"`
	After        *struct {
		Filter    string `json:"filter"`
		Threshold int    `json:"threshold"`
	} `json:"after"`
	Enabled bool   `json:"enabled"`
	Kind    string `json:"kind"`
	Origin  string `json:"origin"`
	File    string `json:"file"`
}

// Link is the rule's page.
func (v ruleView) Link() string { return "/rules/" + url.PathEscape(v.Name) }

// Editable says whether the organization's admins may change the rule:
// the shared rules (builtin, shared) are the operator's.
func (v ruleView) Editable() bool { return v.Origin == "org" }

// AttackLink is the ATT&CK page of the rule's technique.
func (v ruleView) AttackLink() string { return attackLink(v.Technique) }

// attackLink is MITRE's page of a technique id (T1548.003), "" for none.
func attackLink(id string) string {
	if !techniqueID.MatchString(id) {
		return ""
	}
	return "https://attack.mitre.org/techniques/" + strings.ReplaceAll(id, ".", "/") + "/"
}

var techniqueID = regexp.MustCompile(`^T\d{4}(\.\d{3})?$`)

// yamlText writes the rule as its file would: the editor's text.
func (v ruleView) yamlText() (string, error) {
	r := &rules.Rule{Name: v.Name, Title: v.Title, Type: v.Type, Severity: v.Severity, Description: v.Description,
		Technique: v.Technique, Filter: v.Filter, Suppressions: v.Suppressions, Aggregate: v.Aggregate,
		Threshold: v.Threshold, Enabled: v.Enabled}
	if v.Window != "" {
		d, err := time.ParseDuration(v.Window)
		if err != nil {
			return "", fmt.Errorf("rule %s: window %q: %w", v.Name, v.Window, err)
		}
		r.Window = d
	}
	if v.After != nil {
		r.After = &rules.After{Filter: v.After.Filter, Threshold: v.After.Threshold}
	}
	b, err := rules.Marshal(r)
	return string(b), err
}

type ruleList struct {
	Native   []ruleView `json:"native"`
	Sigma    int        `json:"sigma_rules"`
	Problems []struct {
		File   string `json:"file"`
		Error  string `json:"error"`
		Origin string `json:"origin"`
	} `json:"problems"`
}

// sigmaPage is a page of the live Sigma rules (GET /api/v1/sigma).
type sigmaPage struct {
	Total int `json:"total"`
	Rules []struct {
		ID        string `json:"id"`
		Title     string `json:"title"`
		Level     string `json:"level"`
		Technique string `json:"technique"`
		Logsource string `json:"logsource"`
		Origin    string `json:"origin"`
	} `json:"rules"`
	Query      string `json:"-"`
	Prev, Next string `json:"-"`
}

// sigmaPageSize is how many Sigma rules a rules page lists.
const sigmaPageSize = 100

// rulesData is the rules page: the native rules, and a page of the Sigma
// rules filtered by sq from offset soff.
type rulesData struct {
	ruleList
	SigmaPage sigmaPage
}

func (c *Console) rulesPage(w http.ResponseWriter, r *http.Request, s *session) {
	var d rulesData
	if _, err := c.callJSON(r.Context(), s, "GET", "/api/v1/rules", nil, &d.ruleList); err != nil {
		c.fail(w, r, statusOfErr(err), "the rules could not be read: "+err.Error())
		return
	}
	q := r.URL.Query().Get("sq")
	off, _ := strconv.Atoi(r.URL.Query().Get("soff"))
	off = max(off, 0)
	path := link("/api/v1/sigma", "q", q, "offset", strconv.Itoa(off), "limit", strconv.Itoa(sigmaPageSize))
	if _, err := c.callJSON(r.Context(), s, "GET", path, nil, &d.SigmaPage); err != nil {
		c.fail(w, r, statusOfErr(err), "the Sigma rules could not be read: "+err.Error())
		return
	}
	d.SigmaPage.Query = q
	if off > 0 {
		d.SigmaPage.Prev = link("/rules", "sq", q, "soff", strconv.Itoa(max(off-sigmaPageSize, 0))) + "#sigma"
	}
	if off+sigmaPageSize < d.SigmaPage.Total {
		d.SigmaPage.Next = link("/rules", "sq", q, "soff", strconv.Itoa(off+sigmaPageSize)) + "#sigma"
	}
	c.render(w, r, s, http.StatusOK, "rules", "Rules", d)
}

// ruleData is a rule's page: the rule as stored, and the editor's state.
type ruleData struct {
	Rule     ruleView
	Admin    bool // may change the organization's rules
	Editing  bool // the editor is open (an admin, on an org rule or a copy)
	Copy     bool // a copy of a shared rule, saved under a new name
	YAML     string
	Since    string // the backtest's range
	Until    string
	Error    *ruleError
	Warnings []string
	Saved    bool
	Backtest *backtestView
}

// ruleError is a rejected draft: the API's message and, when it names a
// line of the YAML, the draft's lines with that one marked.
type ruleError struct {
	Message string
	Line    int
	Lines   []string
}

// errLine finds the line in a rule error: "PUT /api/v1/rules/x:7: filter:
// ..." or "rule:7: ...".
var errLine = regexp.MustCompile(`^[^:\n]*:(\d+): `)

func ruleErrorOf(err error, draft string) *ruleError {
	msg := err.Error()
	e := &ruleError{Message: msg}
	if m := errLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		e.Message = "line " + m[1] + ": " + msg[len(m[0]):]
		e.Lines = strings.Split(strings.TrimRight(draft, "\n"), "\n")
	}
	return e
}

// AtLine says whether line i (from 0) of the draft is the one at fault.
func (e *ruleError) AtLine(i int) bool { return e.Line == i+1 }

// getRule reads a rule through the API.
func (c *Console) getRule(ctx context.Context, s *session, name string) (ruleView, error) {
	var v ruleView
	_, err := c.callJSON(ctx, s, "GET", "/api/v1/rules/"+url.PathEscape(name), nil, &v)
	return v, err
}

// ruleStart reads the rule of the request's path and starts its page's
// data; on failure it has answered the request.
func (c *Console) ruleStart(w http.ResponseWriter, r *http.Request, s *session) (*ruleData, bool) {
	v, err := c.getRule(r.Context(), s, r.PathValue("name"))
	if err != nil {
		c.fail(w, r, statusOfErr(err), err.Error())
		return nil, false
	}
	d := &ruleData{Rule: v, Admin: s.role == "admin", Since: r.FormValue("since"), Until: r.FormValue("until")}
	if d.YAML, err = v.yamlText(); err != nil {
		c.fail(w, r, http.StatusInternalServerError, err.Error())
		return nil, false
	}
	d.Editing = d.Admin && v.Editable()
	if d.Admin && !v.Editable() && r.FormValue("copy") == "1" {
		// A shared rule is the operator's: the organization edits a copy
		// under a name of its own.
		d.Editing, d.Copy = true, true
		d.YAML = strings.Replace(d.YAML, "name: "+v.Name+"\n", "name: "+v.Name+"-local\n", 1)
	}
	return d, true
}

func (c *Console) rulePage(w http.ResponseWriter, r *http.Request, s *session) {
	d, ok := c.ruleStart(w, r, s)
	if !ok {
		return
	}
	d.Saved = r.URL.Query().Get("saved") == "1"
	c.render(w, r, s, http.StatusOK, "rules_rule", d.Rule.Name, d)
}

// backtestView is a backtest's answer (docs/api.md, rules/test).
type backtestView struct {
	From       string `json:"from"`
	To         string `json:"to"`
	Matched    int64  `json:"matched"`
	Suppressed int64  `json:"suppressed"`
	Alerts     int64  `json:"alerts"`
	Hosts      []struct {
		Hostname   string `json:"hostname"`
		Events     int64  `json:"events"`
		Suppressed int64  `json:"suppressed"`
	} `json:"hosts"`
	Samples  []map[string]any `json:"samples"`
	Hidden   []map[string]any `json:"suppressed_samples"`
	Warnings []string         `json:"warnings"`

	SampleTable, HiddenTable *hostTable
}

// ToText is the backtest's end, "now" when it had none.
func (b *backtestView) ToText() string {
	if strings.HasPrefix(b.To, "9999-") {
		return "now"
	}
	return b.To
}

// sampleColumns are the columns of a backtest's samples.
var sampleColumns = []string{"event_time", "hostname", "event_type", "user", "exe", "arguments"}

// ruleBacktest runs the editor's draft over the stored events without
// saving it. An analyst may: a backtest changes nothing.
func (c *Console) ruleBacktest(w http.ResponseWriter, r *http.Request, s *session) {
	d, ok := c.ruleStart(w, r, s)
	if !ok {
		return
	}
	d.YAML = r.PostFormValue("yaml")
	var bt backtestView
	_, err := c.callJSON(r.Context(), s, "POST", "/api/v1/rules/test",
		map[string]string{"rule": d.YAML, "since": d.Since, "until": d.Until}, &bt)
	if err != nil {
		d.Error = ruleErrorOf(err, d.YAML)
		c.render(w, r, s, statusOfErr(err), "rules_rule", d.Rule.Name, d)
		return
	}
	bt.SampleTable, bt.HiddenTable = sampleTable(bt.Samples), sampleTable(bt.Hidden)
	d.Backtest, d.Warnings = &bt, bt.Warnings
	c.render(w, r, s, http.StatusOK, "rules_rule", d.Rule.Name, d)
}

// sampleTable lays a backtest's sample events out, each opening its event.
func sampleTable(evs []map[string]any) *hostTable {
	t := &hostTable{Columns: sampleColumns, Linked: true}
	for _, ev := range evs {
		row := hostTableRow{Link: eventPage(cellText(ev["_id"])), Cells: make([]string, len(sampleColumns))}
		for i, col := range sampleColumns {
			row.Cells[i] = cellText(ev[col])
			if col == "event_time" {
				if ms, err := strconv.ParseInt(row.Cells[i], 10, 64); err == nil {
					row.Cells[i] = fmtMillis(ms)
				}
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// draftName is the name a draft's YAML gives its rule, "" when it cannot
// be read (the API then says why).
func draftName(draft string) string {
	var head struct {
		Name string `yaml:"name"`
	}
	if yaml.Unmarshal([]byte(draft), &head) != nil {
		return ""
	}
	return head.Name
}

// ruleSave puts the draft as the organization's rule of the name its YAML
// gives. A rejected draft comes back in the editor with the API's error
// at its line; a saved one shows with the lint warnings the API gave.
func (c *Console) ruleSave(w http.ResponseWriter, r *http.Request, s *session) {
	d, ok := c.ruleStart(w, r, s)
	if !ok {
		return
	}
	d.YAML = r.PostFormValue("yaml")
	name := draftName(d.YAML)
	if name == "" {
		name = d.Rule.Name
	}
	var put struct {
		Rule     ruleView `json:"rule"`
		Warnings []string `json:"warnings"`
	}
	_, err := c.callJSON(r.Context(), s, "PUT", "/api/v1/rules/"+url.PathEscape(name), []byte(d.YAML), &put)
	if err != nil {
		d.Error = ruleErrorOf(err, d.YAML)
		c.render(w, r, s, statusOfErr(err), "rules_rule", d.Rule.Name, d)
		return
	}
	if len(put.Warnings) == 0 {
		http.Redirect(w, r, put.Rule.Link()+"?saved=1", http.StatusSeeOther)
		return
	}
	// The warnings are the API's answer to this save: shown now, with the
	// rule as stored.
	saved := &ruleData{Rule: put.Rule, Admin: true, Editing: true, Saved: true, Warnings: put.Warnings}
	if saved.YAML, err = put.Rule.yamlText(); err != nil {
		saved.YAML = d.YAML
	}
	c.render(w, r, s, http.StatusOK, "rules_rule", put.Rule.Name, saved)
}

// ruleEnabled turns an organization's rule on or off: the rule as stored,
// with enabled changed, put back.
func (c *Console) ruleEnabled(on bool) handler {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		v, err := c.getRule(r.Context(), s, r.PathValue("name"))
		if err == nil {
			v.Enabled = on
			var text string
			if text, err = v.yamlText(); err == nil {
				_, err = c.callJSON(r.Context(), s, "PUT", "/api/v1/rules/"+url.PathEscape(v.Name), []byte(text), nil)
			}
		}
		if err != nil {
			c.fail(w, r, statusOfErr(err), err.Error())
			return
		}
		http.Redirect(w, r, v.Link(), http.StatusSeeOther)
	}
}
