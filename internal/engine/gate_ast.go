package engine

import (
	"fmt"
	"strings"
	"unicode"
)

// The first layer of the SQL gate walks the statement as DuckDB's own
// parser serialized it (json_serialize_sql) and binds every table name the
// way DuckDB's binder does, but conservatively: a name that DuckDB might
// resolve to anything other than the caller's views or the statement's own
// CTEs is refused.
//
// The binding rules it follows:
//   - A CTE is visible to the CTEs after it in the same WITH, to the query
//     of that WITH and to everything nested in them; never to itself, unless
//     it is the recursive term of a WITH RECURSIVE (the query DuckDB marks
//     RECURSIVE_CTE_NODE names it). A non-recursive CTE that names itself
//     falls through to the catalog and to DuckDB's replacement scans, which
//     read files: the hole this layer closes.
//   - Names compare case-insensitively in ASCII only, as DuckDB does; a
//     name that differs from "events" in any other way (a homoglyph) is a
//     different, unknown name.
//   - Table and CTE names are plain identifiers (letters, digits, _):
//     replacement scans need a path or a file extension, so no name that
//     passes can ever be read from disk.

// userTables are the views user SQL may name.
var userTables = map[string]bool{"events": true, "alerts": true}

// userTableFunctions are the table functions user SQL may call: they make
// rows from their arguments and read nothing else.
var userTableFunctions = map[string]bool{
	"range": true, "generate_series": true, "unnest": true, "json_each": true, "json_tree": true,
}

// deniedFunctions read the server's settings, variables, environment,
// catalog or log, or run other SQL; user SQL may not call them. Prefixes in
// deniedPrefixes are denied likewise (the catalog's functions and macros).
var deniedFunctions = map[string]bool{
	"current_setting": true, "getenv": true, "getvariable": true, "query": true, "query_table": true,
	"json_serialize_sql": true, "json_deserialize_sql": true, "json_execute_serialized_sql": true,
	"json_serialize_plan": true, "current_database": true, "current_catalog": true, "current_schema": true,
	"current_schemas": true, "in_search_path": true, "which_secret": true, "write_log": true,
	"nextval": true, "currval": true, "sleep_ms": true, "get_block_size": true, "col_description": true,
	"obj_description": true, "shobj_description": true, "format_type": true, "current_query": true,
	"has_any_column_privilege": true, "has_column_privilege": true, "has_database_privilege": true,
	"has_foreign_data_wrapper_privilege": true, "has_function_privilege": true, "has_language_privilege": true,
	"has_schema_privilege": true, "has_sequence_privilege": true, "has_server_privilege": true,
	"has_table_privilege": true, "has_tablespace_privilege": true, "map_to_pg_oid": true,
}

var deniedPrefixes = []string{"duckdb_", "pragma_", "pg_", "read_", "parquet_", "enable_", "disable_"}

// allowedPGFunctions are harmless functions under a denied prefix.
var allowedPGFunctions = map[string]bool{"pg_typeof": true, "pg_size_pretty": true}

// allowedRefTypes are the FROM-clause forms user SQL may use; the rest
// (table functions but the pure ones, SHOW, catalog internals) are refused.
var allowedRefTypes = map[string]bool{
	"BASE_TABLE": true, "SUBQUERY": true, "JOIN": true, "EMPTY": true, "EXPRESSION_LIST": true,
	"PIVOT": true, "TABLE_FUNCTION": true, "SHOW_REF": true,
}

var allowedQueryNodes = map[string]bool{
	"SELECT_NODE": true, "SET_OPERATION_NODE": true, "RECURSIVE_CTE_NODE": true, "CTE_NODE": true,
}

// astGate checks one serialized statement, noting in r what it reads.
type astGate struct{ r *reads }

// scope is the CTE names visible at a point of the statement, innermost
// last; it is never modified in place, so nested scopes can share it.
type scope []string

func (s scope) with(name string) scope {
	out := make(scope, len(s), len(s)+1)
	copy(out, s)
	return append(out, asciiLower(name))
}

func (s scope) has(name string) bool {
	n := asciiLower(name)
	for _, c := range s {
		if c == n {
			return true
		}
	}
	return false
}

// asciiLower folds ASCII letters only, as DuckDB compares names.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// plainIdent reports whether name is letters, digits and underscores,
// starting with no digit.
func plainIdent(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		if !(unicode.IsLetter(r) || r == '_' || (i > 0 && unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}

func refused(format string, args ...any) error { return &SQLError{fmt.Sprintf(format, args...)} }

// walk checks any part of the serialized statement with the CTEs of sc in
// scope.
func (g astGate) walk(n any, sc scope) error {
	switch v := n.(type) {
	case []any:
		for _, x := range v {
			if err := g.walk(x, sc); err != nil {
				return err
			}
		}
	case map[string]any:
		return g.object(v, sc)
	}
	return nil
}

func (g astGate) object(v map[string]any, sc scope) error {
	typ, _ := v["type"].(string)
	_, isExpr := v["class"]
	_, isNode := v["modifiers"]
	_, isRef := v["sample"]
	switch {
	case isExpr:
		if typ == "FUNCTION" || v["class"] == "FUNCTION" {
			if err := checkFunction(v); err != nil {
				return err
			}
		}
	case isNode:
		return g.queryNode(v, typ, sc)
	case isRef:
		return g.tableRef(v, typ, sc)
	}
	return g.children(v, sc, nil)
}

// children walks every member of v but those in skip.
func (g astGate) children(v map[string]any, sc scope, skip map[string]bool) error {
	for k, x := range v {
		if skip[k] {
			continue
		}
		if err := g.walk(x, sc); err != nil {
			return err
		}
	}
	return nil
}

// queryNode checks a SELECT, set operation or recursive CTE with its WITH.
func (g astGate) queryNode(v map[string]any, typ string, sc scope) error {
	if !allowedQueryNodes[typ] {
		return refused("a %s is not allowed: only SELECT statements", strings.ToLower(strings.TrimSuffix(typ, "_NODE")))
	}
	sc, err := g.ctes(v, sc)
	if err != nil {
		return err
	}
	if typ == "RECURSIVE_CTE_NODE" {
		// The recursive term may name the CTE; the anchor may not.
		name, _ := v["cte_name"].(string)
		if err := g.walk(v["left"], sc); err != nil {
			return err
		}
		if err := g.walk(v["right"], sc.with(name)); err != nil {
			return err
		}
		return g.children(v, sc, map[string]bool{"cte_map": true, "left": true, "right": true})
	}
	return g.children(v, sc, map[string]bool{"cte_map": true})
}

// ctes checks a node's WITH clause, each CTE with only the earlier ones in
// scope, and returns the scope of the node's own query.
func (g astGate) ctes(v map[string]any, sc scope) (scope, error) {
	cm, _ := v["cte_map"].(map[string]any)
	entries, _ := cm["map"].([]any)
	for _, e := range entries {
		em, _ := e.(map[string]any)
		name, _ := em["key"].(string)
		if !plainIdent(name) {
			return nil, refused("CTE name %q is not allowed: name CTEs with letters, digits and _", name)
		}
		if err := g.walk(em["value"], sc); err != nil {
			return nil, err
		}
		sc = sc.with(name)
	}
	return sc, nil
}

// tableRef checks one FROM-clause item.
func (g astGate) tableRef(v map[string]any, typ string, sc scope) error {
	if !allowedRefTypes[typ] {
		return refused("%s in FROM is not allowed: query the events and alerts views", strings.ToLower(typ))
	}
	switch typ {
	case "BASE_TABLE":
		name, _ := v["table_name"].(string)
		schema, _ := v["schema_name"].(string)
		catalog, _ := v["catalog_name"].(string)
		if schema != "" || catalog != "" {
			return refused("table %q is not allowed: name events, alerts or a CTE of the statement, without a schema", strings.Trim(catalog+"."+schema+"."+name, "."))
		}
		if v["at_clause"] != nil {
			return refused("AT (time travel) on %q is not allowed", name)
		}
		if !plainIdent(name) || !(sc.has(name) || userTables[asciiLower(name)]) {
			return refused("table %q is not allowed: user SQL reads only the events and alerts views and its own CTEs", name)
		}
		if asciiLower(name) == "alerts" {
			g.r.alerts = true
		}
	case "TABLE_FUNCTION":
		f, _ := v["function"].(map[string]any)
		name, _ := f["function_name"].(string)
		if schema, _ := f["schema"].(string); schema != "" || !userTableFunctions[asciiLower(name)] {
			return refused("%s() is not allowed: query the events and alerts views", name)
		}
		// A table function streams its rows in chunks, which the memory
		// limit and interrupts reach: only its arguments are checked, not
		// its name against the scalar amplifiers.
		if err := g.children(f, sc, nil); err != nil {
			return err
		}
		return g.children(v, sc, map[string]bool{"function": true})
	case "SHOW_REF":
		// DESCRIBE and SUMMARIZE of a query; SHOW TABLES and the like list
		// the catalog.
		show, _ := v["show_type"].(string)
		if name, _ := v["table_name"].(string); name != "" || (show != "DESCRIBE" && show != "SUMMARY") || v["query"] == nil {
			return refused("SHOW is not allowed: DESCRIBE or SUMMARIZE a query over events or alerts")
		}
	}
	return g.children(v, sc, nil)
}

// checkFunction refuses calls that reach beyond the caller's rows.
func checkFunction(v map[string]any) error {
	name, _ := v["function_name"].(string)
	schema, _ := v["schema"].(string)
	catalog, _ := v["catalog"].(string)
	if schema != "" || catalog != "" {
		return refused("function %s.%s is not allowed: call functions without a schema", schema, name)
	}
	n := asciiLower(name)
	if why := amplifier(n); why != "" {
		return &SQLError{why}
	}
	if deniedFunctions[n] {
		return refused("function %s is not allowed", name)
	}
	for _, p := range deniedPrefixes {
		if strings.HasPrefix(n, p) && !allowedPGFunctions[n] {
			return refused("function %s is not allowed", name)
		}
	}
	return nil
}
