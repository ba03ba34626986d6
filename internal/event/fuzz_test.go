package event

import (
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzNormalize feeds arbitrary lines to the normaliser: it must not panic,
// an accepted event's raw must be valid JSON, and its rebuilt original must
// hold the same data as the input.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		`{"_id":"a","event_time":1654273630167,"pid":1,"args":["x"],"host_metadata":{"hostname":"h"}}`,
		`{"timestamp":"2020-09-17T17:15:02Z","user":"r\u00e9","x":[{"a":null}]}`,
		`{"event_time":1,"exe":"\ud83d\ude00","path":[]}`,
		`[]`, `{`, `{"a":1}`, `{"event_time":1e400}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var n Normalizer
		var e Event
		if err := n.Normalize(line, &e); err != nil {
			return
		}
		if !json.Valid(e.Raw) {
			t.Fatalf("raw is not valid JSON: %q", e.Raw)
		}
		orig := e.Original()
		if !json.Valid(orig) {
			t.Fatalf("original is not valid JSON: %q", orig)
		}
		var in, out map[string]any
		if json.Unmarshal(line, &in) != nil {
			return // e.g. duplicate keys or numbers encoding/json rejects
		}
		if err := json.Unmarshal(orig, &out); err != nil {
			t.Fatalf("original does not decode: %v", err)
		}
		if !reflect.DeepEqual(in, out) {
			t.Fatalf("the original differs from the input:\n in %s\nout %s", line, orig)
		}
	})
}
