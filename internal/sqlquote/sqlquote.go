// Package sqlquote renders names and strings as DuckDB SQL text, for the
// places where SQL is built as text: column names, file paths, type strings
// and JSON paths. Values from users go to DuckDB as parameters instead.
package sqlquote

import "strings"

// Ident quotes s as an identifier: "s", inner double quotes doubled.
// DuckDB refuses an empty identifier and one holding NUL (the SQL text
// ends at a NUL, inside the quotes), so no input names anything but itself.
func Ident(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// String quotes s as a string literal: 's', inner single quotes doubled
// (backslashes are plain characters in DuckDB's literals). SQL text cannot
// hold a NUL, so a string with one becomes a constant expression joining
// literals with chr(0).
func String(s string) string {
	if !strings.Contains(s, "\x00") {
		return literal(s)
	}
	parts := strings.Split(s, "\x00")
	for i, p := range parts {
		parts[i] = literal(p)
	}
	return "(" + strings.Join(parts, " || chr(0) || ") + ")"
}

func literal(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// JSONPointer renders the keys of path as an RFC 6901 pointer (/a/b, ~ as
// ~0 and / as ~1) for json_extract and ->>. It is text, not SQL: pass it as
// a parameter or quote it with String. A pointer reaches every key,
// including "*" and "", which DuckDB's $."k" paths read as a wildcard or
// refuse.
func JSONPointer(path ...string) string {
	var b strings.Builder
	for _, k := range path {
		b.WriteByte('/')
		pointerEscaper.WriteString(&b, k)
	}
	return b.String()
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")
