package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/spoor-dev/spoor/internal/render"
)

// Headers and trailers of query answers. An answer's status goes out with
// its first rows, so what is known only at its end travels in trailers.
const (
	// hdrError (trailer): the answer failed part way; its body ends with its
	// format's error marker (render.Fail) too, for readers without trailers.
	hdrError = "Spoor-Error"
	// hdrTruncated (trailer): "true" when the server's row limit (MaxRows)
	// cut the answer; a search says where to go on in Spoor-Next-Cursor.
	hdrTruncated = "Spoor-Truncated"
	hdrCursor    = "Spoor-Next-Cursor"
	// hdrWarning (header, one per warning): the answer lacks events, those
	// of the organization's parts in quarantine within its time range; or
	// a field of the filter-language query is in no event searched.
	hdrWarning = "Spoor-Warning"
)

// warnFields adds a Spoor-Warning for each field of the filter-language
// query q that no event of org in [from, to] has (datadir.UnknownFields).
// Call it before the answer's first bytes.
func (s *Server) warnFields(w http.ResponseWriter, r *http.Request, from, to int64, q string) {
	warnings, err := s.db.UnknownFields(r.Context(), tokenOf(r).Org, from, to, q)
	if err != nil {
		s.opts.Logger.Warn("check the query's fields", "err", err)
	}
	for _, msg := range warnings {
		w.Header().Add(hdrWarning, msg)
	}
}

// warn sets the Spoor-Warning header of an answer over org's events in
// [from, to]. Call it before the answer's first bytes.
func (s *Server) warn(w http.ResponseWriter, org string, from, to int64) {
	if msg := s.db.Warning(org, from, to); msg != "" {
		w.Header().Set(hdrWarning, msg)
	}
}

// errClientGone ends an answer whose client stopped taking it.
var errClientGone = errors.New("client gone")

// stream is a query answer being written in a render format.
type stream struct {
	w   http.ResponseWriter
	out render.Writer
}

// beginStream writes the headers of an answer and its columns.
func beginStream(w http.ResponseWriter, f, ctype string, cols []string, trailers string) *stream {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Trailer", trailers)
	out, _ := render.New(f, w)
	out.Header(cols)
	return &stream{w: w, out: out}
}

// end closes the answer: complete when err is nil, else with the error
// marker and the Spoor-Error trailer, so that no client takes a cut answer
// for a whole one.
func (st *stream) end(err error) {
	if err == nil {
		st.out.Close()
		return
	}
	if errors.Is(err, errClientGone) || errors.Is(err, context.Canceled) {
		return // nobody reads the rest
	}
	_, msg, _ := failure(err)
	st.w.Header().Set(hdrError, msg)
	render.Fail(st.out, msg)
}
