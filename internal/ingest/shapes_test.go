package ingest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// Threat Stack events as a top-level JSON array and as pretty-printed
// objects are read whole, as the server reads them (docs/formats.md
// promises both); a broken record among them is rejected alone, with its
// line.
func TestThreatStackArrayAndPrettyPrinted(t *testing.T) {
	dir := t.TempDir()
	arr := filepath.Join(dir, "arr.json")
	if err := os.WriteFile(arr, []byte(`[{"_id":"a1","agent_id":"a","event_time":1600362902289,"event_type":"audit"},
 {"_id":"a2","agent_id":"a","event_time":1600362902290,"event_type":"audit"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	pretty := filepath.Join(dir, "pretty.json")
	if err := os.WriteFile(pretty, []byte("{\n  \"_id\": \"p1\",\n  \"agent_id\": \"a\",\n  \"event_time\": 1600362902291,\n  \"event_type\": \"audit\"\n}\n"+
		"{\n  \"_id\": \"p2\",\n  \"event_type\": \"audit\"\n}\n"+
		"{\n  \"_id\": \"p3\",\n  \"agent_id\": \"a\",\n  \"event_time\": 1600362902292,\n  \"event_type\": \"audit\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var c collector
	sum, err := Run(context.Background(), []string{arr, pretty}, c.sink, Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a1", "a2", "p1", "p3"} {
		if c.ids[id] != 1 {
			t.Errorf("%s stored %d times, want once (%+v)", id, c.ids[id], sum)
		}
	}
	if sum.Rejected != 1 || len(sum.Samples) != 1 || sum.Samples[0].Line != 7 {
		t.Errorf("rejections %d %+v, want p2 (no time) at line 7", sum.Rejected, sum.Samples)
	}
}
