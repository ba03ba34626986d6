package event

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cespare/xxhash/v2"
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

// columnKeys are column names that differ from the Threat Stack key of
// their field (or that have none): events in spoor's own form use them.
var columnKeys = func() map[string]FieldID {
	m := map[string]FieldID{}
	for _, f := range catalog {
		if f.Key != f.Name && f.ID != InsertTime && f.ID != DateKey {
			m[f.Name] = f.ID
		}
	}
	return m
}()

// nestedKeys are the top-level keys whose nested values fill typed fields.
var nestedKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"timestamp", "eventTime", "@timestamp", "host_metadata", "network_metadata",
		"provider_metadata", "parent_metadata", "userIdentity", "sourceIPAddress", "recipientAccountId"} {
		m[k] = k
	}
	return m
}()

// Normalizer turns Threat Stack raw events (one JSON object each) into
// Events. It is cheap to copy and holds no buffers; one per goroutine.
type Normalizer struct {
	// Org is the organization of events that carry none.
	Org string
	// Now returns the ingestion time in epoch ms; time.Now when nil.
	Now func() int64

	// seen remembers, per top-level key, the last object or array value
	// that was validated and what it filled: an agent repeats the same
	// metadata blocks in every event, so most are compared, not parsed.
	seen    map[uint64][]*seenValue
	metas   map[uint64][]byte // interned Meta texts: one copy per host
	rawBuf  []byte
	metaBuf []byte
	hit     *seenValue // the known value the scanner just skipped
	scratch Event
	// repeats counts, within the batch StartBatch began, the _ids derived
	// from a hash of the content; nil outside a batch.
	repeats map[string]int
}

// StartBatch begins a batch: a run of records in input order (a chunk of
// a file, a request body). An event with no _id of its own gets a hash of
// its content; within a batch, the n-th identical one (n > 1) gets that
// hash with n, so identical records next to each other, which nothing in
// them tells apart (Sysmon logs two equal process accesses in one
// millisecond; exports without record numbers), are kept as separate
// events, and the same input read again gets the same _ids.
func (n *Normalizer) StartBatch() {
	if n.repeats == nil {
		n.repeats = make(map[string]int, 256)
	} else {
		clear(n.repeats)
	}
}

type seenValue struct {
	key, text []byte
	filled    []filledField
}

type filledField struct {
	id FieldID
	s  string
}

// maxSeen bounds the cache: a few blocks per agent of a large fleet.
const maxSeen = 1 << 14

// seenHash hashes a key and the first bytes of its value: enough to find a
// known value at the start of the unscanned input without scanning it.
func seenHash(key, v []byte) uint64 {
	const prefix = 64
	if len(v) > prefix {
		v = v[:prefix]
	}
	d := xxhash.New()
	d.Write(key)
	d.Write([]byte{0})
	d.Write(v)
	return d.Sum64()
}

// known returns the length of a remembered value of key that rest starts
// with, 0 if none. A JSON object or array is self-delimiting, so a
// remembered value's text at the start of rest is the whole value.
func (n *Normalizer) known(key, rest []byte) int {
	n.hit = nil
	if len(rest) < minSeen || (rest[0] != '{' && rest[0] != '[') {
		return 0
	}
	for _, sv := range n.seen[seenHash(key, rest)] {
		if bytes.HasPrefix(rest, sv.text) && bytes.Equal(sv.key, key) {
			n.hit = sv
			return len(sv.text)
		}
	}
	return 0
}

// Normalize parses one raw event into e, which it overwrites. On error e is
// unspecified.
func (n *Normalizer) Normalize(line []byte, e *Event) error {
	if len(line) > MaxEventBytes {
		return &RejectError{Reason: ReasonTooLarge, Detail: strconv.Itoa(len(line)) + " bytes, limit " + strconv.Itoa(MaxEventBytes)}
	}
	ascii, control := scanBytes(line)
	if !ascii && !utf8.Valid(line) {
		return &RejectError{Reason: ReasonInvalidUTF8}
	}
	if control && !json.Valid(line) {
		// The fast validator lets control characters through inside strings.
		return &RejectError{Reason: ReasonMalformed, Detail: "control character in a string"}
	}
	if i := skipSpace(line, 0); i >= len(line) || line[i] != '{' {
		if err := fastjson.ValidateBytes(line); err != nil {
			return &RejectError{Reason: ReasonMalformed, Detail: shortErr(err)}
		}
		what := "nothing"
		if i < len(line) {
			what = kindName(kindOf(line[i:]))
		}
		return &RejectError{Reason: ReasonNotObject, Detail: "got " + what}
	}
	*e = Event{}
	// raw and meta are built in scratch buffers and copied out at their
	// size: the head holds events by the hundred thousand.
	raw := append(n.rawBuf[:0], '{')
	meta := n.metaBuf[:0]
	var fallbackTime []byte
	var timeErr, memberErr error
	err := members(line, true, n.known, func(m member) bool {
		var k string
		if !validKey(m.key) {
			memberErr = &RejectError{Reason: ReasonMalformed, Detail: "bad key " + strconv.Quote(truncate(string(m.key), 64))}
			return false
		}
		if bytes.IndexByte(m.key, '\\') < 0 {
			if id, ok := byKey[string(m.key)]; ok {
				if lift(e, id, m.value) {
					e.Lifted |= 1 << id
					return true
				}
				if id == EventTime && !e.Has(EventTime) {
					timeErr = setTime(e, m.value)
				}
			}
			if special, ok := nestedKeys[string(m.key)]; ok {
				k = special
			}
			// spoor's own form names fields by column (container_id,
			// event_name, os_version): typed, and kept in raw as sent.
			if id, ok := columnKeys[string(m.key)]; ok && !e.Has(id) {
				lift(e, id, m.value)
			}
		} else if uk, ok := unquote(append(append([]byte{'"'}, m.key...), '"')); ok {
			// An escaped key: rare, decoded the slow way. It stays in raw.
			if _, typed := byKey[uk]; !typed {
				k = nestedKeys[uk]
			}
		}
		v := m.value
		switch k {
		case "timestamp", "eventTime", "@timestamp":
			if fallbackTime == nil {
				fallbackTime = v
			}
		}
		if sv := n.hit; sv != nil && len(sv.text) == len(v) {
			for _, f := range sv.filled {
				if !e.Has(f.id) {
					e.SetString(f.id, f.s)
				}
			}
			goto keep
		}
		if err := fastjson.ValidateBytes(v); err != nil {
			memberErr = &RejectError{Reason: ReasonMalformed, Detail: "value of " + strconv.Quote(truncate(string(m.key), 64)) + ": " + shortErr(err)}
			return false
		}
		if kind := kindOf(v); k != "" || kind == vObject || kind == vArray {
			// Fill a scratch event so what the block holds is remembered
			// whatever fields this event had set already.
			n.scratch.Set = 0
			n.fillNested(&n.scratch, k, v)
			for id := FieldID(0); int(id) < NumFields; id++ {
				if n.scratch.Has(id) && !e.Has(id) {
					e.SetString(id, n.scratch.Str[id])
				}
			}
			if kind == vObject || kind == vArray {
				n.remember(&n.scratch, m.key, v, n.scratch.Set)
			}
		}
	keep:
		if metaKeySet[string(m.key)] {
			if len(meta) == 0 {
				meta = append(meta, '{')
			} else {
				meta = append(meta, ',')
			}
			meta = append(meta, line[m.start:m.end]...)
			return true
		}
		if len(raw) > 1 {
			raw = append(raw, ',')
		}
		raw = append(raw, line[m.start:m.end]...)
		return true
	})
	if memberErr != nil {
		return memberErr
	}
	if err != nil {
		return &RejectError{Reason: ReasonMalformed, Detail: err.Error()}
	}
	raw = append(raw, '}')
	e.Raw = append([]byte(nil), raw...)
	n.rawBuf = raw
	if len(meta) > 0 {
		meta = append(meta, '}')
		e.Meta = n.intern(meta)
		n.metaBuf = meta
	}
	return n.finish(line, e, fallbackTime, timeErr)
}

// fillNested fills typed fields from the value of a key in nestedKeys.
func (n *Normalizer) fillNested(e *Event, k string, v []byte) {
	switch k {
	case "host_metadata":
		fromNested(e, v, Hostname, "hostname")
		fromNested(e, v, OSVersion, "os_version")
		fromNested(e, v, Kernel, "kernel")
		fromNested(e, v, InstanceID, "instance_id")
	case "network_metadata":
		if kindOf(v) == vArray {
			first := true
			eachElement(v, func(el []byte) {
				if first && kindOf(el) == vObject {
					firstOf(e, el, PrivateIP, "private_ip_address")
					firstOf(e, el, PublicIP, "public_ip_address")
				}
				first = false
			})
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
}

// remember keeps a validated object or array value and what it filled.
func (n *Normalizer) remember(e *Event, key, v []byte, filled uint64) {
	if len(v) < minSeen || len(v) > 64<<10 {
		return
	}
	if n.seen == nil || len(n.seen) >= maxSeen {
		n.seen = make(map[uint64][]*seenValue, 256)
	}
	sv := &seenValue{key: append([]byte(nil), key...), text: append([]byte(nil), v...)}
	for id := FieldID(0); int(id) < NumFields; id++ {
		if filled&(1<<id) != 0 {
			sv.filled = append(sv.filled, filledField{id, e.Str[id]})
		}
	}
	h := seenHash(key, v)
	if b := n.seen[h]; len(b) < 4 {
		n.seen[h] = append(b, sv)
	} else {
		n.seen[h] = []*seenValue{sv}
	}
}

// intern returns an earlier identical Meta text, or remembers this one:
// events of one host share one copy.
// meta is scratch; what is kept is a copy.
func (n *Normalizer) intern(meta []byte) []byte {
	h := xxhash.Sum64(meta)
	if old, ok := n.metas[h]; ok && bytes.Equal(old, meta) {
		return old
	}
	if n.metas == nil || len(n.metas) >= maxSeen {
		n.metas = make(map[uint64][]byte, 256)
	}
	kept := append([]byte(nil), meta...)
	n.metas[h] = kept
	return kept
}

// minSeen is the smallest value worth remembering: shorter ones are
// cheaper to scan than to look up.
const minSeen = 64

// Complete fills what every event has for an event a format decoder built:
// _id (from a hash of Raw when unset), organization_id, event_type,
// date_key and _insert_time. The decoder must have set event_time.
func (n *Normalizer) Complete(e *Event) error {
	if !e.Has(EventTime) {
		return &RejectError{Reason: ReasonNoTime, Detail: "the record has no time"}
	}
	if len(e.Raw) > MaxEventBytes {
		return &RejectError{Reason: ReasonTooLarge, Detail: fmt.Sprintf("%d bytes, limit %d", len(e.Raw), MaxEventBytes)}
	}
	return n.finish(e.Raw, e, nil, nil)
}

// finish fills the fields every event has.
func (n *Normalizer) finish(line []byte, e *Event, fallbackTime []byte, timeErr error) error {
	if !e.Has(EventTime) && timeErr == nil && e.Has(Timestamp) {
		e.SetInt(EventTime, e.Int[Timestamp])
	}
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
		id := hex.EncodeToString(sum[:16])
		if n.repeats != nil {
			k := n.repeats[id] + 1
			n.repeats[id] = k
			if k > 1 {
				sum = sha256.Sum256([]byte(id + "#" + strconv.Itoa(k)))
				id = hex.EncodeToString(sum[:16])
			}
		}
		e.SetString(ID, id)
	}
	if !e.Has(OrganizationID) {
		e.SetString(OrganizationID, n.Org)
	}
	if !e.Has(EventType) {
		e.SetString(EventType, "unknown")
	}
	e.SetString(DateKey, DateKeyOf(e.Int[EventTime]))
	var now int64
	if n.Now != nil {
		now = n.Now()
	} else {
		now = time.Now().UnixMilli()
	}
	e.SetInt(InsertTime, now)
	return nil
}

// scanBytes reports whether b is all ASCII and whether it holds a control
// byte (below 0x20), eight bytes at a time. JSON allows control bytes only
// as white space outside strings; lines with any take the strict slow path.
func scanBytes(b []byte) (ascii, control bool) {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	var high, ctl uint64
	i := 0
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		high |= w
		// A byte below 0x20 borrows in w - 0x20 and has its top bit clear.
		ctl |= (w - 0x20*lo) &^ w
	}
	for ; i < len(b); i++ {
		high |= uint64(b[i])
		if b[i] < 0x20 {
			ctl |= hi
		}
	}
	return high&hi == 0, ctl&hi != 0
}

// validKey checks a key's text as a JSON string body.
func validKey(k []byte) bool {
	for _, c := range k {
		if c < 0x20 {
			return false
		}
	}
	if bytes.IndexByte(k, '\\') < 0 {
		return true
	}
	_, ok := unquote(append(append([]byte{'"'}, k...), '"'))
	return ok
}

func kindName(k valueKind) string {
	switch k {
	case vString:
		return "a string"
	case vNumber:
		return "a number"
	case vTrue, vFalse:
		return "a boolean"
	case vNull:
		return "null"
	case vArray:
		return "an array"
	}
	return "something else"
}

// canonicalInt reports whether a JSON number's text is exactly the decimal
// form of an int64 (so lifting it and printing it back gives the same text).
func canonicalInt(v []byte) (int64, bool) {
	i, err := strconv.ParseInt(string(v), 10, 64)
	if err != nil {
		return 0, false
	}
	return i, true
}

// lift sets field id from v when v has the JSON type of the field's kind, and
// reports whether it did (the key then leaves raw).
func lift(e *Event, id FieldID, v []byte) bool {
	k := kindOf(v)
	switch catalog[id].Kind {
	case KindString:
		if k != vString {
			if !e.Has(id) && (k == vNumber || k == vTrue || k == vFalse) {
				e.SetString(id, string(v))
			}
			return false
		}
		s, ok := unquote(v)
		if !ok {
			return false
		}
		e.SetString(id, s)
		return true
	case KindInt:
		if k == vNumber {
			if i, ok := canonicalInt(v); ok {
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
		if k == vNumber {
			if i, ok := canonicalInt(v); ok && i > 1e11 && i < 1e14 {
				e.SetInt(id, i)
				return true
			}
		}
		return false
	case KindBool:
		switch k {
		case vTrue:
			e.SetBool(id, true)
			return true
		case vFalse:
			e.SetBool(id, false)
			return true
		case vString:
			if s, ok := unquote(v); ok {
				if b, err := strconv.ParseBool(s); err == nil {
					e.SetBool(id, b)
				}
			}
		}
		return false
	case KindList:
		if k != vArray {
			return false
		}
		var l []string
		exact := true
		eachElement(v, func(el []byte) {
			if s, ok := unquote(el); ok && kindOf(el) == vString {
				l = append(l, s)
			} else {
				exact = false
				l = append(l, string(el))
			}
		})
		if l == nil {
			l = []string{}
		}
		e.SetList(id, l)
		return exact
	}
	return false
}

func intOf(v []byte) (int64, bool) {
	switch kindOf(v) {
	case vNumber:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
			return 0, false
		}
		return int64(f), true
	case vString:
		s, _ := unquote(v)
		s = strings.TrimSpace(s)
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
func fromNested(e *Event, v []byte, id FieldID, path ...string) {
	if e.Has(id) {
		return
	}
	for _, p := range path {
		if kindOf(v) != vObject {
			return
		}
		v = lookup(v, p)
	}
	switch kindOf(v) {
	case vString:
		if s, ok := unquote(v); ok && s != "" {
			e.SetString(id, s)
		}
	case vNumber:
		e.SetString(id, string(v))
	}
}

// firstOf sets a string field from the first element of obj's array at key.
func firstOf(e *Event, obj []byte, id FieldID, key string) {
	if e.Has(id) {
		return
	}
	a := lookup(obj, key)
	if kindOf(a) != vArray {
		return
	}
	done := false
	eachElement(a, func(el []byte) {
		if done {
			return
		}
		done = true
		if s, ok := unquote(el); ok && kindOf(el) == vString {
			e.SetString(id, s)
		}
	})
}

// setTime reads an event time: epoch seconds, ms, µs or ns as a number or a
// string of digits, or an RFC 3339 string.
func setTime(e *Event, v []byte) error {
	ms, err := ParseTime(v)
	if err != nil {
		return err
	}
	e.SetInt(EventTime, ms)
	return nil
}

// ParseTime reads a JSON time value (its text) as epoch milliseconds.
func ParseTime(v []byte) (int64, error) {
	switch kindOf(v) {
	case vNumber:
		f, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return 0, &RejectError{Reason: ReasonBadTime, Detail: shortErr(err)}
		}
		return epochToMS(f)
	case vString:
		s, _ := unquote(v)
		return ParseTimeString(s)
	}
	return 0, &RejectError{Reason: ReasonBadTime, Detail: kindName(kindOf(v))}
}

// ParseTimeString reads epoch digits or an RFC 3339 time as epoch ms.
func ParseTimeString(s string) (int64, error) {
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
