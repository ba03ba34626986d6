package winevent

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/spoor-dev/spoor/internal/parse"
	"github.com/valyala/fastjson"
)

// canonGUID returns a GUID in the one form spoor stores, lowercase in
// braces as Sysmon writes it ({5770385f-c22a-43e0-bf4c-06f5698ffbd9}), from
// any of the forms exports use: with or without braces, either case. ok is
// false when s is not a GUID.
func canonGUID(s string) (string, bool) {
	t := s
	if len(t) == 38 && t[0] == '{' && t[37] == '}' {
		t = t[1:37]
	}
	if len(t) != 36 {
		return s, false
	}
	var out [38]byte
	out[0], out[37] = '{', '}'
	for i := 0; i < 36; i++ {
		c := t[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return s, false
			}
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f':
		case c >= 'A' && c <= 'F':
			c += 'a' - 'A'
		default:
			return s, false
		}
		out[i+1] = c
	}
	if string(out[:]) == s {
		return s, true
	}
	return string(out[:]), true
}

// guid writes a GUID as Sysmon does, lowercase in braces, the one form
// spoor stores (see canonGUID).
func guid(b []byte) string {
	le := binary.LittleEndian
	const h = "0123456789abcdef"
	out := make([]byte, 0, 38)
	out = append(out, '{')
	hx := func(v uint64, n int) {
		for i := n - 1; i >= 0; i-- {
			out = append(out, h[(v>>(4*uint(i)))&0xF])
		}
	}
	hx(uint64(le.Uint32(b)), 8)
	out = append(out, '-')
	hx(uint64(le.Uint16(b[4:])), 4)
	out = append(out, '-')
	hx(uint64(le.Uint16(b[6:])), 4)
	out = append(out, '-')
	for i := 8; i < 16; i++ {
		if i == 10 {
			out = append(out, '-')
		}
		hx(uint64(b[i]), 2)
	}
	return string(append(out, '}'))
}

// guidName says whether a member of a Windows event holds a GUID by its
// name: ProcessGuid, SourceProcessGUID, LogonGuid, ProviderGuid,
// ActivityID, ... JSON exports carry no types, so the name is what tells.
func guidName(k string) bool {
	n := len(k)
	if n >= 4 && strings.EqualFold(k[n-4:], "guid") {
		return true
	}
	return k == "ActivityID" || k == "RelatedActivityID"
}

// guidValue returns v in the canonical form when member k holds a GUID.
func guidValue(k, v string) string {
	if guidName(k) {
		v, _ = canonGUID(v)
	}
	return v
}

// dataMember adds one EventData member to raw and r.data; a GUID (by its
// name) in the one form spoor stores, whatever the export wrote.
func dataMember(o *rawObj, r *rec, name string, v *fastjson.Value) {
	s := text(v)
	if v.Type() == fastjson.TypeString && guidName(name) {
		if g, ok := canonGUID(s); ok {
			o.str(name, g)
			r.data = append(r.data, kv{name, g})
			return
		}
	}
	o.fj(name, v)
	r.data = append(r.data, kv{name, s})
}

// recordID derives a Windows event's _id from what identifies it: the
// source (computer and channel, lowercased: NXLog writes "security" where
// EVTX says "Security"), its record number, the second it was created, its
// event id and a hash of its EventData. Record numbers restart with every
// log file and lab machines share names, so the number alone does not
// identify a record; the content does. Every field is taken in the form
// all sources share, so one record read from an EVTX file, an evtx_dump,
// Winlogbeat or NXLog export gets one _id: the second, not the
// millisecond (NXLog's EventTime has whole seconds), values trimmed
// (evtx_dump trims them), "-" and empty values left out (NXLog leaves them
// out), GUIDs in one form and members in name order. ok is false when the
// record lacks a computer, channel or record number: the ingest then
// hashes the whole record.
func recordID(r *rec) (string, bool) {
	if r.computer == "" || r.channel == "" || !r.hasRec {
		return "", false
	}
	sum := r.dataSum
	if sum == "" {
		sum = dataHash(r.data)
	}
	return parse.HashID("winevent", strings.ToLower(r.computer), strings.ToLower(r.channel),
		strconv.FormatInt(r.recNum, 10), strconv.FormatInt(time.UnixMilli(r.ms).Unix(), 10),
		strconv.FormatInt(r.id, 10), sum), true
}

// nxlogDataHash is dataHash of an NXLog line's EventData members: every
// member but the System and collector fields. The members' text is read
// in place, not copied: it is hashed before the parser is reused.
func nxlogDataHash(root *fastjson.Value) string {
	obj, err := root.Object()
	if err != nil {
		return dataHash(nil)
	}
	p := pairPool.Get().(*[]kv)
	data := (*p)[:0]
	obj.Visit(func(k []byte, v *fastjson.Value) {
		if nxlogNotData[string(k)] || len(k) == 0 {
			return
		}
		var s string
		if b, err := v.StringBytes(); err == nil {
			if len(b) > 0 {
				s = unsafe.String(&b[0], len(b))
			}
		} else {
			s = text(v)
		}
		data = append(data, kv{unsafe.String(&k[0], len(k)), s})
	})
	sum := dataHash(data)
	clear(data) // the strings point into the parser's memory
	*p = data[:0]
	pairPool.Put(p)
	return sum
}

var pairPool = sync.Pool{New: func() any { return new([]kv) }}

// dataHash hashes the EventData members, in name order, in the form every
// source shares.
func dataHash(data []kv) string {
	p := pairPool.Get().(*[]kv)
	defer pairPool.Put(p)
	pairs := (*p)[:0]
	defer func() { clear(pairs); *p = pairs[:0] }()
	for _, d := range data {
		v := strings.TrimSpace(d.v)
		if v == "" || v == "-" || unnamedData(d.k) || nxlogNotData[d.k] {
			// nxlogNotData: an NXLog line cannot tell such EventData
			// members from its System fields; no source hashes them.
			continue
		}
		// Any GUID-shaped value, whatever its name: EVTX types them
		// (TransactionId is one), exports spell them their own way.
		v, _ = canonGUID(v)
		pairs = append(pairs, kv{d.k, v})
	}
	slices.SortFunc(pairs, func(a, b kv) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	n := 0
	for _, p := range pairs {
		n += len(p.k) + len(p.v) + 2
	}
	b := make([]byte, 0, n)
	for _, p := range pairs {
		b = append(append(append(append(b, p.k...), 0), p.v...), 0)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// unnamedData says whether k is the name an export gives <Data> without a
// Name: "Data" (EVTX, evtx_dump) or "param1", "param2", ... (Winlogbeat).
// Exporters differ, so such members stay out of the hash.
func unnamedData(k string) bool {
	if k == "Data" {
		return true
	}
	if n, ok := strings.CutPrefix(k, "param"); ok && n != "" {
		_, err := strconv.Atoi(n)
		return err == nil
	}
	return false
}
