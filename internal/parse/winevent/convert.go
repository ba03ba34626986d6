package winevent

import (
	"bytes"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/valyala/fastjson"
)

type shape uint8

const (
	shapeNone  shape = iota
	shapeDump        // evtx_dump: {"Event":{"System":{..},"EventData":{..}}}
	shapeBeat        // Winlogbeat: {"@timestamp":..,"winlog":{..}}
	shapeNXLog       // NXLog / OTRF: flat
)

var parsers fastjson.ParserPool

func shapeOf(v *fastjson.Value) shape {
	if v.Type() != fastjson.TypeObject {
		return shapeNone
	}
	if ev := v.Get("Event"); ev != nil && ev.Type() == fastjson.TypeObject {
		if s := ev.Get("System"); s != nil && s.Type() == fastjson.TypeObject {
			return shapeDump
		}
	}
	if w := v.Get("winlog"); w != nil && w.Type() == fastjson.TypeObject {
		if w.Exists("event_id") || w.Exists("channel") {
			return shapeBeat
		}
	}
	if v.Exists("EventID") && (v.Exists("Channel") || v.Exists("SourceName")) &&
		(v.Exists("EventTime") || v.Exists("Hostname") || v.Exists("@timestamp")) {
		return shapeNXLog
	}
	return shapeNone
}

// Looks reports whether one JSON record is a Windows event in one of the
// shapes Convert reads: NXLog/OTRF JSON lines, evtx_dump JSON or
// Winlogbeat.
func Looks(v []byte) bool {
	if len(v) > maxRecordLen {
		return false
	}
	p := parsers.Get()
	defer parsers.Put(p)
	val, err := p.ParseBytes(v)
	return err == nil && shapeOf(val) != shapeNone
}

// Convert is a parse.Converter for one Windows event as JSON, in any of
// the shapes Looks accepts, detected per record.
func Convert(v []byte, e *event.Event) error {
	if len(v) > maxRecordLen {
		return &event.RejectError{Reason: event.ReasonTooLarge, Detail: strconv.Itoa(len(v)) + " bytes"}
	}
	p := parsers.Get()
	defer parsers.Put(p)
	val, err := p.ParseBytes(v)
	if err != nil {
		d := err.Error()
		if len(d) > 160 {
			d = d[:160]
		}
		return &event.RejectError{Reason: event.ReasonMalformed, Detail: d}
	}
	if val.Type() != fastjson.TypeObject {
		return &event.RejectError{Reason: event.ReasonNotObject, Detail: "got " + val.Type().String()}
	}
	var r rec
	var raw []byte
	switch shapeOf(val) {
	case shapeDump:
		raw, err = fromDump(val, &r)
	case shapeBeat:
		raw, err = fromBeat(val, &r)
	case shapeNXLog:
		raw, err = fromNXLog(v, val, &r)
	default:
		return &event.RejectError{Reason: event.ReasonMalformed, Detail: reasonShape}
	}
	if err != nil {
		return err
	}
	return fill(e, &r, raw)
}

// text returns a scalar's text: strings as they are, numbers as written,
// booleans as "true"/"false"; "" for the rest.
func text(v *fastjson.Value) string {
	if v == nil {
		return ""
	}
	switch v.Type() {
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return string(b)
	case fastjson.TypeNumber:
		return string(v.MarshalTo(nil))
	case fastjson.TypeTrue:
		return "true"
	case fastjson.TypeFalse:
		return "false"
	case fastjson.TypeObject:
		// evtx_dump writes an element with attributes as {"#attributes":..,"#text":..}
		if t := v.Get("#text"); t != nil {
			return text(t)
		}
	}
	return ""
}

func intOf(v *fastjson.Value) (int64, bool) {
	return parseNum(text(v))
}

// rawObj builds Raw: one flat object, each name once, first one wins.
type rawObj struct {
	b     []byte
	names []string
	set   map[string]struct{} // the names, once there are many
}

func (o *rawObj) has(k string) bool {
	if o.set != nil {
		_, ok := o.set[k]
		return ok
	}
	for _, n := range o.names {
		if n == k {
			return true
		}
	}
	if len(o.names) >= 64 { // a hostile record can have 10^5 members
		o.set = make(map[string]struct{}, 2*len(o.names))
		for _, n := range o.names {
			o.set[n] = struct{}{}
		}
	}
	return false
}

// key opens member k; false when k is already there.
func (o *rawObj) key(k string) bool {
	if o.has(k) {
		return false
	}
	o.names = append(o.names, k)
	if o.set != nil {
		o.set[k] = struct{}{}
	}
	if len(o.b) == 0 {
		o.b = append(o.b, '{')
	} else {
		o.b = append(o.b, ',')
	}
	o.b = event.AppendJSONString(o.b, k)
	o.b = append(o.b, ':')
	return true
}

func (o *rawObj) str(k, v string) {
	if v != "" && o.key(k) {
		o.b = event.AppendJSONString(o.b, v)
	}
}

func (o *rawObj) fj(k string, v *fastjson.Value) {
	if v != nil && o.key(k) {
		o.b = appendFJ(o.b, v)
	}
}

func (o *rawObj) bytes() []byte {
	if len(o.b) == 0 {
		return []byte("{}")
	}
	return append(o.b, '}')
}

// dataFJ adds the members of an EventData or UserData object to raw and
// r.data. UserData holds one element whose members are the data.
func dataFJ(o *rawObj, r *rec, d *fastjson.Value, user bool) {
	obj, err := d.Object()
	if err != nil {
		return
	}
	if user && obj.Len() == 1 {
		obj.Visit(func(_ []byte, inner *fastjson.Value) {
			if inner.Type() == fastjson.TypeObject {
				d = inner
			}
		})
		if obj, err = d.Object(); err != nil {
			return
		}
	}
	obj.Visit(func(k []byte, v *fastjson.Value) {
		if string(k) == "#attributes" {
			// <EventData Name="..">: keep its attributes but xmlns.
			if a, err := v.Object(); err == nil {
				a.Visit(func(ak []byte, av *fastjson.Value) {
					if string(ak) != "xmlns" {
						dataMember(o, r, string(ak), av)
					}
				})
			}
			return
		}
		if t := v.Get("#text"); t != nil && v.Type() == fastjson.TypeObject {
			v = t // {"#attributes":..,"#text":..}: an element with attributes
		}
		dataMember(o, r, string(k), v)
	})
}

func fromDump(root *fastjson.Value, r *rec) ([]byte, error) {
	ev := root.Get("Event")
	sys := ev.Get("System")
	var o rawObj
	if d := ev.Get("EventData"); d != nil && d.Type() == fastjson.TypeObject {
		dataFJ(&o, r, d, false)
	} else if d := ev.Get("UserData"); d != nil && d.Type() == fastjson.TypeObject {
		dataFJ(&o, r, d, true)
	}
	r.id, r.hasID = intOf(sys.Get("EventID"))
	r.channel = text(sys.Get("Channel"))
	r.computer = text(sys.Get("Computer"))
	r.provider = text(sys.Get("Provider", "#attributes", "Name"))
	r.recNum, r.hasRec = intOf(sys.Get("EventRecordID"))
	tc := text(sys.Get("TimeCreated", "#attributes", "SystemTime"))
	if tc != "" {
		t, err := time.Parse(time.RFC3339Nano, tc)
		if err != nil {
			return nil, &event.RejectError{Reason: event.ReasonBadTime, Detail: strconv.Quote(truncate(tc, 64))}
		}
		r.ms, r.hasTime = t.UnixMilli(), true
	}
	r.task, r.hasTask = intOf(sys.Get("Task"))
	kw := text(sys.Get("Keywords"))
	if n, ok := parseNum(kw); ok {
		r.keywords, r.hasKW = uint64(n), true
	}
	if m := text(ev.Get("RenderingInfo", "Message")); m != "" {
		r.message = m
	}
	if t := text(ev.Get("RenderingInfo", "Task")); t != "" {
		r.category = t
	}
	o.fj("EventID", sys.Get("EventID"))
	o.str("Channel", r.channel)
	o.str("Computer", r.computer)
	o.str("Provider", r.provider)
	o.str("ProviderGuid", guidValue("ProviderGuid", text(sys.Get("Provider", "#attributes", "Guid"))))
	o.fj("EventRecordID", sys.Get("EventRecordID"))
	o.str("TimeCreated", tc)
	for _, k := range [...]string{"Level", "Task", "Opcode", "Keywords", "Version"} {
		if v := sys.Get(k); v != nil && v.Type() != fastjson.TypeNull {
			o.fj(k, v)
		}
	}
	if v := sys.Get("Execution", "#attributes", "ProcessID"); v != nil {
		o.fj("ExecutionProcessID", v)
	}
	if v := sys.Get("Execution", "#attributes", "ThreadID"); v != nil {
		o.fj("ExecutionThreadID", v)
	}
	o.str("UserID", text(sys.Get("Security", "#attributes", "UserID")))
	o.str("ActivityID", guidValue("ActivityID", text(sys.Get("Correlation", "#attributes", "ActivityID"))))
	o.str("Message", r.message)
	return o.bytes(), nil
}

func fromBeat(root *fastjson.Value, r *rec) ([]byte, error) {
	w := root.Get("winlog")
	var o rawObj
	if d := w.Get("event_data"); d != nil && d.Type() == fastjson.TypeObject {
		dataFJ(&o, r, d, false)
	}
	if d := w.Get("user_data"); d != nil && d.Type() == fastjson.TypeObject {
		dataFJ(&o, r, d, false)
	}
	r.id, r.hasID = intOf(w.Get("event_id"))
	r.channel = text(w.Get("channel"))
	r.computer = text(w.Get("computer_name"))
	r.provider = text(w.Get("provider_name"))
	r.recNum, r.hasRec = intOf(w.Get("record_id"))
	r.category = text(w.Get("task"))
	r.message = text(root.Get("message"))
	ts := text(root.Get("@timestamp"))
	if ts != "" {
		ms, err := parseUTC(ts)
		if err != nil {
			return nil, err
		}
		r.ms, r.hasTime = ms, true
	}
	for _, k := range w.GetArray("keywords") {
		switch t := text(k); t {
		case "Audit Success", "Audit Failure":
			r.kwText = t
		}
	}
	o.fj("EventID", w.Get("event_id"))
	o.str("Channel", r.channel)
	o.str("Computer", r.computer)
	o.str("Provider", r.provider)
	o.str("ProviderGuid", guidValue("ProviderGuid", text(w.Get("provider_guid"))))
	o.fj("EventRecordID", w.Get("record_id"))
	o.str("TimeCreated", ts)
	o.str("Level", text(root.Get("log", "level")))
	o.str("Task", r.category)
	o.str("Opcode", text(w.Get("opcode")))
	o.fj("Keywords", w.Get("keywords"))
	o.fj("Version", w.Get("version"))
	o.fj("ExecutionProcessID", w.Get("process", "pid"))
	o.fj("ExecutionThreadID", w.Get("process", "thread", "id"))
	o.str("UserID", text(w.Get("user", "identifier")))
	o.str("ActivityID", guidValue("ActivityID", text(w.Get("activity_id"))))
	o.str("Message", r.message)
	return o.bytes(), nil
}

// nxlogNotData are the names NXLog gives the System and collector fields;
// every other member of an NXLog line is EventData.
var nxlogNotData = map[string]bool{
	"EventTime": true, "EventReceivedTime": true, "@timestamp": true, "@version": true, "Hostname": true,
	"Keywords": true, "EventType": true, "SeverityValue": true, "Severity": true, "SourceName": true,
	"ProviderGuid": true, "Version": true, "Task": true, "OpcodeValue": true, "RecordNumber": true,
	"ExecutionProcessID": true, "ExecutionThreadID": true, "Channel": true, "Category": true, "Opcode": true,
	"Message": true, "SourceModuleName": true, "SourceModuleType": true, "EventID": true, "host": true,
	"port": true, "tags": true, "Domain": true, "AccountName": true, "UserID": true, "AccountType": true,
	"ActivityID": true, "RelatedActivityID": true, "ThreadID": true, "TimeCreated": true,
}

func fromNXLog(line []byte, root *fastjson.Value, r *rec) ([]byte, error) {
	r.lookup = func(k string) string {
		if nxlogNotData[k] {
			return ""
		}
		return text(root.Get(k))
	}
	r.dataSum = nxlogDataHash(root)
	r.id, r.hasID = intOf(root.Get("EventID"))
	r.channel = text(root.Get("Channel"))
	r.computer = text(root.Get("Hostname"))
	r.provider = text(root.Get("SourceName"))
	r.recNum, r.hasRec = intOf(root.Get("RecordNumber"))
	r.category = text(root.Get("Category"))
	r.message = text(root.Get("Message"))
	if n, ok := intOf(root.Get("Keywords")); ok {
		r.keywords, r.hasKW = uint64(n), true
	}
	r.kwText = text(root.Get("EventType"))
	evt, rcv, ts := text(root.Get("EventTime")), text(root.Get("EventReceivedTime")), text(root.Get("@timestamp"))
	if evt == "" {
		// Some exports (OTRF's newer ones) carry the System TimeCreated, in UTC.
		evt, rcv = text(root.Get("TimeCreated")), ""
	}
	ms, ok, err := nxlogTime(evt, rcv, ts)
	if err != nil {
		return nil, err
	}
	r.ms, r.hasTime = ms, ok
	// The line is kept as it is when it is strict JSON (fastjson accepts
	// some that is not); otherwise it is written again.
	raw := bytes.TrimSpace(line)
	if len(raw) > event.MaxEventBytes || !utf8.Valid(raw) || !strictJSON(raw) {
		raw = appendFJ(nil, root)
	} else {
		raw = bytes.Clone(raw)
	}
	return raw, nil
}

const localLayout = "2006-01-02 15:04:05.999999999"

// nxlogTime reads NXLog's EventTime, the collector's local time without a
// zone. The zone offset is @timestamp (UTC receipt) minus
// EventReceivedTime (local receipt), rounded to 15 minutes; without both,
// EventTime is taken as UTC. Without EventTime, @timestamp is the time.
// EventTime may have a fraction of a second.
func nxlogTime(evt, received, ts string) (int64, bool, error) {
	if evt == "" {
		if ts == "" {
			return 0, false, nil
		}
		ms, err := parseUTC(ts)
		return ms, err == nil, err
	}
	t, err := parseLocal(evt)
	if err != nil {
		ms, err := parseUTC(evt)
		return ms, err == nil, err
	}
	if received != "" && ts != "" {
		rt, err1 := parseLocal(received)
		utc, err2 := parseUTC(ts)
		if err1 == nil && err2 == nil {
			const q = 15 * 60 * 1000
			off := float64(utc - rt.UnixMilli())
			if math.Abs(off) <= 14*3600*1000+q {
				t = t.Add(time.Duration(math.Round(off/q)*q) * time.Millisecond)
			}
		}
	}
	return t.UnixMilli(), true, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// strictJSON reports whether b, which fastjson parsed (so it is nested at
// most fastjson.MaxDepth deep), is one JSON value by the RFC's grammar:
// fastjson lets through numbers like "00" and control characters or bad
// escapes in strings.
func strictJSON(b []byte) bool {
	i, ok := strictValue(b, skipWS(b, 0), 0)
	return ok && skipWS(b, i) == len(b)
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func strictValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) || depth > fastjson.MaxDepth {
		return i, false
	}
	switch c := b[i]; {
	case c == '{':
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1, true
		}
		for {
			var ok bool
			if i >= len(b) || b[i] != '"' {
				return i, false
			}
			if i, ok = strictString(b, i); !ok {
				return i, false
			}
			i = skipWS(b, i)
			if i >= len(b) || b[i] != ':' {
				return i, false
			}
			if i, ok = strictValue(b, skipWS(b, i+1), depth+1); !ok {
				return i, false
			}
			i = skipWS(b, i)
			if i < len(b) && b[i] == ',' {
				i = skipWS(b, i+1)
				continue
			}
			if i < len(b) && b[i] == '}' {
				return i + 1, true
			}
			return i, false
		}
	case c == '[':
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, true
		}
		for {
			var ok bool
			if i, ok = strictValue(b, i, depth+1); !ok {
				return i, false
			}
			i = skipWS(b, i)
			if i < len(b) && b[i] == ',' {
				i = skipWS(b, i+1)
				continue
			}
			if i < len(b) && b[i] == ']' {
				return i + 1, true
			}
			return i, false
		}
	case c == '"':
		return strictString(b, i)
	case c == 't':
		return i + 4, bytes.HasPrefix(b[i:], []byte("true"))
	case c == 'f':
		return i + 5, bytes.HasPrefix(b[i:], []byte("false"))
	case c == 'n':
		return i + 4, bytes.HasPrefix(b[i:], []byte("null"))
	default:
		j := i
		for j < len(b) && (b[j] == '-' || b[j] == '+' || b[j] == '.' || b[j] == 'e' || b[j] == 'E' || (b[j] >= '0' && b[j] <= '9')) {
			j++
		}
		return j, validNumber(b[i:j])
	}
}

// plainByte: bytes a JSON string holds as they are.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// strictString checks the string starting at b[i] == '"'.
func strictString(b []byte, i int) (int, bool) {
	i++
	for i < len(b) {
		for i < len(b) && plainByte[b[i]] {
			i++
		}
		if i >= len(b) {
			break
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 >= len(b) {
				return i, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return i, false
				}
				for _, h := range b[i+2 : i+6] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return i, false
					}
				}
				i += 6
			default:
				return i, false
			}
		case c < 0x20:
			return i, false
		default:
			i++
		}
	}
	return i, false
}

// parseLocal reads "2006-01-02 15:04:05[.fraction]" as UTC, the common
// form without time.Parse.
func parseLocal(s string) (time.Time, error) {
	if len(s) == 19 && s[4] == '-' && s[7] == '-' && s[10] == ' ' && s[13] == ':' && s[16] == ':' {
		var f [6]int
		ok := true
		for i, at := range [6]int{0, 5, 8, 11, 14, 17} {
			n := 2
			if i == 0 {
				n = 4
			}
			for _, c := range []byte(s[at : at+n]) {
				if c < '0' || c > '9' {
					ok = false
				}
				f[i] = f[i]*10 + int(c-'0')
			}
		}
		if ok && f[1] >= 1 && f[1] <= 12 && f[2] >= 1 && f[2] <= 31 && f[3] < 24 && f[4] < 60 && f[5] < 60 {
			t := time.Date(f[0], time.Month(f[1]), f[2], f[3], f[4], f[5], 0, time.UTC)
			if t.Day() == f[2] {
				return t, nil
			}
		}
	}
	return time.Parse(localLayout, s)
}

// parseUTC reads an RFC 3339 time (@timestamp) directly, anything else
// with event.ParseTimeString (epoch numbers, zone-less forms).
func parseUTC(s string) (int64, error) {
	if len(s) >= 20 && s[4] == '-' && s[10] == 'T' {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return event.ParseTimeString(s)
}
