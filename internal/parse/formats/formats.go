// Package formats names the telemetry formats spoor reads, says how each
// is read, and recognises a format from the first bytes of its input.
package formats

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/spoor-dev/spoor/internal/parse"
	"github.com/spoor-dev/spoor/internal/parse/auditd"
	"github.com/spoor-dev/spoor/internal/parse/cloudtrail"
	"github.com/spoor-dev/spoor/internal/parse/jsonrec"
	"github.com/spoor-dev/spoor/internal/parse/k8saudit"
	"github.com/spoor-dev/spoor/internal/parse/winevent"
	"github.com/valyala/fastjson"
)

// Kind is how a format is read.
type Kind int

const (
	// Lines are Threat Stack (or spoor) events, one JSON object a line,
	// read by the normaliser in parallel chunks.
	Lines Kind = iota + 1
	// Records are JSON records, split by jsonrec and mapped by a Converter.
	Records
	// Stream is read whole by a Decoder, in order.
	Stream
)

// Format is one input format.
type Format struct {
	Name string
	Kind Kind
	// Binary formats have no lines to count (EVTX).
	Binary  bool
	Convert parse.Converter      // Records
	New     func() parse.Decoder // Stream
	About   string
}

// Auto is the name that asks for detection.
const Auto = "auto"

var all = []Format{
	{Name: "threatstack", Kind: Lines, About: "Threat Stack (or spoor) events, JSON lines"},
	{Name: "auditd", Kind: Stream, New: func() parse.Decoder { return auditd.New() }, About: "raw Linux audit.log lines, also behind a syslog prefix"},
	{Name: "evtx", Kind: Stream, Binary: true, New: func() parse.Decoder { return &winevent.Decoder{} }, About: "Windows event log files (.evtx)"},
	{Name: "windows", Kind: Records, Convert: winevent.Convert, About: "Windows events as JSON: NXLog, evtx-dump, Winlogbeat"},
	{Name: "cloudtrail", Kind: Records, Convert: cloudtrail.Convert, About: "AWS CloudTrail delivery files ({\"Records\":[...]}) and JSON lines"},
	{Name: "kubernetes", Kind: Records, Convert: k8saudit.Convert, About: "Kubernetes audit events (audit.k8s.io/v1), JSON lines or an array, as the API server and EKS write them"},
}

// aliases are other names users type for a format.
var aliases = map[string]string{"ts": "threatstack", "json": "threatstack", "ndjson": "threatstack", "spoor": "threatstack",
	"audit": "auditd", "sysmon": "windows", "winsec": "windows", "nxlog": "windows", "winlogbeat": "windows",
	"k8s": "kubernetes", "k8saudit": "kubernetes", "eks": "kubernetes"}

// All returns the formats, in detection order.
func All() []Format { return all }

// Names lists the names a user can give, auto first.
func Names() []string {
	names := []string{Auto}
	for _, f := range all {
		names = append(names, f.Name)
	}
	return names
}

// ByName returns the format called name (or one of its aliases). Auto
// gives the zero Format.
func ByName(name string) (Format, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if n == "" || n == Auto {
		return Format{}, nil
	}
	if a, ok := aliases[n]; ok {
		n = a
	}
	for _, f := range all {
		if f.Name == n {
			return f, nil
		}
	}
	known := append([]string(nil), Names()...)
	sort.Strings(known[1:])
	return Format{}, fmt.Errorf("unknown format %q (one of %s)", name, strings.Join(known, ", "))
}

func mustByName(name string) Format {
	f, err := ByName(name)
	if err != nil {
		panic(err)
	}
	return f
}

// Detect recognises the format of an input from its first bytes
// (decompressed; 64 KiB is plenty). It returns false when none fits: a
// format is recognised only on evidence, the magic bytes or record start
// of its kind, or keys its records hold, never by default, so a notebook
// or a package.json is not read as events (and rejected line by line).
func Detect(head []byte) (Format, bool) {
	if winevent.DetectEVTX(head) {
		return mustByName("evtx"), true
	}
	b := bytes.TrimLeft(bytes.TrimPrefix(head, []byte{0xEF, 0xBB, 0xBF}), " \t\r\n")
	if len(b) == 0 {
		return Format{}, false
	}
	if b[0] == '{' || b[0] == '[' {
		f := detectJSON(b)
		return f, f.Name != ""
	}
	if auditd.Detect(head) {
		return mustByName("auditd"), true
	}
	return Format{}, false
}

// detectJSON tells the JSON formats apart by their first record; the
// zero Format when it is none of them.
func detectJSON(b []byte) Format {
	rd := jsonrec.NewReader(bytes.NewReader(b), len(b))
	if b[0] == '{' && isWrapper(b) {
		return mustByName("cloudtrail")
	}
	rec, err := rd.Next()
	if err == nil {
		var p fastjson.Parser
		if v, err := p.ParseBytes(rec.Data); err == nil && v.Type() == fastjson.TypeObject {
			switch {
			case v.Exists("event_type") || v.Exists("organization_id"):
				return mustByName("threatstack")
			case winevent.Looks(rec.Data):
				return mustByName("windows")
			case cloudtrail.Looks(rec.Data):
				return mustByName("cloudtrail")
			case k8saudit.Looks(rec.Data):
				return mustByName("kubernetes")
			case hasAny(func(k string) bool { return v.Exists(k) }, threatstackKeys):
				return mustByName("threatstack")
			}
			return Format{}
		}
	}
	// The first record does not fit in the head (or is broken): go by the
	// keys it names at its top level (keys deeper down may be a
	// notebook's output or a document's example).
	top := topKeys(b)
	has := func(k string) bool { return top[k] }
	switch {
	case has("event_type"):
		return mustByName("threatstack")
	case has("winlog") || (has("Event") && bytes.Contains(b, []byte(`"System"`))) || (has("EventID") && (has("Channel") || has("SourceName"))):
		return mustByName("windows")
	case has("eventSource") && has("eventName") && has("awsRegion"):
		return mustByName("cloudtrail")
	case has("auditID") && has("verb") && has("requestURI"):
		return mustByName("kubernetes")
	case hasAny(has, threatstackKeys):
		return mustByName("threatstack")
	}
	return Format{}
}

// threatstackKeys are the keys that make a JSON record a Threat Stack (or
// spoor, or generic) event: Threat Stack's own, a time the normaliser
// reads, or the records of spoor's audit envelope (the agent's audit
// events, which the Threat Stack reader decodes). A record with none of
// them could only be rejected.
var threatstackKeys = []string{"event_type", "organization_id", "agent_id", "event_time", "timestamp", "eventTime", "@timestamp", "audit_records"}

func hasAny(has func(string) bool, keys []string) bool {
	for _, k := range keys {
		if has(k) {
			return true
		}
	}
	return false
}

// isWrapper says whether an object opens with a Records array.
func isWrapper(b []byte) bool {
	b = bytes.TrimLeft(b[1:], " \t\r\n")
	if !bytes.HasPrefix(b, []byte(`"Records"`)) {
		return false
	}
	b = bytes.TrimLeft(b[len(`"Records"`):], " \t\r\n")
	if len(b) == 0 || b[0] != ':' {
		return false
	}
	b = bytes.TrimLeft(b[1:], " \t\r\n")
	return len(b) > 0 && b[0] == '['
}
