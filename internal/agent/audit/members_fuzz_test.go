package audit

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzMembers holds members to a JSON parser on any valid object it
// agrees to split. Only valid UTF-8: a parser replaces bad bytes in keys,
// and the decoder never writes any.
func FuzzMembers(f *testing.F) {
	f.Add(`{"a":"x,}\"]","b":[1,{"c":"]"}],"d":{"e":[]},"f":true,"g":null,"h":-1.5e3}`)
	f.Add(`{"records":["type=SYSCALL msg=audit(1.1:1): comm=\"x\\\\\" a0=\"{\"","b\\\\"]}`)
	f.Fuzz(func(t *testing.T, obj string) {
		if !utf8.ValidString(obj) {
			return
		}
		var want map[string]json.RawMessage
		if json.Unmarshal([]byte(obj), &want) != nil || want == nil {
			return
		}
		got := map[string]string{}
		if !members([]byte(obj), func(k string, v []byte) { got[k] = string(v) }) {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d members, want %d", obj, len(got), len(want))
		}
		for k, v := range want {
			if got[k] != string(v) {
				t.Fatalf("%s: %s = %s, want %s", obj, k, got[k], v)
			}
		}
	})
}
