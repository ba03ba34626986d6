package event

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

// MaxEventBytes bounds one event's encoded size; larger events are rejected.
const MaxEventBytes = 1 << 20

// Reasons an event is rejected. They are stable: summaries count by them.
const (
	ReasonMalformed   = "malformed JSON"
	ReasonNotObject   = "not a JSON object"
	ReasonInvalidUTF8 = "invalid UTF-8"
	ReasonNoTime      = "no event time"
	ReasonBadTime     = "unreadable event time"
	ReasonTooLarge    = "event too large"
)

// RejectError says why one event was refused.
type RejectError struct {
	Reason string // one of the Reason constants
	Detail string
}

func (e *RejectError) Error() string {
	if e.Detail == "" {
		return e.Reason
	}
	return e.Reason + ": " + e.Detail
}

// ReasonOf returns the stable reason of a rejection, or "error".
func ReasonOf(err error) string {
	var r *RejectError
	if errors.As(err, &r) {
		return r.Reason
	}
	return "error"
}

// Normalizer turns Threat Stack raw events (one JSON object each) into
// Events. It reuses its buffers: not safe for concurrent use.
type Normalizer struct {
	// Org is the organization of events that carry none.
	Org string
	// Now returns the ingestion time in epoch ms; time.Now when nil.
	Now func() int64

	p fastjson.Parser
}

// Normalize parses one raw event into e, which it overwrites. On error e is
// unspecified.
func (n *Normalizer) Normalize(line []byte, e *Event) error {
	if len(line) > MaxEventBytes {
		return &RejectError{Reason: ReasonTooLarge, Detail: strconv.Itoa(len(line)) + " bytes, limit " + strconv.Itoa(MaxEventBytes)}
	}
	if !utf8.Valid(line) {
		return &RejectError{Reason: ReasonInvalidUTF8}
	}
	v, err := n.p.ParseBytes(line)
	if err != nil {
		return &RejectError{Reason: ReasonMalformed, Detail: shortErr(err)}
	}
	o, err := v.Object()
	if err != nil {
		return &RejectError{Reason: ReasonNotObject, Detail: "got " + v.Type().String()}
	}
	*e = Event{}
	raw := make([]byte, 0, len(line))
	raw = append(raw, '{')
	var fallbackTime *fastjson.Value
	var timeErr error
	o.Visit(func(key []byte, v *fastjson.Value) {
		k := string(key)
		if id, ok := byKey[k]; ok {
			if lift(e, id, v) {
				e.Lifted |= 1 << id
				return
			}
			if id == EventTime && !e.Has(EventTime) {
				timeErr = setTime(e, v)
			}
		}
		switch k {
		case "timestamp", "eventTime", "@timestamp":
			if fallbackTime == nil {
				fallbackTime = v
			}
		case "host_metadata":
			fromNested(e, v, Hostname, "hostname")
			fromNested(e, v, OSVersion, "os_version")
			fromNested(e, v, Kernel, "kernel")
			fromNested(e, v, InstanceID, "instance_id")
		case "network_metadata":
			if a, err := v.Array(); err == nil && len(a) > 0 {
				firstOf(e, a[0], PrivateIP, "private_ip_address")
				firstOf(e, a[0], PublicIP, "public_ip_address")
			}
		case "provider_metadata":
			fromNested(e, v, CloudProvider, "cloud_provider")
			fromNested(e, v, AccountID, "account_id")
		case "parent_metadata":
			fromNested(e, v, ParentExe, "exe")
		case "userIdentity":
			fromNested(e, v, UserType, "type")
			fromNested(e, v, UserARN, "arn")
			fromNested(e, v, AccountID, "accountId")
		case "sourceIPAddress":
			fromNested(e, v, SrcIP)
		case "recipientAccountId":
			fromNested(e, v, AccountID)
		}
		if len(raw) > 1 {
			raw = append(raw, ',')
		}
		raw = appendJSONString(raw, k)
		raw = append(raw, ':')
		raw = v.MarshalTo(raw)
	})
	e.Raw = append(raw, '}')

	if !e.Has(EventTime) {
		if timeErr != nil {
			return timeErr
		}
		if fallbackTime == nil {
			return &RejectError{Reason: ReasonNoTime, Detail: "no event_time, timestamp or eventTime"}
		}
		if err := setTime(e, fallbackTime); err != nil {
			return err
		}
	}
	if !e.Has(ID) {
		sum := sha256.Sum256(line)
		e.SetString(ID, hex.EncodeToString(sum[:16]))
	}
	if !e.Has(OrganizationID) {
		e.SetString(OrganizationID, n.Org)
	}
	if !e.Has(EventType) {
		e.SetString(EventType, "unknown")
	}
	e.SetString(DateKey, DateKeyOf(e.Int[EventTime]))
	now := time.Now().UnixMilli()
	if n.Now != nil {
		now = n.Now()
	}
	e.SetInt(InsertTime, now)
	return nil
}

// lift sets field id from v when v has the JSON type of the field's kind, and
// reports whether it did (the key then leaves raw).
func lift(e *Event, id FieldID, v *fastjson.Value) bool {
	switch catalog[id].Kind {
	case KindString:
		if v.Type() != fastjson.TypeString {
			if !e.Has(id) {
				coerceString(e, id, v)
			}
			return false
		}
		e.SetString(id, string(v.GetStringBytes()))
		return true
	case KindInt:
		if v.Type() == fastjson.TypeNumber {
			if i, err := v.Int64(); err == nil && strconv.FormatInt(i, 10) == string(v.MarshalTo(nil)) {
				e.SetInt(id, i)
				return true
			}
		}
		if !e.Has(id) {
			if i, ok := intOf(v); ok {
				e.SetInt(id, i)
			}
		}
		return false
	case KindTime:
		if v.Type() == fastjson.TypeNumber {
			if i, err := v.Int64(); err == nil && strconv.FormatInt(i, 10) == string(v.MarshalTo(nil)) && i > 1e11 && i < 1e14 {
				e.SetInt(id, i)
				return true
			}
		}
		return false
	case KindBool:
		switch v.Type() {
		case fastjson.TypeTrue:
			e.SetBool(id, true)
			return true
		case fastjson.TypeFalse:
			e.SetBool(id, false)
			return true
		case fastjson.TypeString:
			if b, err := strconv.ParseBool(string(v.GetStringBytes())); err == nil {
				e.SetBool(id, b)
			}
		}
		return false
	case KindList:
		a, err := v.Array()
		if err != nil {
			return false
		}
		l := make([]string, len(a))
		exact := true
		for i, x := range a {
			if x.Type() == fastjson.TypeString {
				l[i] = string(x.GetStringBytes())
			} else {
				exact = false
				l[i] = string(x.MarshalTo(nil))
			}
		}
		e.SetList(id, l)
		return exact
	}
	return false
}

func coerceString(e *Event, id FieldID, v *fastjson.Value) {
	switch v.Type() {
	case fastjson.TypeNumber, fastjson.TypeTrue, fastjson.TypeFalse:
		e.SetString(id, string(v.MarshalTo(nil)))
	}
}

func intOf(v *fastjson.Value) (int64, bool) {
	switch v.Type() {
	case fastjson.TypeNumber:
		f, err := v.Float64()
		if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
			return 0, false
		}
		return int64(f), true
	case fastjson.TypeString:
		s := strings.TrimSpace(string(v.GetStringBytes()))
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, true
		}
		if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
			if i, err := strconv.ParseInt(s[2:], 16, 64); err == nil {
				return i, true
			}
		}
	}
	return 0, false
}

// fromNested sets a string field from v (or v's nested path) unless the field
// is set already. The value stays in raw.
func fromNested(e *Event, v *fastjson.Value, id FieldID, path ...string) {
	if e.Has(id) {
		return
	}
	x := v.Get(path...)
	if x == nil {
		return
	}
	switch x.Type() {
	case fastjson.TypeString:
		if s := x.GetStringBytes(); len(s) > 0 {
			e.SetString(id, string(s))
		}
	case fastjson.TypeNumber:
		e.SetString(id, string(x.MarshalTo(nil)))
	}
}

// firstOf sets a string field from the first element of v's array at key.
func firstOf(e *Event, v *fastjson.Value, id FieldID, key string) {
	if e.Has(id) {
		return
	}
	a := v.GetArray(key)
	if len(a) > 0 && a[0].Type() == fastjson.TypeString {
		e.SetString(id, string(a[0].GetStringBytes()))
	}
}

// setTime reads an event time: epoch seconds, ms, µs or ns as a number or a
// string of digits, or an RFC 3339 string.
func setTime(e *Event, v *fastjson.Value) error {
	ms, err := ParseTime(v)
	if err != nil {
		return err
	}
	e.SetInt(EventTime, ms)
	return nil
}

// ParseTime reads a JSON time value as epoch milliseconds.
func ParseTime(v *fastjson.Value) (int64, error) {
	switch v.Type() {
	case fastjson.TypeNumber:
		f, err := v.Float64()
		if err != nil {
			return 0, &RejectError{Reason: ReasonBadTime, Detail: err.Error()}
		}
		return epochToMS(f)
	case fastjson.TypeString:
		s := string(v.GetStringBytes())
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return epochToMS(f)
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UnixMilli(), nil
			}
		}
		return 0, &RejectError{Reason: ReasonBadTime, Detail: strconv.Quote(truncate(s, 64))}
	}
	return 0, &RejectError{Reason: ReasonBadTime, Detail: "a " + v.Type().String()}
}

// epochToMS scales an epoch number by its magnitude: seconds, ms, µs or ns.
func epochToMS(f float64) (int64, error) {
	a := math.Abs(f)
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return 0, &RejectError{Reason: ReasonBadTime, Detail: "not a number"}
	case a < 1e11:
		return int64(math.Round(f * 1000)), nil
	case a < 1e14:
		return int64(f), nil
	case a < 1e17:
		return int64(f / 1e3), nil
	case a < 1e20:
		return int64(f / 1e6), nil
	}
	return 0, &RejectError{Reason: ReasonBadTime, Detail: "out of range"}
}

func shortErr(err error) string { return truncate(err.Error(), 160) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
