package main

import (
	"bufio"
	"database/sql"
	"fmt"
	"os"

	_ "github.com/duckdb/duckdb-go/v2"
)

func main() {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		panic(err)
	}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		q := sc.Text()
		if q == "" {
			continue
		}
		if q[0] == '!' { // raw exec
			rows, err := db.Query(q[1:])
			if err != nil {
				fmt.Println("ERR:", err)
				continue
			}
			cols, _ := rows.Columns()
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			for rows.Next() {
				rows.Scan(ptrs...)
				fmt.Println(vals...)
			}
			if err := rows.Err(); err != nil {
				fmt.Println("ROWERR:", err)
			}
			rows.Close()
			continue
		}
		var js string
		err := db.QueryRow("SELECT CAST(json_serialize_sql(?::VARCHAR) AS VARCHAR)", q).Scan(&js)
		fmt.Println(q, "=>", js, err)
	}
}
