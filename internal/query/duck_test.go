package query

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"
	"testing"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/spoor-dev/spoor/internal/engine"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/sqlquote"
)

// DuckDB helpers for the tests: a table with the engine's column types,
// loaded from event.Event values through the Appender.

func openDuck(t testing.TB) *sql.DB {
	t.Helper()
	c, err := duckdb.NewConnector("", nil)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	return db
}

// duckType is the column type of a kind, as the engine's events view has it.
func duckType(k event.Kind) string { return engine.SQLType(k) }

// tableDDL is the CREATE TABLE statement of the events table.
func tableDDL(name string) string {
	var cols []string
	for _, f := range event.Catalog() {
		cols = append(cols, sqlquote.Ident(f.Name)+" "+duckType(f.Kind))
	}
	cols = append(cols, sqlquote.Ident(event.RawColumn)+" VARCHAR")
	return "CREATE TABLE " + name + " (" + strings.Join(cols, ", ") + ")"
}

func eventRow(e *event.Event) []driver.Value {
	row := make([]driver.Value, 0, event.NumFields+1)
	for _, f := range event.Catalog() {
		if !e.Has(f.ID) {
			row = append(row, nil)
			continue
		}
		switch f.Kind {
		case event.KindString:
			row = append(row, e.Str[f.ID])
		case event.KindInt:
			row = append(row, e.Int[f.ID])
		case event.KindBool:
			row = append(row, e.Bool(f.ID))
		case event.KindTime:
			row = append(row, time.UnixMilli(e.Int[f.ID]).UTC())
		case event.KindList:
			l := make([]any, len(e.List(f.ID))) // present but empty is [], not NULL
			for i, s := range e.List(f.ID) {
				l[i] = s
			}
			row = append(row, l)
		}
	}
	if raw := e.RawObject(); raw == nil {
		row = append(row, nil)
	} else {
		row = append(row, string(raw))
	}
	return row
}

// loadEvents creates table name and appends the events.
func loadEvents(t testing.TB, db *sql.DB, name string, evs []*event.Event) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, tableDDL(name)); err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppenderFromConn(dc.(driver.Conn), "", name)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if err := a.AppendRow(eventRow(e)...); err != nil {
				a.Close()
				return err
			}
		}
		return a.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

// selectIDs runs the fragment over the table and returns the matching _ids.
func selectIDs(db *sql.DB, table string, s SQL) (map[string]bool, error) {
	rows, err := db.Query(`SELECT "_id" FROM `+table+` WHERE `+s.Where, s.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ids := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids[id] = true
	}
	return ids, rows.Err()
}
