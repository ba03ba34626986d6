package datadir

import (
	"database/sql"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/spoor-dev/spoor/internal/event"
)

// --fields reaches a raw key whatever characters its name holds, and names
// the column after it.
func TestSelectListReachesAnyRawKey(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, name := range []string{"TargetImage", `ends\`, "*", `a"b`, "it's", "a/b", "~x"} {
		cols, exprs, err := selectList([]string{name})
		if err != nil || len(cols) != 1 || len(exprs) != 1 {
			t.Fatalf("selectList(%q) = %q, %q, %v", name, cols, exprs, err)
		}
		q := "SELECT " + exprs[0] + " FROM (SELECT json_object(?, 'v')::VARCHAR AS raw)"
		rows, err := db.Query(q, name)
		if err != nil {
			t.Errorf("field %q: %s: %v", name, q, err)
			continue
		}
		names, _ := rows.Columns()
		var got sql.NullString
		if rows.Next() {
			err = rows.Scan(&got)
		}
		rows.Close()
		if err != nil || got.String != "v" || len(names) != 1 || names[0] != name {
			t.Errorf("field %q: %s reads column %q = %v (%v), want %q = v", name, q, names, got, err, name)
		}
	}
}

// maxMS is the tests' "no upper bound".
const maxMS = event.MaxTime
