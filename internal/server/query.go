package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/engine"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/query"
	"github.com/spoor-dev/spoor/internal/render"
	"github.com/spoor-dev/spoor/internal/timespec"
)

type searchRequest struct {
	Query  string   `json:"query"`
	Since  string   `json:"since"`
	Until  string   `json:"until"`
	Fields []string `json:"fields"`
	Limit  int      `json:"limit"`
	Desc   bool     `json:"desc"`
	Cursor string   `json:"cursor"` // from the previous page's Spoor-Next-Cursor trailer
}

type sqlRequest struct {
	SQL   string `json:"sql"`
	Since string `json:"since"`
	Until string `json:"until"`
}

// format picks a search or SQL answer's format: ?format=, else the Accept
// header, else NDJSON (what pandas.read_json(url, lines=True) reads).
func format(r *http.Request) (string, string) { return formatOr(r, "ndjson") }

// formatOr picks the answer's format: ?format=, else the Accept header,
// else def.
func formatOr(r *http.Request, def string) (string, string) {
	f := r.URL.Query().Get("format")
	if f == "" {
		accept := r.Header.Get("Accept")
		switch {
		case strings.Contains(accept, "text/csv"):
			f = "csv"
		case strings.Contains(accept, "parquet"):
			f = "parquet"
		case strings.Contains(accept, "ndjson"):
			f = "ndjson"
		case strings.Contains(accept, "application/json"):
			f = "json"
		default:
			f = def
		}
	}
	switch f {
	case "parquet":
		return f, "application/vnd.apache.parquet"
	case "csv":
		return f, "text/csv; charset=utf-8"
	case "json":
		return f, "application/json"
	case "ndjson":
		return f, "application/x-ndjson"
	}
	return "", ""
}

func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "request body: "+err.Error(), "")
		return false
	}
	return true
}

// queryFailed answers a failed search or SQL: the caller's mistakes are
// 400 with the position, timeouts 504, queries over the memory or spill
// limits 507, the rest 500.
func queryFailed(w http.ResponseWriter, err error, src string) {
	var qe *query.Error
	if errors.As(err, &qe) {
		qe.Src = src
	}
	code, msg, pos := failure(err)
	writeError(w, code, msg, pos)
}

// failure is what a caller is told of a failed query: a status, a message
// and, for filter-language errors, the position.
func failure(err error) (code int, msg, pos string) {
	var qe *query.Error
	var se *engine.SQLError
	switch {
	case errors.As(err, &qe):
		return http.StatusBadRequest, "bad query at " + qe.Pos.String() + "\n" + qe.Caret(), qe.Pos.String()
	case errors.As(err, &se):
		return http.StatusBadRequest, se.Error(), ""
	case errors.Is(err, engine.ErrTimeout):
		return http.StatusGatewayTimeout, "query timed out", ""
	case errors.Is(err, engine.ErrMemory):
		return http.StatusInsufficientStorage, err.Error(), ""
	case strings.Contains(err.Error(), "Error"): // DuckDB's binder and parser errors: the SQL's fault
		return http.StatusBadRequest, err.Error(), ""
	}
	return http.StatusInternalServerError, "query failed", ""
}

// searchParams reads a GET search from the URL, so notebooks can read
// answers straight from a URL: pandas.read_json(url, lines=True).
func searchParams(r *http.Request) (searchRequest, error) {
	q := r.URL.Query()
	req := searchRequest{Query: q.Get("query"), Since: q.Get("since"), Until: q.Get("until"), Desc: q.Get("desc") == "true", Cursor: q.Get("cursor")}
	if f := q.Get("fields"); f != "" {
		req.Fields = strings.Split(f, ",")
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			return req, fmt.Errorf("limit: %w", err)
		}
		req.Limit = n
	}
	return req, nil
}

// answerSpec reads what every query answer needs: its format and time
// range. On a bad one it answers 400 and returns !ok.
func answerSpec(w http.ResponseWriter, r *http.Request, since, until string) (f, ctype string, from, to int64, ok bool) {
	f, ctype = format(r)
	if f == "" {
		writeError(w, http.StatusBadRequest, "format must be json, ndjson, csv or parquet", "")
		return "", "", 0, 0, false
	}
	from, to, err := timespec.Range(since, until, time.Now())
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), "")
		return "", "", 0, 0, false
	}
	return f, ctype, from, to, true
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	var req searchRequest
	if r.Method == http.MethodGet {
		var err error
		if req, err = searchParams(r); err != nil {
			writeError(w, http.StatusBadRequest, err.Error(), "")
			return
		}
	} else if !decodeBody(w, r, 1<<20, &req) {
		return
	}
	f, ctype, from, to, ok := answerSpec(w, r, req.Since, req.Until)
	if !ok {
		return
	}
	if len(req.Fields) == 0 && f == "csv" {
		req.Fields = datadir.DefaultFields
	}
	asked := req.Limit
	if req.Limit <= 0 || req.Limit > s.opts.MaxRows {
		req.Limit = s.opts.MaxRows
	}
	sreq := datadir.SearchRequest{Query: req.Query, From: from, To: to, Fields: req.Fields, Limit: req.Limit, Desc: req.Desc, After: req.Cursor}
	if f == "parquet" {
		s.warn(w, tokenOf(r).Org, from, to)
		s.warnFields(w, r, from, to, req.Query)
		path, err := s.db.ExportSearch(r.Context(), tokenOf(r).Org, sreq)
		s.sendFile(w, path, ctype, err, req.Query)
		return
	}
	sr, err := s.db.Search(r.Context(), tokenOf(r).Org, sreq)
	if err != nil {
		queryFailed(w, err, req.Query)
		return
	}
	defer sr.Close()
	s.warn(w, tokenOf(r).Org, from, to)
	s.warnFields(w, r, from, to, req.Query)
	st := beginStream(w, f, ctype, sr.Columns, hdrError+", "+hdrTruncated+", "+hdrCursor)
	st.end(s.searchRows(st, sr))
	if c := sr.NextCursor(); c != "" {
		w.Header().Set(hdrCursor, c)
		// Past the server's limit, not the caller's: the answer was cut.
		if asked <= 0 || asked > s.opts.MaxRows {
			w.Header().Set(hdrTruncated, "true")
		}
	}
}

// searchRows writes a search's rows and returns the error that ended them.
func (s *Server) searchRows(st *stream, sr *datadir.Search) error {
	var e event.Event
	vals := make([]any, len(sr.Columns))
	for sr.Next() {
		if sr.Full { // json or ndjson without fields: whole original events
			if err := sr.Event(&e); err != nil {
				return err
			}
			if _, err := render.WriteObject(st.out, e.Original()); err != nil {
				return errClientGone
			}
			continue
		}
		if err := sr.Row(vals); err != nil {
			return err
		}
		if err := st.out.Row(vals); err != nil {
			return errClientGone
		}
	}
	return sr.Err()
}

func (s *Server) sql(w http.ResponseWriter, r *http.Request) {
	var req sqlRequest
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		req = sqlRequest{SQL: q.Get("sql"), Since: q.Get("since"), Until: q.Get("until")}
	} else if !decodeBody(w, r, 1<<20, &req) {
		return
	}
	f, ctype, from, to, ok := answerSpec(w, r, req.Since, req.Until)
	if !ok {
		return
	}
	if f == "parquet" {
		s.warn(w, tokenOf(r).Org, from, to)
		path, err := s.db.ExportSQL(r.Context(), tokenOf(r).Org, from, to, req.SQL)
		s.sendFile(w, path, ctype, err, req.SQL)
		return
	}
	rows, err := s.db.UserQuery(r.Context(), tokenOf(r).Org, from, to, req.SQL)
	if err != nil {
		queryFailed(w, err, req.SQL)
		return
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		queryFailed(w, err, req.SQL)
		return
	}
	s.warn(w, tokenOf(r).Org, from, to)
	st := beginStream(w, f, ctype, cols, hdrError+", "+hdrTruncated)
	cut, err := s.sqlRows(st, rows)
	st.end(err)
	if cut {
		w.Header().Set(hdrTruncated, "true")
	}
}

// sqlRows writes up to MaxRows rows of a user's SQL; it reports whether
// more were left and the error that ended the rows.
func (s *Server) sqlRows(st *stream, rows *engine.Rows) (cut bool, err error) {
	cols, _ := rows.Columns()
	vals, ptrs := render.ScanTargets(len(cols))
	for n := 0; rows.Next(); n++ {
		if n == s.opts.MaxRows {
			return true, nil
		}
		if err := rows.Scan(ptrs...); err != nil {
			return false, err
		}
		if err := st.out.Row(vals); err != nil {
			return false, errClientGone
		}
	}
	return false, rows.Err()
}

// getEvent answers one whole original event by _id, or 404.
func (s *Server) getEvent(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	// The id is a value of the filter language: quoted, never pasted.
	q := "_id = " + strconv.Quote(id)
	sr, err := s.db.Search(r.Context(), tokenOf(r).Org, datadir.SearchRequest{Query: q, To: event.MaxTime, Limit: 1})
	if err != nil {
		queryFailed(w, err, q)
		return
	}
	defer sr.Close()
	s.warn(w, tokenOf(r).Org, 0, event.MaxTime) // a 404 may come from a quarantined part
	if !sr.Next() {
		if err := sr.Err(); err != nil {
			queryFailed(w, err, q)
			return
		}
		writeError(w, http.StatusNotFound, "no event "+strconv.Quote(id), "")
		return
	}
	var e event.Event
	if err := sr.Event(&e); err != nil {
		queryFailed(w, err, q)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(e.Original(), '\n'))
}

// sendFile answers with an exported Parquet file and removes it.
func (s *Server) sendFile(w http.ResponseWriter, path, ctype string, err error, src string) {
	if err != nil {
		queryFailed(w, err, src)
		return
	}
	defer os.Remove(path)
	f, err := os.Open(path)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "answer lost", "")
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="spoor.parquet"`)
	io.Copy(w, f)
}
