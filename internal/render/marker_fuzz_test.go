package render

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzFailMarker: whatever message a failure carries (DuckDB's text, which
// may quote user data), the marker Fail writes reads back through
// ErrorLine as that message on one line, in every format a client parses.
func FuzzFailMarker(f *testing.F) {
	for _, s := range []string{"query timed out", "IO Error: \"x\"\nline 2", "{\"error\":1}", "# spoor error: x", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		want := strings.Join(strings.Fields(msg), " ")
		if want == "" {
			want = "the answer ended early"
		}
		for _, format := range []string{"ndjson", "json", "csv"} {
			var b bytes.Buffer
			w, err := New(format, &b)
			if err != nil {
				t.Fatal(err)
			}
			w.Header([]string{"a"})
			w.Row([]any{"x"})
			if err := Fail(w, msg); err != nil {
				t.Fatal(err)
			}
			lines := bytes.Split(bytes.TrimRight(b.Bytes(), "\n"), []byte("\n"))
			last := lines[len(lines)-1]
			if format == "json" {
				last = lines[len(lines)-2] // the marker, then "]"
			}
			got, ok := ErrorLine(format, last)
			if !ok {
				t.Fatalf("%s: the marker %q is not recognised", format, last)
			}
			if format != "json" && format != "ndjson" || strings.ToValidUTF8(want, "\uFFFD") == want {
				if got != want {
					t.Fatalf("%s: marker says %q, want %q", format, got, want)
				}
			}
			if _, ok := ErrorLine(format, lines[0]); ok {
				t.Fatalf("%s: the first line %q taken for a marker", format, lines[0])
			}
		}
	})
}
