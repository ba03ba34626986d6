package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
)

// pages holds one template set per page: the layout and the page's own
// file, which defines "content"; a file named frame_*.html is a whole
// document of its own, drawn in a frame of another page.
type pages struct {
	sets map[string]*template.Template
}

// funcs are the helpers every template may use.
var funcs = template.FuncMap{
	"ms":       fmtMillis,
	"severity": severityName,
	"attack":   attackLink,
	"join":     strings.Join,
	"sections": func() []section { return navigation },
}

// section is an entry of the navigation.
type section struct{ Path, Name string }

// navigation lists the console's sections, in order.
var navigation = []section{{"events", "Events"}, {"alerts", "Alerts"}, {"hosts", "Hosts"}, {"rules", "Rules"}, {"sql", "SQL"}}

// sectionOf is the navigation entry a page belongs to: a page named
// "events_tree" (templates/events_tree.html) is in Events.
func sectionOf(page string) string {
	s, _, _ := strings.Cut(page, "_")
	return s
}

// loadPages parses templates/layout.html with each other file of
// templates/ as a page named by its base name ("events" for events.html).
func loadPages() *pages {
	p := &pages{sets: map[string]*template.Template{}}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		name := strings.TrimSuffix(path.Base(n), ".html")
		if name == "layout" {
			continue
		}
		if strings.HasPrefix(name, "frame_") {
			p.sets[name] = template.Must(template.New(path.Base(n)).Funcs(funcs).ParseFS(templateFS, n))
			continue
		}
		p.sets[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
	}
	return p
}

// view is what the layout reads; Data is the page's own.
type view struct {
	Title   string
	Section string // the navigation entry shown as current
	Org     string
	Role    string
	CSRF    string
	Signed  bool
	Data    any
}

// render writes a page with the layout. s is nil on pages shown signed
// out (the sign-in page). The page is rendered to a buffer first, so a
// template error is a clean 500, not half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, s *session, code int, page, title string, data any) {
	set, ok := c.pages.sets[page]
	if !ok {
		c.opts.Logger.Error("console: no template", "page", page)
		http.Error(w, "no such page", http.StatusInternalServerError)
		return
	}
	v := view{Title: title, Section: sectionOf(page), Data: data}
	if s != nil {
		v.Org, v.Role, v.CSRF, v.Signed = s.org, s.role, s.csrf, true
	}
	var b bytes.Buffer
	if err := set.ExecuteTemplate(&b, "layout.html", v); err != nil {
		c.opts.Logger.Error("console: render", "page", page, "err", err)
		http.Error(w, "the page could not be drawn", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

// renderFrame writes a frame_*.html page, which only the console's own
// pages may frame.
func (c *Console) renderFrame(w http.ResponseWriter, page string, data any) {
	var b bytes.Buffer
	if err := c.pages.sets[page].ExecuteTemplate(&b, page+".html", data); err != nil {
		c.opts.Logger.Error("console: render", "page", page, "err", err)
		http.Error(w, "the frame could not be drawn", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", strings.Replace(csp, "frame-ancestors 'none'", "frame-ancestors 'self'", 1))
	h.Set("X-Frame-Options", "SAMEORIGIN")
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b.Bytes())
}

// fail shows an error page with the message, signed in or not.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, code int, msg string) {
	s, _ := c.session(r, false)
	c.render(w, r, s, code, "error", http.StatusText(code), msg)
}

// link builds a console URL: path and the query parameters that are not
// empty, given as name, value pairs.
func link(p string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return p
	}
	return p + "?" + q.Encode()
}

// fmtMillis shows an epoch-ms time in UTC, to the millisecond.
func fmtMillis(ms int64) string {
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05.000")
}

// severityName is an alert severity as words.
func severityName(n int) string {
	switch n {
	case 1:
		return "high"
	case 2:
		return "medium"
	case 3:
		return "low"
	}
	return fmt.Sprint(n)
}
