package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// SQLError is a rejected or failed user statement; it is the user's fault
// (exit code 2, HTTP 400), unlike an engine failure.
type SQLError struct{ Msg string }

func (e *SQLError) Error() string { return e.Msg }

// Check is the SQL gate: it accepts one read-only SELECT (with CTEs, joins,
// subqueries, set operations, PIVOT, LATERAL) whose every table reference
// binds to the caller's events and alerts views or to a CTE of the
// statement itself, and which calls no function that reads settings, files
// or the catalog. Everything else is a SQLError naming what was refused.
//
// Two layers, each enough on its own for the forms it knows (docs/api.md
// argues the design):
//  1. DuckDB's parser serializes the statement and gate_ast.go binds its
//     names by DuckDB's scoping rules, conservatively.
//  2. DuckDB's binder plans it in a sandbox without files or data
//     (gate_bind.go), and every scan of the plan must be of the views.
//
// The engine's own settings (no external access outside the lake, a locked
// configuration) stay as a third line behind both.
func (e *Engine) Check(ctx context.Context, query string) error {
	_, err := e.Gate(ctx, query)
	return err
}

// Statement is a user statement the gate passed, with what it reads; only
// Gate makes one.
type Statement struct {
	sql   string
	reads reads
}

// ReadsAlerts reports whether the statement may read the alerts view: only
// then is the view bound for it (binding reads the alert journals).
func (st Statement) ReadsAlerts() bool { return st.reads.alerts }

// reads is what the gate saw a statement read of the user views. Both
// layers add to it, so it errs towards reading: the parser layer counts
// every table reference named alerts (a CTE of that name too), the binder
// layer every scan of the alerts table.
type reads struct{ alerts bool }

// Gate is Check returning the statement with what it reads (for
// QueryStatement), so that the statement is parsed only once.
func (e *Engine) Gate(ctx context.Context, query string) (Statement, error) {
	if strings.TrimSpace(query) == "" {
		return Statement{}, &SQLError{"empty SQL statement"}
	}
	if !utf8.ValidString(query) {
		return Statement{}, &SQLError{"the SQL statement is not valid UTF-8"}
	}
	sb, err := e.sandbox()
	if err != nil {
		return Statement{}, err
	}
	js, err := sb.parse(ctx, query)
	if err != nil {
		return Statement{}, err
	}
	st := Statement{sql: query}
	if err := gateSerialized(js, &st.reads); err != nil {
		return Statement{}, err
	}
	if err := sb.plan(ctx, query, &st.reads); err != nil {
		return Statement{}, err
	}
	return st, nil
}

// checkSerialized is the first layer over json_serialize_sql's answer.
func checkSerialized(js string) error { return gateSerialized(js, &reads{}) }

// gateSerialized is checkSerialized adding what the statement reads to r.
func gateSerialized(js string, r *reads) error {
	var tree struct {
		Error      bool   `json:"error"`
		Message    string `json:"error_message"`
		Statements []any  `json:"statements"`
	}
	if err := json.Unmarshal([]byte(js), &tree); err != nil {
		return fmt.Errorf("check sql: %w", err)
	}
	if tree.Error {
		if strings.Contains(tree.Message, "Only SELECT") || strings.Contains(tree.Message, "only SELECT") {
			return &SQLError{"only a SELECT statement over events and alerts is allowed"}
		}
		return &SQLError{strings.TrimSpace(tree.Message)}
	}
	if len(tree.Statements) != 1 {
		return &SQLError{fmt.Sprintf("exactly one SELECT statement is allowed, got %d statements", len(tree.Statements))}
	}
	return astGate{r}.walk(tree.Statements[0], nil)
}
