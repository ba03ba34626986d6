package formats

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/parse/winevent"
)

func TestDetect(t *testing.T) {
	f := func(head, want string) {
		t.Helper()
		got, ok := Detect([]byte(head))
		if want == "" {
			if ok {
				t.Errorf("%.40q: detected %s, want nothing", head, got.Name)
			}
			return
		}
		if !ok || got.Name != want {
			t.Errorf("%.40q: got %q (%v), want %s", head, got.Name, ok, want)
		}
	}
	f("ElfFile\x00\x00\x00\x00", "evtx")
	f(`{"Records":[{"eventVersion":"1.08"}]}`, "cloudtrail")
	f("\xef\xbb\xbf  {\n \"Records\" : [", "cloudtrail")
	f(`{"eventVersion":"1.08","eventTime":"2023-07-10T11:42:36Z","eventSource":"s3.amazonaws.com","eventName":"X","awsRegion":"us-east-1"}`, "cloudtrail")
	f(`{"_id":"a","organization_id":"o","event_type":"audit","event_time":1}`, "threatstack")
	f(`{"event_time":1,"exe":"/bin/x"}`, "threatstack")
	f(`{"EventID":4624,"Channel":"Security","Hostname":"h","EventTime":"2020-01-01 00:00:00"}`, "windows")
	f("{\n  \"Event\": {\n    \"System\": {\"EventID\": 1}, \"EventData\": {}\n  }\n}", "windows")
	f(`{"@timestamp":"2020-01-01T00:00:00Z","winlog":{"channel":"Security","event_id":4624}}`, "windows")
	// A first record too long for the head goes by the keys it names.
	f(`{"EventID":4688,"Channel":"Security","CommandLine":"`+strings.Repeat("x", 100)+``, "windows")
	f(`[{"event_type":"audit"}]`, "threatstack")
	f("type=SYSCALL msg=audit(1604994496.155:92733): arch=c000003e syscall=59", "auditd")
	f("Nov 10 07:48:12 web-1 audispd: node=web-1 type=EXECVE msg=audit(1604994496.155:92733): argc=2", "auditd")
	f("title: Suspicious\nlogsource:\n", "")
	f("   \n", "")
	f("172.16.5.10 6705: Feb 17 13:40:03.673: %PARSER-5-CFGLOG_LOGGEDCMD: User:admin", "")
	// Only positive evidence: JSON that names no field of any format is
	// none of them, whether its first record fits the head or not.
	nb := "{\n \"cells\": [\n  {\n   \"cell_type\": \"code\",\n   \"outputs\": [{\"text\": [\"{\\\"EventID\\\": 4624, \\\"Channel\\\": \\\"Security\\\", \\\"event_type\\\": \\\"audit\\\"}\"]}],\n   \"source\": [\"x = 1\"]\n  }\n ],\n \"metadata\": {},\n \"nbformat\": 4,\n \"nbformat_minor\": 5\n}\n"
	f(nb, "")
	f(nb[:60], "")
	f(`{"name":"spoor","version":"1.0.0","dependencies":{"x":"1"}}`, "")
	f(`[{"a":1},{"b":2}]`, "")
	f(`{"timestamp":"2020-01-01T00:00:00Z","msg":"a log line spoor keeps as an event"}`, "threatstack")
	f(`{"agent_id":"a","x":"`+strings.Repeat("y", 100), "threatstack")
	// Keys that sit deep inside a record too long for the head are no evidence.
	f(`{"cells":[{"outputs":{"event_type":"audit","EventID":1,"Channel":"x"},"s":"`+strings.Repeat("y", 100), "")
}

func TestDescribe(t *testing.T) {
	for head, want := range map[string]string{
		"{\n \"cells\": [\n  {\n   \"cell_type\": \"markdown\",": "notebook JSON",
		`{"nbformat":4,"cells":[]}`:                              "notebook JSON",
		`{"name":"spoor","version":"1.0"}`:                       "JSON that names no event field",
		"# Case 42\n\nNotes.\n":                                  "text",
		"\x00\x01\x02binary":                                     "binary data",
	} {
		if got := Describe([]byte(head)); got != want {
			t.Errorf("Describe(%.30q) = %q, want %q", head, got, want)
		}
	}
}

func TestByName(t *testing.T) {
	for name, want := range map[string]string{"auto": "", "": "", "EVTX": "evtx", "nxlog": "windows", "json": "threatstack", "audit": "auditd", "cloudtrail": "cloudtrail"} {
		f, err := ByName(name)
		if err != nil || f.Name != want {
			t.Errorf("ByName(%q) = %q, %v; want %q", name, f.Name, err, want)
		}
	}
	if _, err := ByName("xml"); err == nil || !strings.Contains(err.Error(), "auditd") {
		t.Errorf("ByName(xml): %v, want an error listing the formats", err)
	}
	for _, f := range All() {
		if (f.Kind == Records) != (f.Convert != nil) || (f.Kind == Stream) != (f.New != nil) {
			t.Errorf("%s: kind %d does not match its reader", f.Name, f.Kind)
		}
	}
}

// FuzzDetect: detection names a format it knows, or says why it knows
// none; and its answer stands when blank lines or spaces precede the input
// (after a byte order mark, which must come first), as editors and exports
// leave them.
func FuzzDetect(f *testing.F) {
	for _, s := range []string{"ElfFile\x00", `{"Records":[`, `{"EventID":1,"Channel":"x"}`, "type=SYSCALL msg=audit(1.1:1):", `[{"a":1}`,
		"\xef\xbb\xbf{\"event_type\":\"audit\"}", `{"kind":"Event","apiVersion":"audit.k8s.io/v1","auditID":"x","verb":"get","requestURI":"/"}`} {
		f.Add([]byte(s))
	}
	bom := []byte{0xEF, 0xBB, 0xBF}
	f.Fuzz(func(t *testing.T, head []byte) {
		got, ok := Detect(head)
		if ok {
			if byName, err := ByName(got.Name); err != nil || byName.Name != got.Name || byName.Kind != got.Kind {
				t.Fatalf("detected %q (kind %d), which ByName gives as %q (kind %d), %v", got.Name, got.Kind, byName.Name, byName.Kind, err)
			}
		} else if Describe(head) == "" {
			t.Fatal("an unrecognised input described as nothing")
		}
		if winevent.DetectEVTX(head) {
			return // magic bytes at offset 0: nothing may precede them
		}
		body, mark := head, []byte(nil)
		if bytes.HasPrefix(head, bom) {
			body, mark = head[len(bom):], bom
		}
		for _, pad := range []string{"\n", " ", "\r\n\n"} {
			padded := append(append(append([]byte(nil), mark...), pad...), body...)
			if again, aok := Detect(padded); aok != ok || again.Name != got.Name {
				t.Fatalf("%q detected as %q (%v), but as %q (%v) after %q", head, got.Name, ok, again.Name, aok, pad)
			}
		}
	})
}
