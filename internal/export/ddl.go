package export

import (
	"fmt"
	"strings"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/sqlquote"
)

// Engines are the engines DDL writes for.
var Engines = []string{"athena", "trino", "spark", "duckdb"}

// DefaultTable is the table (or view) DDL names when the caller names none.
func DefaultTable(engine string) string {
	if engine == "trino" {
		return "hive.default.events" // the partition sync needs the schema
	}
	return "events"
}

// DefaultLocation is the export root DDL points at when the caller names
// none: a placeholder to edit for the engines that read object storage.
func DefaultLocation(engine string) string {
	if engine == "duckdb" {
		return "spoor-export"
	}
	return "s3://bucket/prefix"
}

// dialect is how one engine spells names, strings and types.
type dialect struct {
	ident func(string) string
	str   func(string) string
	types map[event.Kind]string
}

var (
	hiveTypes = map[event.Kind]string{event.KindString: "string", event.KindInt: "bigint", event.KindBool: "boolean",
		event.KindTime: "timestamp", event.KindList: "array<string>"}
	sparkTypes = map[event.Kind]string{event.KindString: "STRING", event.KindInt: "BIGINT", event.KindBool: "BOOLEAN",
		event.KindTime: "TIMESTAMP", event.KindList: "ARRAY<STRING>"}
	trinoTypes = map[event.Kind]string{event.KindString: "varchar", event.KindInt: "bigint", event.KindBool: "boolean",
		event.KindTime: "timestamp(3)", event.KindList: "array(varchar)"}
)

// Hive and Spark SQL quote names with backticks and read backslash escapes
// in string literals; Trino and DuckDB quote the standard way.
func backtick(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

func hiveString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func dialectOf(engine string) dialect {
	switch engine {
	case "athena":
		return dialect{backtick, hiveString, hiveTypes}
	case "spark":
		return dialect{backtick, hiveString, sparkTypes}
	}
	return dialect{sqlquote.Ident, sqlquote.String, trinoTypes}
}

// qualified quotes each dot-separated element of a table name.
func (d dialect) qualified(name string) string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = d.ident(p)
	}
	return strings.Join(parts, ".")
}

// columnDefs are the file columns with the dialect's types, one a line;
// with partitions, the partition columns (strings) follow.
func (d dialect) columnDefs(partitions bool) string {
	var lines []string
	for _, c := range Columns() {
		t := d.types[event.KindString] // raw
		if c.Kind != 0 {
			t = d.types[c.Kind]
		}
		lines = append(lines, "  "+d.ident(c.Name)+" "+t)
	}
	if partitions {
		for _, p := range PartitionColumns {
			lines = append(lines, "  "+d.ident(p)+" "+d.types[event.KindString])
		}
	}
	return strings.Join(lines, ",\n")
}

// DDL returns the statements that make engine read an export whose root
// (what `spoor export --to` named, or where it was copied) is location,
// as table. Empty location or table take the defaults above.
func DDL(engine, location, table string) (string, error) {
	if location == "" {
		location = DefaultLocation(engine)
	}
	if table == "" {
		table = DefaultTable(engine)
	}
	events := strings.TrimRight(location, "/") + "/events/"
	d := dialectOf(engine)
	var parts []string
	for _, p := range PartitionColumns {
		parts = append(parts, d.ident(p))
	}
	switch engine {
	case "athena":
		var pdefs []string
		for _, p := range parts {
			pdefs = append(pdefs, p+" "+d.types[event.KindString])
		}
		return "CREATE EXTERNAL TABLE IF NOT EXISTS " + d.qualified(table) + " (\n" + d.columnDefs(false) + "\n)\n" +
			"PARTITIONED BY (" + strings.Join(pdefs, ", ") + ")\nSTORED AS PARQUET\nLOCATION " + d.str(events) + ";\n\n" +
			"MSCK REPAIR TABLE " + d.qualified(table) + ";\n", nil
	case "spark":
		return "CREATE TABLE IF NOT EXISTS " + d.qualified(table) + " (\n" + d.columnDefs(true) + "\n)\n" +
			"USING PARQUET\nPARTITIONED BY (" + strings.Join(parts, ", ") + ")\nLOCATION " + d.str(events) + ";\n\n" +
			"MSCK REPAIR TABLE " + d.qualified(table) + ";\n", nil
	case "trino":
		names := strings.Split(table, ".")
		if len(names) < 2 || len(names) > 3 {
			return "", fmt.Errorf("trino needs the table's schema: name it schema.table or catalog.schema.table, not %q", table)
		}
		call := "system.sync_partition_metadata"
		if len(names) == 3 {
			call = d.ident(names[0]) + "." + call
		}
		var quoted []string
		for _, p := range PartitionColumns {
			quoted = append(quoted, d.str(p))
		}
		return "CREATE TABLE IF NOT EXISTS " + d.qualified(table) + " (\n" + d.columnDefs(true) + "\n)\n" +
			"WITH (\n  format = 'PARQUET',\n  external_location = " + d.str(events) + ",\n" +
			"  partitioned_by = ARRAY[" + strings.Join(quoted, ", ") + "]\n);\n\n" +
			"CALL " + call + "(" + d.str(names[len(names)-2]) + ", " + d.str(names[len(names)-1]) + ", 'ADD');\n", nil
	case "duckdb":
		return duckDBView(events, d.qualified(table)), nil
	}
	return "", fmt.Errorf("unknown engine %q (want one of %s)", engine, strings.Join(Engines, ", "))
}

// duckDBView is a view with spoor's own events view's columns, in its
// order, over the export's files: spoor's SQL runs on it unchanged.
func duckDBView(events, table string) string {
	var cols []string
	for _, f := range event.Catalog() {
		cols = append(cols, sqlquote.Ident(f.Name))
	}
	cols = append(cols, sqlquote.Ident(event.RawColumn))
	return "CREATE OR REPLACE VIEW " + table + " AS\nSELECT " + strings.Join(cols, ", ") + "\nFROM read_parquet(" +
		sqlquote.String(events+"*/*/*.parquet") + ", hive_partitioning = true,\n" +
		"  hive_types = {'organization_id': VARCHAR, 'date_key': VARCHAR});\n"
}
