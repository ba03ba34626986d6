package engine

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	duckdb "github.com/duckdb/duckdb-go/v2"
)

// The second layer of the SQL gate lets DuckDB's own binder resolve the
// statement, in a sandbox: a separate in-memory DuckDB that can touch no
// file at all and holds only empty tables shaped like the events and alerts
// views. The statement is planned there (EXPLAIN, never run), and every scan
// in the plan must read one of those two tables, a CTE, constants, or a
// pure table function. Whatever the first layer misjudged (a name bound to
// a file through a replacement scan, a system view, a macro that expands to
// a catalog function) shows up in the plan as a scan of something else, or
// fails for want of file access, and the statement is refused.

// sandbox is the binder-only database; it also parses for the first layer.
type sandbox struct {
	db        *sql.DB
	serialize *sql.Stmt // json_serialize_sql of one statement, prepared once
}

// sandboxFunctions are the table-function scans a plan may hold: those of
// userTableFunctions, as the planner names them.
var sandboxFunctions = map[string]bool{
	"RANGE": true, "GENERATE_SERIES": true, "UNNEST": true, "JSON_EACH": true, "JSON_TREE": true,
}

// sandboxTables are the sandbox's tables, as the planner names them.
var sandboxTables = map[string]bool{"memory.main.events": true, "memory.main.alerts": true}

// harmlessScans are the plan's scans that read no table: constants, CTEs,
// the outer side of a correlated join.
var harmlessScans = map[string]bool{
	"CTE_SCAN": true, "DELIM_SCAN": true, "COLUMN_DATA_SCAN": true, "DUMMY_SCAN": true,
	"EXPRESSION_SCAN": true, "POSITIONAL_SCAN": true, "RECURSIVE_CTE_SCAN": true,
	"RECURSIVE_RECURRING_CTE_SCAN": true, "REC_CTE_SCAN": true, "REC_RECURRING_CTE_SCAN": true,
	"CHUNK_SCAN": true, "EMPTY_RESULT": true,
}

// gateOnce opens the sandbox when the first user statement comes: most
// commands never run one, and the sandbox costs ~10 ms to open.
type gateOnce struct {
	once sync.Once
	sb   *sandbox
	err  error
}

func (g *gateOnce) get() (*sandbox, error) {
	g.once.Do(func() { g.sb, g.err = openSandbox(context.Background()) })
	return g.sb, g.err
}

func (g *gateOnce) close() {
	g.once.Do(func() {}) // none opens after this
	if g.sb != nil {
		g.sb.Close()
	}
}

// sandbox returns the engine's sandbox, opening it on first use.
func (e *Engine) sandbox() (*sandbox, error) { return e.gate.get() }

func openSandbox(ctx context.Context) (*sandbox, error) {
	// Every connection plans without the optimizer: planning stays cheap,
	// and no constant of the statement is folded (evaluated) here. The
	// connections outlive ctx: their set-up uses its own.
	connector, err := duckdb.NewConnector("", func(execer driver.ExecerContext) error {
		_, err := execer.ExecContext(context.Background(), "PRAGMA disable_optimizer", nil)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open sql sandbox: %w", err)
	}
	db := sql.OpenDB(connector)
	empty := Scope{}
	setup := []string{
		"SET threads = 1",
		"SET memory_limit = '128MB'",
		"SET temp_directory = ''",
		"SET autoinstall_known_extensions = false",
		"SET autoload_known_extensions = false",
		"SET TimeZone = 'UTC'",
		"CREATE TABLE events AS SELECT * FROM (" + eventsViewSQL(empty, nil) + ")",
		"CREATE TABLE alerts AS SELECT * FROM (" + alertsViewSQL(empty) + ")",
		"SET enable_external_access = false",
		"SET lock_configuration = true",
	}
	if _, err := db.ExecContext(ctx, strings.Join(setup, "; ")); err != nil {
		db.Close()
		return nil, fmt.Errorf("configure sql sandbox: %w", err)
	}
	st, err := db.PrepareContext(ctx, "SELECT CAST(json_serialize_sql(?::VARCHAR) AS VARCHAR)")
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("prepare sql sandbox: %w", err)
	}
	return &sandbox{db: db, serialize: st}, nil
}

func (s *sandbox) Close() error {
	s.serialize.Close()
	return s.db.Close()
}

// parse returns DuckDB's parse of query as JSON (json_serialize_sql).
func (s *sandbox) parse(ctx context.Context, query string) (string, error) {
	var js string
	if err := s.serialize.QueryRowContext(ctx, query).Scan(&js); err != nil {
		return "", fmt.Errorf("check sql: %w", err)
	}
	return js, nil
}

// check plans query in the sandbox and refuses it when the plan reads
// anything but the sandbox's tables, CTEs and pure table functions.
func (s *sandbox) check(ctx context.Context, query string) error {
	return s.plan(ctx, query, &reads{})
}

// plan is check adding the tables the plan scans to r.
func (s *sandbox) plan(ctx context.Context, query string, r *reads) error {
	rows, err := s.db.QueryContext(ctx, "EXPLAIN (FORMAT json) "+query)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return sandboxError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var key, plan string
		if err := rows.Scan(&key, &plan); err != nil {
			return fmt.Errorf("sql sandbox plan: %w", err)
		}
		var ops []planOp
		if err := json.Unmarshal([]byte(plan), &ops); err != nil {
			return fmt.Errorf("sql sandbox plan: %w", err)
		}
		for _, op := range ops {
			if err := op.check(r); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return sandboxError(err)
	}
	return nil
}

// sandboxError is a statement the sandbox could not plan: the user's SQL is
// wrong, or it reached for something the sandbox does not have (a file, a
// table), which the real engine must not be asked to find.
func sandboxError(err error) error {
	msg := err.Error()
	if strings.Contains(msg, "Permission Error") || strings.Contains(msg, "disabled by configuration") {
		return refused("the statement reads a file: user SQL reads only the events and alerts views (%s)", firstLine(msg))
	}
	return refused("%s", firstLine(msg))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// planOp is one operator of an EXPLAIN (FORMAT json) plan.
type planOp struct {
	Name      string         `json:"name"`
	Children  []planOp       `json:"children"`
	ExtraInfo map[string]any `json:"extra_info"`
}

func (op planOp) check(r *reads) error {
	name := strings.TrimSpace(op.Name)
	if f, ok := op.ExtraInfo["Function"].(string); ok {
		if !sandboxFunctions[strings.ToUpper(strings.TrimSpace(f))] {
			return refused("the statement reads %s: user SQL reads only the events and alerts views", strings.ToLower(f))
		}
	} else if t, ok := op.ExtraInfo["Table"].(string); ok {
		if !sandboxTables[t] {
			return refused("the statement reads table %s: user SQL reads only the events and alerts views", t)
		}
		if t == "memory.main.alerts" {
			r.alerts = true
		}
	} else if strings.Contains(name, "SCAN") && !harmlessScans[name] {
		return refused("the statement's plan holds %s: user SQL reads only the events and alerts views", name)
	}
	for _, c := range op.Children {
		if err := c.check(r); err != nil {
			return err
		}
	}
	return nil
}
