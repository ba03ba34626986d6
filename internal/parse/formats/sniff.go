package formats

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// topKeys returns the top-level keys of the first JSON object in b (or of
// the first element of an array), as far as b holds it: b may end in the
// middle of the record.
func topKeys(b []byte) map[string]bool {
	keys := map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(b))
	t, err := dec.Token()
	if err == nil && t == json.Delim('[') {
		t, err = dec.Token()
	}
	if err != nil || t != json.Delim('{') {
		return keys
	}
	depth, wantKey := 1, true
	for {
		t, err := dec.Token()
		if err != nil {
			return keys // the end of b, or broken JSON: what was seen
		}
		switch v := t.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return keys
				}
				if depth == 1 {
					wantKey = true // a composite value ended
				}
			}
		default:
			if depth != 1 {
				continue
			}
			if s, ok := v.(string); ok && wantKey {
				keys[s] = true
				wantKey = false
			} else {
				wantKey = true // a scalar value
			}
		}
	}
}

// Describe says what an input that Detect does not recognise looks like,
// for the line that tells the user it was skipped: "notebook JSON",
// "JSON that names no event field", "text" or "binary data".
func Describe(head []byte) string {
	b := bytes.TrimLeft(bytes.TrimPrefix(head, []byte{0xEF, 0xBB, 0xBF}), " \t\r\n")
	if len(b) > 0 && (b[0] == '{' || b[0] == '[') {
		top := topKeys(b)
		if top["nbformat"] || (top["cells"] && bytes.Contains(b, []byte(`"cell_type"`))) {
			return "notebook JSON"
		}
		if len(top) > 0 {
			return "JSON that names no event field"
		}
	}
	if bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(trimPartialRune(b)) {
		return "binary data"
	}
	return "text"
}

// trimPartialRune drops an incomplete UTF-8 sequence cut at the end of b.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= utf8.UTFMax && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			break
		}
	}
	return b
}
