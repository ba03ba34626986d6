package sqlquote

import (
	"database/sql"
	"strings"
	"testing"
	"unicode/utf8"

	_ "github.com/duckdb/duckdb-go/v2"
)

// hostile are inputs that break naive quoting.
var hostile = []string{
	"", "plain", "CamelCase", "with space",
	`"`, `""`, `a"b`, `"; DROP TABLE events; --`,
	"'", "''", "a'b", "'; DROP TABLE events; --", `'||'`,
	`\`, `a\`, `\'`, `\"`, `a\\b`, `$."x"`,
	"a\x00b", "\x00", "\x00'\x00", "nul at end\x00",
	"é", "☃ snow", "𝄞", "Ａ\u200bＢ", "\u202eright-to-left", "line\nbreak\ttab\r",
	"/*", "*/", "--", ";", "?", "$1", "%s",
}

func TestIdentTable(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := Ident(in); got != want {
			t.Errorf("Ident(%q) = %s, want %s", in, got, want)
		}
	}
	f("exe", `"exe"`)
	f(`a"b`, `"a""b"`)
	f(`"`, `""""`)
	f("a'b", `"a'b"`)
	f(`a\`, `"a\"`)
	f("☃", `"☃"`)
}

func TestStringTable(t *testing.T) {
	f := func(in, want string) {
		t.Helper()
		if got := String(in); got != want {
			t.Errorf("String(%q) = %s, want %s", in, got, want)
		}
	}
	f("", "''")
	f("a'b", "'a''b'")
	f("'", "''''")
	f(`a\`, `'a\'`)
	f(`a"b`, `'a"b'`)
	f("☃", "'☃'")
	f("a\x00b", "('a' || chr(0) || 'b')")
	f("\x00", "('' || chr(0) || '')")
}

func TestJSONPointerTable(t *testing.T) {
	f := func(want string, path ...string) {
		t.Helper()
		if got := JSONPointer(path...); got != want {
			t.Errorf("JSONPointer(%q) = %s, want %s", path, got, want)
		}
	}
	f("/eventName", "eventName")
	f("/a/b", "a", "b")
	f("/a~1b/c~0d", "a/b", "c~d")
	f(`/a"b\`, `a"b\`)
	f("/*", "*")
	f("/", "")
	f("")
}

func openDuck(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// checkIdent has DuckDB name a column Ident(s) and reads the name back.
func checkIdent(t *testing.T, db *sql.DB, s string) {
	t.Helper()
	q := "SELECT " + Ident(s) + " FROM (SELECT 1 AS " + Ident(s) + ")"
	rows, err := db.Query(q)
	if err != nil {
		if s == "" || strings.Contains(s, "\x00") {
			return // refused, as documented
		}
		t.Fatalf("Ident(%q): %s: %v", s, q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	if len(cols) != 1 || cols[0] != s {
		t.Fatalf("Ident(%q): DuckDB names the column %q", s, cols)
	}
	if s == "" || strings.Contains(s, "\x00") {
		t.Fatalf("Ident(%q): DuckDB accepted %s", s, q)
	}
}

// checkString has DuckDB evaluate String(s) and compares the value, and
// the value at JSONPointer(s) of an object whose only key is s.
func checkString(t *testing.T, db *sql.DB, s string) {
	t.Helper()
	var got string
	var n int
	q := "SELECT " + String(s) + ", count(*) OVER () FROM (SELECT 1)"
	err := db.QueryRow(q).Scan(&got, &n)
	if !utf8.ValidString(s) {
		// DuckDB's strings are UTF-8: it refuses the text, never misreads it.
		if err == nil && got != s {
			t.Fatalf("String(%q): DuckDB read %q", s, got)
		}
		return
	}
	if err != nil {
		t.Fatalf("String(%q): %s: %v", s, q, err)
	}
	if got != s || n != 1 {
		t.Fatalf("String(%q): DuckDB read %q in %d rows", s, got, n)
	}
	if strings.Contains(s, "\x00") {
		return // JSON keys are C strings in DuckDB's JSON reader
	}
	var v sql.NullString
	q = "SELECT json_object(" + String(s) + ", 'found')->>" + String(JSONPointer(s))
	if err := db.QueryRow(q).Scan(&v); err != nil {
		t.Fatalf("JSONPointer(%q): %s: %v", s, q, err)
	}
	if v.String != "found" {
		t.Fatalf("JSONPointer(%q): %s gives %v, want found", s, q, v)
	}
}

func TestRoundTripDuckDB(t *testing.T) {
	db := openDuck(t)
	for _, s := range hostile {
		checkIdent(t, db, s)
		checkString(t, db, s)
	}
}

// FuzzRoundTrip checks DuckDB reads every quoted form back as its input.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range hostile {
		f.Add(s)
	}
	f.Add("\xff")
	db := openDuck(f)
	f.Fuzz(func(t *testing.T, s string) {
		checkIdent(t, db, s)
		checkString(t, db, s)
	})
}
