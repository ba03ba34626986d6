package event

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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

func shortErr(err error) string { return truncate(err.Error(), 160) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
