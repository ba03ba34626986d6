package detect

import (
	"database/sql"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

// A rule's aggregate field that is not a column is read from raw by its
// original name, whatever characters that name holds.
func TestFieldSQLReachesAnyRawKey(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, name := range []string{"TargetImage", `Key\Name`, `ends\`, "*", `a"b`, "it's", "a/b", "~x"} {
		q := "SELECT " + fieldSQL("t.", name) + " FROM (SELECT json_object(?, 'v')::VARCHAR AS raw) t"
		var got sql.NullString
		if err := db.QueryRow(q, name).Scan(&got); err != nil {
			t.Errorf("field %q: %s: %v", name, q, err)
			continue
		}
		if got.String != "v" {
			t.Errorf("field %q: %s reads %v, want v", name, q, got)
		}
	}
}
