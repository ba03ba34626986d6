// Package k8saudit reads Kubernetes audit events (audit.k8s.io/v1 Event
// objects, as the API server's log backend and EKS control-plane logging
// write them) into spoor events. A record is one JSON line or one element
// of a top-level array; package jsonrec splits the input, Convert maps one
// record.
package k8saudit

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/parse"
	"github.com/valyala/fastjson"
)

var parsers fastjson.ParserPool

// Convert maps one audit event (an object's text) into e. The event is kept
// whole in Raw; typed fields repeat what analysts filter on.
//
// A CloudWatch Logs export line ({"timestamp":..,"message":"<event JSON>"})
// is unwrapped: the event in its message is what is read and kept.
func Convert(v []byte, e *event.Event) error {
	p := parsers.Get()
	defer parsers.Put(p)
	rec, err := parse.Object(p, v)
	if err != nil {
		return err
	}
	if inner := wrapped(rec); inner != nil {
		v = inner
		// A second parser: rec (and its message) belong to p.
		q := parsers.Get()
		defer parsers.Put(q)
		if rec, err = parse.Object(q, v); err != nil {
			return err
		}
	}
	// The time the API server received the request: every stage of one
	// request (RequestReceived, ResponseStarted, ResponseComplete, Panic)
	// carries the same one, so a request's records sort together.
	t := rec.Get("requestReceivedTimestamp")
	if t == nil {
		t = rec.Get("stageTimestamp")
	}
	if t == nil {
		t = rec.Get("timestamp") // audit.k8s.io/v1beta1
	}
	if t == nil {
		return &event.RejectError{Reason: event.ReasonNoTime, Detail: "no requestReceivedTimestamp or stageTimestamp"}
	}
	ms, err := event.ParseTime(t.MarshalTo(nil))
	if err != nil {
		return err
	}
	e.SetInt(event.EventTime, ms)
	e.SetString(event.EventType, "kubernetes")
	str := func(id event.FieldID, keys ...string) string {
		s := rec.GetStringBytes(keys...)
		if len(s) == 0 {
			return ""
		}
		e.SetString(id, string(s))
		return e.Str[id]
	}
	str(event.User, "user", "username")
	str(event.EventName, "verb")
	str(event.UserAgent, "userAgent")
	str(event.Namespace, "objectRef", "namespace")
	str(event.ObjectName, "objectRef", "name")
	// The resource as RBAC names it: "pods", "pods/exec", "secrets".
	if res := rec.GetStringBytes("objectRef", "resource"); len(res) > 0 {
		r := string(res)
		if sub := rec.GetStringBytes("objectRef", "subresource"); len(sub) > 0 {
			r += "/" + string(sub)
		}
		e.SetString(event.EventSource, r)
	}
	// The client's address first; proxies in between come after it.
	str(event.SrcIP, "sourceIPs", "0")
	if c := rec.Get("responseStatus", "code"); c != nil && c.Type() == fastjson.TypeNumber {
		if code, err := c.Int64(); err == nil {
			e.SetInt(event.ResponseCode, code)
			e.SetBool(event.Success, code < 400)
			if code >= 400 {
				if r := rec.GetStringBytes("responseStatus", "reason"); len(r) > 0 {
					e.SetString(event.ErrorCode, string(r))
				} else {
					e.SetString(event.ErrorCode, strconv.FormatInt(code, 10))
				}
			}
		}
	}
	// A pretty-printed event: store it compact, one line like the rest.
	if bytes.IndexByte(v, '\n') >= 0 {
		v = rec.MarshalTo(make([]byte, 0, len(v)))
	} else {
		v = bytes.Clone(v)
	}
	// auditID alone does not identify a record: every stage of a request
	// logs it, and a client may choose it (the Audit-ID request header), so
	// an intruder could reuse one to have later records dropped as
	// duplicates. The content hash keeps different records apart.
	e.SetString(event.ID, parse.HashID("kubernetes", string(rec.GetStringBytes("auditID")), string(rec.GetStringBytes("stage")), string(v)))
	e.Raw = v
	return nil
}

// wrapped returns the audit event inside a CloudWatch Logs export record
// (a "message" or "@message" string holding the event's JSON), or nil.
func wrapped(rec *fastjson.Value) []byte {
	if rec.Exists("auditID") || rec.Exists("verb") {
		return nil
	}
	for _, k := range []string{"message", "@message"} {
		m := rec.GetStringBytes(k)
		if m = bytes.TrimSpace(m); len(m) > 0 && m[0] == '{' && bytes.Contains(m, []byte(`"auditID"`)) {
			return bytes.Clone(m)
		}
	}
	return nil
}

// Looks says whether one JSON record is a Kubernetes audit event: kind
// Event of the audit.k8s.io API group, or the auditID, verb and requestURI
// every audit event carries (also inside a CloudWatch Logs export record).
func Looks(v []byte) bool {
	p := parsers.Get()
	defer parsers.Put(p)
	rec, err := p.ParseBytes(v)
	if err != nil || rec.Type() != fastjson.TypeObject {
		return false
	}
	if inner := wrapped(rec); inner != nil {
		return Looks(inner)
	}
	if string(rec.GetStringBytes("kind")) == "Event" && strings.HasPrefix(string(rec.GetStringBytes("apiVersion")), "audit.k8s.io/") {
		return true
	}
	return rec.Exists("auditID") && rec.Exists("verb") && rec.Exists("requestURI")
}
