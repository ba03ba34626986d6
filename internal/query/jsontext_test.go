package query

import (
	"context"
	"database/sql/driver"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/duckdb/duckdb-go/v2"
	"github.com/valyala/fastjson"
)

// TestJSONTextMatchesDuckDB checks the text form of raw values (jsonText)
// against DuckDB's value->>'$' for thousands of numbers in every notation
// and for objects with strings that need escapes.
func TestJSONTextMatchesDuckDB(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	docs := append([]string{}, diffNumbers...)
	for range 3000 {
		var s string
		switch r.IntN(6) {
		case 0:
			s = strconv.FormatFloat(math.Float64frombits(r.Uint64()), 'g', -1, 64)
		case 1:
			f := (r.Float64() - 0.5) * math.Pow(10, float64(r.IntN(60)-30))
			s = strconv.FormatFloat(f, "efg"[r.IntN(3)], r.IntN(20)-1, 64)
		case 2:
			s = strconv.FormatInt(r.Int64()>>r.IntN(64), 10)
		case 3:
			s = strconv.FormatUint(r.Uint64(), 10) + []string{"", "0", "123456789"}[r.IntN(3)]
		case 4:
			s = fmt.Sprintf("%d.%de%d", r.IntN(1000), r.IntN(1000), r.IntN(30)-15)
		default:
			s = strconv.FormatFloat(float64(r.IntN(1<<20))*math.Pow(2, float64(r.IntN(40)-20)), 'f', -1, 64)
		}
		if s == "NaN" || s == "+Inf" || s == "-Inf" {
			continue
		}
		docs = append(docs, s)
	}
	eg := &eventGen{r: r}
	for range 1000 {
		docs = append(docs, eg.jsonValue(3))
	}

	db := openDuck(t)
	if _, err := db.Exec(`CREATE TABLE j (i INTEGER, doc VARCHAR)`); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", "j")
		if err != nil {
			return err
		}
		for i, d := range docs {
			if err := a.AppendRow(int32(i), `{"v":`+d+`}`); err != nil {
				return err
			}
		}
		return a.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`SELECT i, json_extract(doc, '/v')->>'$', json_type(json_extract(doc, '/v')) FROM j ORDER BY i`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var p fastjson.Parser
	bad := 0
	for rows.Next() {
		var i int
		var want, typ *string
		if err := rows.Scan(&i, &want, &typ); err != nil {
			t.Fatal(err)
		}
		v, err := p.Parse(docs[i])
		if err != nil {
			t.Fatalf("%s: %v", docs[i], err)
		}
		if v.Type() == fastjson.TypeNull {
			if want != nil {
				t.Errorf("%s: DuckDB text %q for null", docs[i], *want)
			}
			continue
		}
		got := string(jsonText(nil, v))
		if want == nil || got != *want {
			bad++
			if bad < 20 {
				t.Errorf("%s (%s): text form %q, DuckDB %v", docs[i], deref(typ), got, deref(want))
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d documents, %d differ", len(docs), bad)
}

func deref(s *string) string {
	if s == nil {
		return "NULL"
	}
	return strconv.Quote(*s)
}
