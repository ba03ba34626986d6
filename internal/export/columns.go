// Package export copies a data directory's events out in the data-portability
// layout, OUT/events/organization_id=ORG/date_key=YYYY-MM-DD-HH/part-*.parquet,
// that Spark, Athena, Trino and DuckDB read (see docs/export.md), and prints
// the DDL those engines need. It reads through the engine, one organization
// at a time under that organization's own scope.
package export

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/sqlquote"
)

// Column is one column of an exported file.
type Column struct {
	Name string
	Kind event.Kind // 0 for raw, a JSON string
}

// PartitionColumns are held by the directory names, never inside the files.
var PartitionColumns = []string{"organization_id", "date_key"}

// Columns lists the columns of every exported file, in order: the catalog's
// typed fields but the partition columns, then raw.
func Columns() []Column {
	var cols []Column
	for _, f := range event.Catalog() {
		if !isPartition(f.ID) {
			cols = append(cols, Column{f.Name, f.Kind})
		}
	}
	return append(cols, Column{Name: event.RawColumn})
}

func isPartition(id event.FieldID) bool { return id == event.OrganizationID || id == event.DateKey }

// selectList is the SELECT list over the events_full view that writes
// Columns. Times become TIMESTAMP_MS, which DuckDB writes as Parquet
// TIMESTAMP(MILLIS) (it has no millisecond type adjusted to UTC: the values
// are UTC all the same); raw becomes the whole original event. lifted is
// the union of the rows' _lifted (see originalSQL).
func selectList(lifted uint64) string {
	var exprs []string
	for _, f := range event.Catalog() {
		if isPartition(f.ID) {
			continue
		}
		name := sqlquote.Ident(f.Name)
		if f.Kind == event.KindTime {
			exprs = append(exprs, "CAST("+name+" AS TIMESTAMP_MS) AS "+name)
		} else {
			exprs = append(exprs, name)
		}
	}
	return strings.Join(append(exprs, originalSQL(lifted)+" AS raw"), ", ")
}

// originalSQL rebuilds the whole original event from the events_full view,
// as event.Event.Original does in Go: the typed fields lifted out of raw
// (bit i of _lifted is the catalog's i-th field) under their original keys,
// then the residual raw keys. Outside spoor nothing knows _lifted, so the
// exported raw must hold every key itself.
//
// Only the fields in lifted (the union of the rows' _lifted) are tested:
// a dozen of the catalog's sixty in a typical hour, and DuckDB binds a
// statement in time that grows with its expressions.
func originalSQL(lifted uint64) string {
	if lifted == 0 {
		return "coalesce(raw, '{}')"
	}
	var parts []string
	for i, f := range event.Catalog() {
		if f.Key == "" || lifted&(1<<i) == 0 {
			continue // never lifted here
		}
		key, _ := json.Marshal(f.Key)
		parts = append(parts, fmt.Sprintf("CASE WHEN (_lifted >> %d) & 1 = 1 THEN %s || coalesce(%s, 'null') END",
			i, sqlquote.String(string(key)+":"), jsonValueSQL(f)))
	}
	residual := "CASE WHEN length(raw) > 2 THEN substr(raw, 2, length(raw) - 2) END"
	return "CASE WHEN coalesce(_lifted, 0) = 0 THEN coalesce(raw, '{}') ELSE '{' || concat_ws(',', " +
		strings.Join(parts, ", ") + ", " + residual + ") || '}' END"
}

// jsonValueSQL renders field f of the view as JSON text, as
// event.Event.AppendJSON does: times as epoch milliseconds.
func jsonValueSQL(f event.Field) string {
	name := sqlquote.Ident(f.Name)
	switch f.Kind {
	case event.KindInt:
		return "CAST(" + name + " AS VARCHAR)"
	case event.KindTime:
		return "CAST(epoch_ms(" + name + ") AS VARCHAR)"
	case event.KindBool:
		return "CASE WHEN " + name + " THEN 'true' WHEN NOT " + name + " THEN 'false' END"
	}
	return "CAST(to_json(" + name + ") AS VARCHAR)"
}
