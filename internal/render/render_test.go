package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func write(t *testing.T, format string, cols []string, rows [][]any) string {
	t.Helper()
	var b bytes.Buffer
	w, err := New(format, &b)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Header(cols); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Row(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var (
	cols = []string{"event_time", "exe", "args", "pid", "note"}
	rows = [][]any{
		{time.UnixMilli(1600362902289), "/usr/bin/curl", []any{"curl", "http://169.254.169.254/"}, int64(42), nil},
		{time.UnixMilli(1600362902290), "a,b \"quoted\"\nnext", []any{}, int64(-1), "x"},
	}
)

func TestNDJSON(t *testing.T) {
	out := write(t, "ndjson", cols, rows)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), out)
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first["event_time"] != "2020-09-17T17:15:02.289Z" || first["pid"] != float64(42) || first["note"] != nil {
		t.Errorf("first row %v", first)
	}
	if a, ok := first["args"].([]any); !ok || len(a) != 2 || a[1] != "http://169.254.169.254/" {
		t.Errorf("args %v", first["args"])
	}
}

func TestJSONArray(t *testing.T) {
	var got []map[string]any
	if err := json.Unmarshal([]byte(write(t, "json", cols, rows)), &got); err != nil || len(got) != 2 {
		t.Fatalf("json array: %v, %d rows", err, len(got))
	}
	var empty []any
	if err := json.Unmarshal([]byte(write(t, "json", cols, nil)), &empty); err != nil || len(empty) != 0 {
		t.Errorf("empty result is not []: %v", err)
	}
}

func TestCSVQuotes(t *testing.T) {
	out := write(t, "csv", cols, rows)
	if !strings.HasPrefix(out, "event_time,exe,args,pid,note\n") {
		t.Errorf("header: %q", out)
	}
	if !strings.Contains(out, `"a,b ""quoted""`+"\n"+`next"`) {
		t.Errorf("a field with comma, quotes and newline is not quoted: %q", out)
	}
	if !strings.Contains(out, `"[""curl"",""http://169.254.169.254/""]"`) {
		t.Errorf("list not rendered as JSON text: %q", out)
	}
}

func TestTableAlignsAndCounts(t *testing.T) {
	out := write(t, "table", cols, rows)
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "event_time") || !strings.Contains(out, "(2 rows)") {
		t.Fatalf("table: %q", out)
	}
	// Columns line up: exe starts at the same offset on every line.
	at := strings.Index(lines[0], "exe")
	if strings.Index(lines[1], "/usr/bin/curl") != at {
		t.Errorf("exe not aligned:\n%s", out)
	}
	if strings.Count(out, "\n") != 4 {
		t.Errorf("a newline inside a cell broke the row:\n%s", out)
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := New("xml", &bytes.Buffer{}); err == nil || Valid("xml") {
		t.Errorf("xml accepted")
	}
}

// An answer that fails part way ends with its format's marker, which
// ErrorLine recognises; a row is never taken for one.
func TestFailMarkers(t *testing.T) {
	for _, format := range []string{"ndjson", "json", "csv"} {
		var b bytes.Buffer
		w, _ := New(format, &b)
		w.Header([]string{"error"})
		w.Row([]any{"a row whose only column is named error"})
		if err := Fail(w, "query timed out\nafter 2 s"); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(b.String()), "\n")
		last := lines[len(lines)-1]
		if format == "json" {
			last = lines[len(lines)-2]
			var arr []map[string]any
			if err := json.Unmarshal(b.Bytes(), &arr); err != nil || len(arr) != 2 {
				t.Errorf("json: %v, %d elements: %s", err, len(arr), b.String())
			}
		}
		if msg, ok := ErrorLine(format, []byte(last)); !ok || msg != "query timed out after 2 s" {
			t.Errorf("%s: marker %q read as %q, %v", format, last, msg, ok)
		}
		if format != "csv" {
			if _, ok := ErrorLine(format, []byte(`{"error":"x","_id":"e-1"}`)); ok {
				t.Errorf("%s: an event with an error field is taken for the marker", format)
			}
		}
	}
}
