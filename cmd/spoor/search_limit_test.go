package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A local search cut by --limit says so on stderr, with how many matched
// and how to get them all; an answer that holds every match says nothing.
func TestSearchSaysWhenTheLimitCuts(t *testing.T) {
	dir := t.TempDir()
	var b bytes.Buffer
	for i := range 30 {
		fmt.Fprintf(&b, `{"_id":"s%d","agent_id":"a","event_time":%d,"event_type":"login","user":"u"}`+"\n", i, 1600362902289+int64(i))
	}
	file := filepath.Join(dir, "e.ndjson")
	if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	ingestInto(t, data, file)
	for _, c := range []struct {
		limit int
		want  string
	}{{10, "10 of 30 rows; --limit 0 for all"}, {30, ""}, {0, ""}} {
		var out, errb bytes.Buffer
		err := runSearch(context.Background(), searchOptions{data: dataFlags{Dir: data}, format: "csv", limit: c.limit, stderr: &errb}, `user = "u"`, &out)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(out.String(), "\n") - 1; (c.limit == 10 && got != 10) || (c.limit != 10 && got != 30) {
			t.Errorf("--limit %d: %d rows", c.limit, got)
		}
		if c.want == "" && strings.Contains(errb.String(), "--limit") || c.want != "" && !strings.Contains(errb.String(), c.want) {
			t.Errorf("--limit %d: stderr %q, want %q", c.limit, errb.String(), c.want)
		}
	}
}
