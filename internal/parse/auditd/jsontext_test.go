package auditd

import (
	"bytes"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
)

// checkText holds appendText to event.AppendJSONString and appendJSON to
// its byte-by-byte form, after a prefix they must keep.
func checkText(t *testing.T, s string) {
	t.Helper()
	if got, want := appendText([]byte("x"), s), event.AppendJSONString([]byte("x"), s); !bytes.Equal(got, want) {
		t.Fatalf("appendText(%q) = %s, want %s", s, got, want)
	}
	if got, want := appendJSON([]byte("x"), s), appendJSONSlow([]byte("x"), s); !bytes.Equal(got, want) {
		t.Fatalf("appendJSON(%q) = %s, want %s", s, got, want)
	}
}

func TestAppendTextMatches(t *testing.T) {
	for _, s := range []string{"", "plain", `type=EXECVE msg=audit(1.2:3): argc=2 a0="arp" a1="-a"`, `q"b\s`, "<a&b>",
		"\x00\x01\x1f\x7f\t\n\r\b\f", "caf\u00e9 <\u2028\u2029> \ufffd", "bad\xff\xfe utf8 \xed\xa0\x80 \xe2\x80", "日本語\"<"} {
		checkText(t, s)
	}
}

func FuzzAppendText(f *testing.F) {
	f.Add("plain")
	f.Add("<\xff\u2028\"\\\x00>")
	f.Fuzz(checkText)
}
