package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// routeSQL adds the SQL console: a statement in the URL (a read, so a GET
// and a link like every view), its result as a table, and downloads of
// the whole result as CSV or Parquet, streamed from the API through the
// console with the session: the page never holds the token.
func (c *Console) routeSQL() {
	c.mux.HandleFunc("GET /sql", c.page(c.sqlPage))
	c.mux.HandleFunc("GET /sql/download", c.page(c.sqlDownload))
}

// sqlShown bounds the rows the page draws; downloads hold them all.
const sqlShown = 1000

// sqlExample fills an empty editor.
const sqlExample = "SELECT exe, count(*) AS n, count(DISTINCT hostname) AS hosts\nFROM events\nWHERE event_type = 'audit'\nGROUP BY exe\nORDER BY n DESC\nLIMIT 20"

type sqlData struct {
	SQL       string
	Example   string
	Ran       bool
	Columns   []string
	Rows      [][]string
	Total     int  // rows of the answer
	Truncated bool // the server's row limit cut the answer
	Error     string
	Warnings  []string
	CSV       string // download links
	Parquet   string
}

func (c *Console) sqlPage(w http.ResponseWriter, r *http.Request, s *session) {
	d := sqlData{SQL: r.URL.Query().Get("sql"), Example: sqlExample}
	if strings.TrimSpace(d.SQL) == "" {
		c.render(w, r, s, http.StatusOK, "sql", "SQL", d)
		return
	}
	d.Ran = true
	d.CSV, d.Parquet = link("/sql/download", "format", "csv", "sql", d.SQL), link("/sql/download", "format", "parquet", "sql", d.SQL)
	code := http.StatusOK
	if err := c.runSQL(r.Context(), s, &d); err != nil {
		d.Error, code = err.Error(), statusOfErr(err)
	}
	c.render(w, r, s, code, "sql", "SQL", d)
}

// runSQL runs the statement through the API as CSV, which keeps the
// columns in order, and keeps the first sqlShown rows for the page.
func (c *Console) runSQL(ctx context.Context, s *session, d *sqlData) error {
	a, err := c.call(ctx, s, "POST", "/api/v1/sql?format=csv", map[string]string{"sql": d.SQL})
	if err != nil {
		return err
	}
	if err := a.err(); err != nil {
		return err
	}
	d.Warnings = a.warnings()
	if msg := a.Header.Get("Spoor-Error"); msg != "" {
		return fmt.Errorf("the query failed while answering: %s", msg)
	}
	d.Truncated = a.Header.Get("Spoor-Truncated") == "true"
	rd := csv.NewReader(bytes.NewReader(a.Body))
	cols, err := rd.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the answer: %w", err)
	}
	d.Columns = cols
	for {
		rec, err := rd.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read the answer: %w", err)
		}
		d.Total++
		if len(d.Rows) < sqlShown {
			d.Rows = append(d.Rows, rec)
		}
	}
}

// sqlDownload streams the statement's whole answer as a file: the API's
// answer passed through as it comes, with its trailers, named for saving.
// A refused statement shows as the console's error page instead.
func (c *Console) sqlDownload(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	format := q.Get("format")
	if format != "csv" && format != "parquet" {
		c.fail(w, r, http.StatusBadRequest, "format must be csv or parquet")
		return
	}
	body, err := json.Marshal(map[string]string{"sql": q.Get("sql")})
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), "POST", "/api/v1/sql?format="+url.QueryEscape(format), bytes.NewReader(body))
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = "127.0.0.1:0"
	fw := &fileWriter{w: w, name: "spoor." + format}
	c.opts.API.ServeHTTP(fw, req)
	if fw.failed {
		err := (&answer{Status: fw.status, Body: fw.errBody.Bytes()}).err()
		c.fail(w, r, fw.status, "the download failed: "+err.Error())
	}
}

// fileWriter passes a good answer through to w as an attachment, and
// keeps a failed one for the error page.
type fileWriter struct {
	w       http.ResponseWriter
	name    string
	status  int
	failed  bool
	errBody bytes.Buffer
}

// Header is w's own, so that the API's trailers, set after the body,
// reach the client.
func (f *fileWriter) Header() http.Header { return f.w.Header() }

func (f *fileWriter) WriteHeader(code int) {
	if f.status != 0 {
		return
	}
	f.status = code
	if code >= 300 {
		f.failed = true
		h := f.w.Header()
		for _, k := range []string{"Content-Type", "Trailer", "Content-Length"} {
			h.Del(k)
		}
		return
	}
	f.w.Header().Set("Content-Disposition", `attachment; filename="`+f.name+`"`)
	f.w.WriteHeader(code)
}

func (f *fileWriter) Write(b []byte) (int, error) {
	if f.status == 0 {
		f.WriteHeader(http.StatusOK)
	}
	if f.failed {
		return f.errBody.Write(b)
	}
	return f.w.Write(b)
}

// Flush sends what the API wrote so far (a streamed answer's rows).
func (f *fileWriter) Flush() {
	if fl, ok := f.w.(http.Flusher); ok && !f.failed {
		fl.Flush()
	}
}
