package export

import (
	"slices"
	"strings"
	"testing"

	"github.com/spoor-dev/spoor/internal/event"
)

// ddlColumns reads the column list of a CREATE TABLE: name and type of each
// line between the opening "(" and the closing ")", names unquoted.
func ddlColumns(t *testing.T, ddl string) (names, types []string) {
	t.Helper()
	_, body, ok := strings.Cut(ddl, " (\n")
	body, _, ok2 := strings.Cut(body, "\n)")
	if !ok || !ok2 {
		t.Fatalf("no column list in\n%s", ddl)
	}
	for _, line := range strings.Split(body, "\n") {
		name, typ, ok := strings.Cut(strings.TrimSuffix(strings.TrimSpace(line), ","), " ")
		if !ok {
			t.Fatalf("column line %q", line)
		}
		names = append(names, strings.Trim(name, "`\""))
		types = append(types, typ)
	}
	return names, types
}

// The Athena, Trino and Spark DDL declare every column of the catalog, the
// partition columns as strings where each engine wants them, and the
// export's events/ directory; a column's type is the engine's spelling
// of its kind.
func TestDDLColumnsAndPartitions(t *testing.T) {
	spell := map[string]map[event.Kind]string{
		"athena": {event.KindString: "string", event.KindInt: "bigint", event.KindBool: "boolean", event.KindTime: "timestamp", event.KindList: "array<string>"},
		"spark":  {event.KindString: "STRING", event.KindInt: "BIGINT", event.KindBool: "BOOLEAN", event.KindTime: "TIMESTAMP", event.KindList: "ARRAY<STRING>"},
		"trino":  {event.KindString: "varchar", event.KindInt: "bigint", event.KindBool: "boolean", event.KindTime: "timestamp(3)", event.KindList: "array(varchar)"},
	}
	wants := map[string][]string{
		"athena": {"CREATE EXTERNAL TABLE IF NOT EXISTS `events` (", "\nPARTITIONED BY (`organization_id` string, `date_key` string)\n",
			"\nSTORED AS PARQUET\n", "\nLOCATION 's3://b/p/events/';\n", "\nMSCK REPAIR TABLE `events`;\n"},
		"spark": {"CREATE TABLE IF NOT EXISTS `events` (", "\nUSING PARQUET\n", "\nPARTITIONED BY (`organization_id`, `date_key`)\n",
			"\nLOCATION 's3://b/p/events/';\n", "\nMSCK REPAIR TABLE `events`;\n"},
		"trino": {`CREATE TABLE IF NOT EXISTS "hive"."default"."events" (`, "format = 'PARQUET'", "external_location = 's3://b/p/events/'",
			"partitioned_by = ARRAY['organization_id', 'date_key']", `CALL "hive".system.sync_partition_metadata('default', 'events', 'ADD');`},
	}
	for engine, kinds := range spell {
		ddl, err := DDL(engine, "s3://b/p/", "")
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range wants[engine] {
			if !strings.Contains(ddl, w) {
				t.Errorf("%s DDL lacks %q:\n%s", engine, w, ddl)
			}
		}
		names, types := ddlColumns(t, ddl)
		var wantNames, wantTypes []string
		for _, f := range event.Catalog() {
			if f.ID != event.OrganizationID && f.ID != event.DateKey {
				wantNames, wantTypes = append(wantNames, f.Name), append(wantTypes, kinds[f.Kind])
			}
		}
		wantNames, wantTypes = append(wantNames, "raw"), append(wantTypes, kinds[event.KindString])
		if engine != "athena" { // the others list the partition columns, last
			wantNames = append(wantNames, "organization_id", "date_key")
			wantTypes = append(wantTypes, kinds[event.KindString], kinds[event.KindString])
		}
		if !slices.Equal(names, wantNames) || !slices.Equal(types, wantTypes) {
			t.Errorf("%s columns\n%q %q\nwant\n%q %q", engine, names, types, wantNames, wantTypes)
		}
		if n := len(names); engine == "athena" && n != event.NumFields-1 || engine != "athena" && n != event.NumFields+1 {
			t.Errorf("%s declares %d columns for %d catalog fields", engine, n, event.NumFields)
		}
	}
}

// Names and locations are quoted in each engine's way; a trino table needs
// its schema; an unknown engine is named in the error.
func TestDDLQuotingAndErrors(t *testing.T) {
	for _, c := range []struct{ engine, loc, table, want string }{
		{"athena", `s3://b/it's\x`, "db.ev`s", "LOCATION 's3://b/it\\'s\\\\x/events/'"},
		{"athena", "s3://b", "db.ev`s", "TABLE `db`.`ev``s`"},
		{"spark", "s3a://b/p", "", "LOCATION 's3a://b/p/events/'"},
		{"trino", "s3://b/it's", "s.t", "external_location = 's3://b/it''s/events/'"},
		{"trino", "s3://b", "s.t", "CALL system.sync_partition_metadata('s', 't', 'ADD')"},
		{"duckdb", "/x/it's", "", "read_parquet('/x/it''s/events/*/*/*.parquet', hive_partitioning = true"},
		{"duckdb", "", "", "CREATE OR REPLACE VIEW \"events\" AS"},
	} {
		ddl, err := DDL(c.engine, c.loc, c.table)
		if err != nil || !strings.Contains(ddl, c.want) {
			t.Errorf("%s %q %q: %v\n%s\nwant %q", c.engine, c.loc, c.table, err, ddl, c.want)
		}
	}
	if _, err := DDL("trino", "", "events"); err == nil || !strings.Contains(err.Error(), "schema") {
		t.Errorf("trino with a bare table name: %v, want an error asking for the schema", err)
	}
	if _, err := DDL("hive", "", ""); err == nil || !strings.Contains(err.Error(), "athena, trino, spark, duckdb") {
		t.Errorf("unknown engine: %v", err)
	}
}
