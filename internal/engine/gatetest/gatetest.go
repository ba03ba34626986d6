// Package gatetest holds the attacks on the SQL gate that every layer's
// tests replay (the engine, the HTTP API, the command line): statements an
// analyst of one organization could send to reach another organization's
// rows, files, or the server's settings. It is test support, imported only
// by tests.
package gatetest

import (
	"strings"

	"github.com/spoor-dev/spoor/internal/sqlquote"
)

// Paths are what an attacker may have learned of the server's lake.
type Paths struct {
	Lake      string // the lake directory (DATA/lake)
	VictimOrg string // another organization
	Part      string // one Parquet part of the victim organization
	Journal   string // the victim organization's alert journal, or ""
}

// Attack is one statement and whether the gate must refuse it. A statement
// the gate may run (Refuse false) must still answer only the caller's rows.
type Attack struct {
	Name   string
	SQL    string
	Refuse bool
	// NameOnly: refused for the look of a name although DuckDB binds it to
	// nothing beyond the statement (a CTE named like a path).
	NameOnly bool
}

// Attacks returns the statements over p, each naming what it tries.
func Attacks(p Paths) []Attack {
	glob := strings.TrimSuffix(p.Lake, "/") + "/events/*/*.parquet"
	alerts := strings.TrimSuffix(p.Lake, "/") + "/alerts/*/*"
	journal := p.Journal
	if journal == "" {
		journal = alerts
	}
	qi, qs := sqlquote.Ident, sqlquote.String
	G, P := qi(glob), qi(p.Part)
	r := func(name, sql string) Attack { return Attack{Name: name, SQL: sql, Refuse: true} }
	a := []Attack{
		// The reported one: a CTE named like a path that names itself.
		r("self-referencing CTE, glob", "WITH "+G+" AS (SELECT * FROM "+G+") SELECT organization_id, exe FROM "+G),
		r("self-referencing CTE, part", "WITH "+P+" AS (SELECT * FROM "+P+") SELECT organization_id, exe FROM "+P),
		r("self-referencing CTE, alerts", "WITH "+qi(journal)+" AS (SELECT * FROM "+qi(journal)+") SELECT * FROM "+qi(journal)),
		r("self-referencing CTE, upper case", "WITH "+qi(strings.ToUpper(glob))+" AS (SELECT * FROM "+G+") SELECT * FROM "+G),
		r("quoted identifier", "SELECT organization_id, exe FROM "+G),
		r("single-quoted path", "SELECT organization_id, exe FROM "+qs(glob)),
		r("single-quoted part", "SELECT * FROM "+qs(p.Part)),
		r("FROM first", "FROM "+qs(p.Part)),
		r("relative path", "SELECT * FROM 'events/day=*/*.parquet'"),
		r("relative path of the older layout", "SELECT * FROM 'events/organization_id="+p.VictimOrg+"/*/*.parquet'"),
		r("read_parquet", "SELECT * FROM read_parquet("+qs(glob)+")"),
		r("parquet_scan", "SELECT * FROM parquet_scan("+qs(p.Part)+")"),
		r("parquet_metadata", "SELECT * FROM parquet_metadata("+qs(p.Part)+")"),
		r("read_text", "SELECT * FROM read_text("+qs(p.Part)+")"),
		r("read_blob", "SELECT * FROM read_blob("+qs(glob)+")"),
		r("glob", "SELECT * FROM glob("+qs(p.Lake+"/*/*")+")"),
		r("sniff_csv", "SELECT * FROM sniff_csv("+qs(journal)+")"),
		r("read_json_auto on alerts", "SELECT * FROM read_json_auto("+qs(journal)+")"),
		r("read_csv", "SELECT * FROM read_csv("+qs(journal)+")"),
		r("read_ndjson_objects", "SELECT * FROM read_ndjson_objects("+qs(journal)+")"),
		r("arrow_scan", "SELECT * FROM arrow_scan(0, 0, 0)"),
		r("seq_scan", "SELECT * FROM seq_scan()"),
		r("query_table", "SELECT * FROM query_table("+qs(glob)+")"),
		r("query", "SELECT * FROM query('SELECT * FROM "+strings.ReplaceAll(qs(glob), "'", "''")+"')"),
		r("nested CTE", "WITH a AS (WITH b AS (SELECT * FROM "+G+") SELECT * FROM b) SELECT organization_id, exe FROM a"),
		r("later CTE named by an earlier one", "WITH a AS (SELECT * FROM "+G+"), "+G+" AS (SELECT 1 AS x) SELECT * FROM a"),
		{Name: "inner self-reference shadowing an outer CTE", Refuse: true, NameOnly: true,
			SQL: "WITH " + G + " AS (SELECT 1 AS x) SELECT * FROM (WITH " + G + " AS (SELECT * FROM " + G + ") SELECT * FROM " + G + ")"},
		r("CTE shadowing events with a file", "WITH events AS (SELECT * FROM "+G+") SELECT organization_id, exe FROM events"),
		r("recursive CTE naming a file", "WITH RECURSIVE "+G+" AS (SELECT * FROM "+G+") SELECT * FROM "+G),
		r("recursive CTE over a file", "WITH RECURSIVE r AS (SELECT exe FROM "+qs(p.Part)+" UNION ALL SELECT exe FROM r) SELECT * FROM r LIMIT 5"),
		r("scalar subquery in SELECT", "SELECT (SELECT string_agg(exe, ',') FROM "+G+") AS x"),
		r("subquery in WHERE", "SELECT exe FROM events WHERE exe IN (SELECT exe FROM "+qs(glob)+")"),
		r("EXISTS subquery", "SELECT exe FROM events WHERE EXISTS (SELECT 1 FROM "+P+")"),
		r("UNION", "SELECT organization_id, exe FROM events UNION ALL SELECT organization_id, exe FROM "+G),
		r("UNION with CTE", "WITH "+G+" AS (SELECT * FROM "+G+") SELECT exe FROM events UNION SELECT exe FROM "+G),
		r("PIVOT over a file", "SELECT * FROM (SELECT exe, organization_id FROM "+G+") PIVOT (count(*) FOR organization_id IN ("+qs(p.VictimOrg)+"))"),
		r("PIVOT statement", "PIVOT "+G+" ON organization_id"),
		r("LATERAL join", "SELECT * FROM events, LATERAL (SELECT exe AS x FROM "+G+")"),
		r("JOIN on a file", "SELECT b.exe FROM events a RIGHT JOIN "+G+" b ON true"),
		r("prepared statement", "PREPARE p AS SELECT * FROM "+G+"; EXECUTE p"),
		r("EXECUTE", "EXECUTE p"),
		r("block comment", "SELECT organization_id, exe FROM /* events */ "+G+" -- events"),
		r("comment inside the statement", "WITH /**/ "+G+" /**/ AS (SELECT * FROM "+G+") SELECT * FROM "+G),
		r("Cyrillic e homoglyph of events", "SELECT * FROM еvents"),
		r("homoglyph CTE over a file", "WITH \"еvents\" AS (SELECT * FROM "+G+") SELECT * FROM \"еvents\""),
		r("fullwidth letters", "SELECT * FROM ｅｖｅｎｔｓ"),
		r("several statements", "SELECT 1; SELECT organization_id, exe FROM "+G),
		r("several statements after a comment", "SELECT 1 -- x\n; SELECT * FROM "+qs(glob)),
		r("events_full", "SELECT * FROM events_full"),
		r("schema-qualified view", "SELECT * FROM temp.main.events"),
		r("catalog qualified", "SELECT * FROM system.main.duckdb_settings"),
		r("DESCRIBE a file", "DESCRIBE SELECT * FROM "+G),
		r("SUMMARIZE a file", "SUMMARIZE SELECT * FROM "+G),
		r("SHOW TABLES", "SHOW TABLES"),
		r("time travel", "SELECT * FROM events AT (VERSION => 1)"),
		// Settings and the catalog.
		r("pg_settings through a CTE", "WITH pg_settings AS (SELECT * FROM pg_settings) SELECT * FROM pg_settings"),
		r("pg_settings", "SELECT * FROM pg_settings"),
		r("duckdb_settings", "SELECT * FROM duckdb_settings()"),
		r("duckdb_views through a CTE", "WITH duckdb_views AS (SELECT * FROM duckdb_views) SELECT sql FROM duckdb_views"),
		r("information_schema", "SELECT * FROM information_schema.tables"),
		r("current_setting", "SELECT current_setting('allowed_directories')"),
		r("current_setting in a subquery", "SELECT exe FROM events WHERE exe = (SELECT current_setting('temp_directory'))"),
		r("getvariable", "SELECT getvariable('x')"),
		r("macro over duckdb_views", "SELECT pg_get_viewdef(0)"),
		r("macro over pragma", "SELECT get_block_size('memory')"),
		r("json_execute_serialized_sql", "SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT 1'))"),
		r("write_log", "SELECT write_log('x')"),
		r("schema-qualified function", "SELECT main.current_setting('threads')"),
		r("sleep", "SELECT pg_sleep(100)"),
		// Statements that are not a SELECT.
		r("COPY out", "COPY (SELECT * FROM events) TO "+qs(p.Lake+"/x.csv")),
		r("COPY in", "COPY events FROM "+qs(p.Part)),
		r("ATTACH", "ATTACH "+qs(p.Lake+"/x.duckdb")+" AS x"),
		r("SET", "SET enable_external_access = true"),
		r("RESET", "RESET allowed_directories"),
		r("PRAGMA", "PRAGMA database_list"),
		r("CALL", "CALL duckdb_settings()"),
		r("CREATE VIEW", "CREATE TEMP VIEW events AS SELECT * FROM "+G),
		r("CREATE MACRO", "CREATE MACRO m() AS TABLE SELECT * FROM "+G),
		r("INSTALL", "INSTALL httpfs"),
		r("EXPLAIN", "EXPLAIN SELECT * FROM "+G),
		r("empty", "  "),
		// Harmless, but a CTE named like a path is refused: no table name
		// that looks like a file passes.
		{Name: "CTE named like a path over events", Refuse: true, NameOnly: true,
			SQL: "WITH " + G + " AS (SELECT * FROM events) SELECT organization_id, exe FROM " + G},
		// Allowed: they must answer the caller's rows only.
		{Name: "CTE shadowing events over events", SQL: "WITH events AS (SELECT * FROM events) SELECT organization_id, exe FROM events"},
		{Name: "recursive CTE over events", SQL: "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT e.organization_id, e.exe FROM events e, r"},
		{Name: "subqueries over events and alerts", SQL: "SELECT organization_id, exe, (SELECT count(*) FROM alerts) AS a FROM events WHERE exe IN (SELECT exe FROM events)"},
		{Name: "LATERAL over events", SQL: "SELECT e.organization_id, x.exe FROM events e, LATERAL (SELECT e.exe) x"},
		{Name: "PIVOT over events", SQL: "SELECT * FROM (SELECT exe, organization_id FROM events) PIVOT (count(*) FOR exe IN ('/usr/bin/x'))"},
		{Name: "unnest and range", SQL: "SELECT e.organization_id, u.x FROM events e, unnest(e.args) u(x), range(2)"},
		{Name: "string paths as values", SQL: "SELECT " + qs(glob) + " AS path, organization_id FROM events"},
		{Name: "SUMMARIZE events", SQL: "SUMMARIZE events"},
	}
	return a
}
