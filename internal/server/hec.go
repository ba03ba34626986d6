package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/spoor-dev/spoor/internal/ingest"
	"github.com/spoor-dev/spoor/internal/parse/formats"
	"github.com/valyala/fastjson"
)

// Splunk HTTP Event Collector compatibility: log shippers that speak HEC
// (Fluent Bit, Vector, the OpenTelemetry collector, Splunk forwarders) send
// to spoor unchanged, with "Authorization: Splunk TOKEN".

// hecAnswer is HEC's answer body.
type hecAnswer struct {
	Text string `json:"text"`
	Code int    `json:"code"`
	// spoor's own counts, beside HEC's fields.
	Accepted   int64              `json:"accepted,omitempty"`
	Rejected   int64              `json:"rejected,omitempty"`
	Rejections []ingest.Rejection `json:"rejections,omitempty"`
}

// HEC's status codes.
const (
	hecSuccess       = 0
	hecNoAuth        = 2
	hecInvalidToken  = 4
	hecNoData        = 5
	hecInvalidFormat = 6
	hecBusy          = 9
	hecEventRequired = 12
	hecBlankEvent    = 13
)

// hecAuthed admits HEC callers: "Splunk TOKEN" (or Bearer) with a role that
// may write.
func (s *Server) hecAuthed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		a := r.Header.Get("Authorization")
		secret, ok := strings.CutPrefix(a, "Splunk ")
		if !ok {
			secret, ok = strings.CutPrefix(a, "Bearer ")
		}
		if !ok {
			writeJSON(w, http.StatusUnauthorized, hecAnswer{Text: "Token is required", Code: hecNoAuth})
			return
		}
		tok, valid := s.tokens.Verify(strings.TrimSpace(secret))
		if !valid || !tok.Role.CanWrite() {
			writeJSON(w, http.StatusForbidden, hecAnswer{Text: "Invalid token", Code: hecInvalidToken})
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, tok)))
	}
}

func (s *Server) hecBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, code, err := s.readBody(w, r)
	if code == http.StatusRequestEntityTooLarge {
		writeJSON(w, code, hecAnswer{Text: "Content too large", Code: hecInvalidFormat})
		return nil, false
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, hecAnswer{Text: "Invalid data format: " + err.Error(), Code: hecInvalidFormat})
		return nil, false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		writeJSON(w, http.StatusBadRequest, hecAnswer{Text: "No data", Code: hecNoData})
		return nil, false
	}
	return body, true
}

// hecEvent takes HEC envelopes, {"time":..,"host":..,"event":{..}|"text",
// "fields":{..}}, back to back or one per line.
func (s *Server) hecEvent(w http.ResponseWriter, r *http.Request) {
	body, ok := s.hecBody(w, r)
	if !ok {
		return
	}
	var lines bytes.Buffer
	lines.Grow(len(body)) // growing by doubling would hold twice the body
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for n := 0; ; n++ {
		var env struct {
			Time   json.Number     `json:"time"`
			Host   string          `json:"host"`
			Event  json.RawMessage `json:"event"`
			Fields json.RawMessage `json:"fields"`
		}
		err := dec.Decode(&env)
		if err == io.EOF {
			break
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, hecAnswer{Text: fmt.Sprintf("Invalid data format: event %d: %v", n, err), Code: hecInvalidFormat})
			return
		}
		if len(env.Event) == 0 {
			writeJSON(w, http.StatusBadRequest, hecAnswer{Text: fmt.Sprintf("Event field is required (event %d)", n), Code: hecEventRequired})
			return
		}
		ev := bytes.TrimSpace(env.Event)
		if string(ev) == `""` || string(ev) == "null" {
			writeJSON(w, http.StatusBadRequest, hecAnswer{Text: fmt.Sprintf("Event field cannot be blank (event %d)", n), Code: hecBlankEvent})
			return
		}
		lines.Write(hecToEvent(ev, env.Time, env.Host, env.Fields))
		lines.WriteByte('\n')
	}
	s.hecIngest(w, r, lines.Bytes())
}

// hecRaw takes /services/collector/raw: one event per line, or a body in
// one of spoor's formats (raw audit.log lines from a forwarder, say),
// named by ?format= or recognised, read like `spoor ingest` reads it.
func (s *Server) hecRaw(w http.ResponseWriter, r *http.Request) {
	body, ok := s.hecBody(w, r)
	if !ok {
		return
	}
	if f, err := bodyFormat(r, body); err != nil {
		writeJSON(w, http.StatusBadRequest, hecAnswer{Text: err.Error(), Code: hecInvalidFormat})
		return
	} else if f.Name != "" && f.Kind != formats.Lines {
		ans, err := s.readFormatted(r, f, body)
		var bad badBody
		switch {
		case errors.As(err, &bad):
			writeJSON(w, http.StatusBadRequest, hecAnswer{Text: err.Error(), Code: hecInvalidFormat})
		case err != nil:
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, hecAnswer{Text: "Server is busy", Code: hecBusy})
		default:
			writeJSON(w, http.StatusOK, hecAnswer{Text: "Success", Code: hecSuccess, Accepted: ans.Accepted + ans.Duplicates, Rejected: ans.Rejected, Rejections: ans.Rejections})
		}
		return
	}
	var lines bytes.Buffer
	lines.Grow(len(body) + len(body)/8)
	for _, l := range bytes.Split(body, []byte{'\n'}) {
		l = bytes.TrimSpace(l)
		if len(l) == 0 {
			continue
		}
		if l[0] == '{' {
			lines.Write(hecToEvent(l, "", "", nil))
		} else {
			lines.Write(hecToEvent(mustJSON(string(l)), "", "", nil))
		}
		lines.WriteByte('\n')
	}
	s.hecIngest(w, r, lines.Bytes())
}

func (s *Server) hecIngest(w http.ResponseWriter, r *http.Request, ndjson []byte) {
	if n := bytes.Count(ndjson, []byte{'\n'}); n > s.opts.MaxBatchEvents {
		writeJSON(w, http.StatusRequestEntityTooLarge, hecAnswer{Text: fmt.Sprintf("Content too large: %d events, limit %d", n, s.opts.MaxBatchEvents), Code: hecInvalidFormat})
		return
	}
	ans, err := s.store(r.Context(), tokenOf(r).Org, ndjson)
	if err != nil {
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, hecAnswer{Text: "Server is busy", Code: hecBusy})
		return
	}
	writeJSON(w, http.StatusOK, hecAnswer{Text: "Success", Code: hecSuccess, Accepted: ans.Accepted + ans.Duplicates, Rejected: ans.Rejected, Rejections: ans.Rejections})
}

// hecToEvent makes one spoor event line of a HEC event: an object is kept
// as it is, with the envelope's time and host added where it has none; a
// string becomes {"message": ...}. Indexed fields are kept under "fields".
func hecToEvent(ev []byte, t json.Number, host string, fields json.RawMessage) []byte {
	if ev[0] != '{' {
		ev = append(append([]byte(`{"message":`), ev...), '}')
	}
	var p fastjson.Parser
	probe, _ := p.ParseBytes(ev)
	has := func(k string) bool { return probe != nil && probe.Exists(k) }
	var extra []string
	if !has("event_time") {
		if !has("timestamp") {
			ms := time.Now().UnixMilli()
			if f, err := strconv.ParseFloat(string(t), 64); err == nil && t != "" {
				ms = int64(f * 1000)
			}
			extra = append(extra, `"event_time":`+strconv.FormatInt(ms, 10))
		}
	}
	if !has("hostname") && host != "" {
		extra = append(extra, `"hostname":`+string(mustJSON(host)))
	}
	if !has("fields") && len(fields) > 0 {
		extra = append(extra, `"fields":`+string(fields))
	}
	if len(extra) == 0 {
		return ev
	}
	out := []byte("{" + strings.Join(extra, ","))
	if rest := bytes.TrimSpace(ev[1:]); len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, ev[1:]...)
}

func mustJSON(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}
