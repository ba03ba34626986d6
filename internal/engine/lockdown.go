package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// SQLError is a rejected or failed user statement; it is the user's fault
// (exit code 2, HTTP 400), unlike an engine failure.
type SQLError struct{ Msg string }

func (e *SQLError) Error() string { return e.Msg }

// tables user SQL may name.
var userTables = map[string]bool{"events": true, "alerts": true}

// functions user SQL may not call even though external access is off:
// they read settings, the environment or other queries.
var deniedFunctions = map[string]bool{
	"current_setting": true, "getenv": true, "getvariable": true, "query": true, "query_table": true,
	"json_serialize_sql": true, "json_deserialize_sql": true, "json_execute_serialized_sql": true,
	"current_database": true, "current_catalog": true, "current_schemas": true,
}

// Check accepts only one read-only SELECT (with CTEs, joins, subqueries)
// over the events and alerts views. Table functions (read_csv, read_parquet,
// glob ...), other tables and schemas, and every other kind of statement
// (SET, ATTACH, COPY, PRAGMA, INSTALL ...) are refused. DuckDB's own
// settings refuse file access besides; this check keeps users inside their
// organization's views.
func (e *Engine) Check(ctx context.Context, query string) error {
	if strings.TrimSpace(query) == "" {
		return &SQLError{"empty SQL statement"}
	}
	var js string
	if err := e.db.QueryRowContext(ctx, "SELECT CAST(json_serialize_sql(?::VARCHAR) AS VARCHAR)", query).Scan(&js); err != nil {
		return fmt.Errorf("check sql: %w", err)
	}
	var tree map[string]any
	if err := json.Unmarshal([]byte(js), &tree); err != nil {
		return fmt.Errorf("check sql: %w", err)
	}
	if tree["error"] == true {
		msg, _ := tree["error_message"].(string)
		if strings.Contains(msg, "Only SELECT") || strings.Contains(msg, "only SELECT") {
			return &SQLError{"only a SELECT statement over events and alerts is allowed"}
		}
		return &SQLError{strings.TrimSpace(msg)}
	}
	stmts, _ := tree["statements"].([]any)
	if len(stmts) != 1 {
		return &SQLError{fmt.Sprintf("exactly one SELECT statement is allowed, got %d", len(stmts))}
	}
	return checkNode(stmts[0], map[string]bool{})
}

// checkNode walks the serialized statement. ctes holds the CTE names in scope.
func checkNode(n any, ctes map[string]bool) error {
	switch v := n.(type) {
	case []any:
		for _, x := range v {
			if err := checkNode(x, ctes); err != nil {
				return err
			}
		}
	case map[string]any:
		if cm, ok := v["cte_map"].(map[string]any); ok {
			if m, ok := cm["map"].([]any); ok {
				inner := make(map[string]bool, len(ctes)+len(m))
				for k := range ctes {
					inner[k] = true
				}
				for _, entry := range m {
					if em, ok := entry.(map[string]any); ok {
						if k, ok := em["key"].(string); ok {
							inner[strings.ToLower(k)] = true
						}
					}
				}
				ctes = inner
			}
		}
		typ, _ := v["type"].(string)
		switch typ {
		case "TABLE_FUNCTION":
			name := "a table function"
			if f, ok := v["function"].(map[string]any); ok {
				if fn, ok := f["function_name"].(string); ok {
					name = fn + "()"
				}
			}
			return &SQLError{fmt.Sprintf("%s is not allowed: query the events and alerts views", name)}
		case "BASE_TABLE":
			table, _ := v["table_name"].(string)
			schema, _ := v["schema_name"].(string)
			catalog, _ := v["catalog_name"].(string)
			t := strings.ToLower(table)
			if schema != "" || catalog != "" || !(userTables[t] || ctes[t]) {
				return &SQLError{fmt.Sprintf("unknown table %q: query the events and alerts views", table)}
			}
		case "FUNCTION":
			fn, _ := v["function_name"].(string)
			if deniedFunctions[strings.ToLower(fn)] {
				return &SQLError{fmt.Sprintf("function %s is not allowed", fn)}
			}
			if msg := amplifier(fn); msg != "" {
				return &SQLError{msg}
			}
		}
		for k, x := range v {
			if k == "cte_map" {
				// CTE bodies may name earlier CTEs and themselves (recursive).
				if err := checkNode(x, ctes); err != nil {
					return err
				}
				continue
			}
			if err := checkNode(x, ctes); err != nil {
				return err
			}
		}
	}
	return nil
}
