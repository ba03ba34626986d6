package engine

import (
	"fmt"
	"strings"

	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/sqlquote"
)

// Scope is what one query may see: one organization's parts, already pruned
// to the query's time range by the caller.
type Scope struct {
	Org   string
	Files []string // Parquet files: parts and head snapshots
	// AlertFiles are the organization's alert journals (JSON lines of
	// alert versions); the alerts view shows each alert's last version.
	AlertFiles []string
	// Alerts binds the alerts view, for a statement that reads it. Binding
	// reads the journals, which grow large; without it the statement sees
	// no alerts view at all (an error, never another scope's view).
	Alerts bool
	// From and To bound event_time (epoch ms, inclusive) when To > 0.
	From, To int64

	// CheckColumns says some files may lack columns of the current schema
	// (parts written by an older spoor): the engine reads what each holds.
	CheckColumns bool

	mixed bool // the files differ in their columns
}

// SQLType is the DuckDB type of a typed field in the events view.
func SQLType(k event.Kind) string {
	switch k {
	case event.KindString:
		return "VARCHAR"
	case event.KindInt:
		return "BIGINT"
	case event.KindBool:
		return "BOOLEAN"
	case event.KindTime:
		return "TIMESTAMP"
	case event.KindList:
		return "VARCHAR[]"
	}
	return "VARCHAR"
}

// ViewColumns lists the events view's columns in order.
func ViewColumns() []string {
	cols := make([]string, 0, event.NumFields+1)
	for _, f := range event.Catalog() {
		cols = append(cols, f.Name)
	}
	return append(cols, event.RawColumn)
}

// eventsViewSQL is the body of the public events view; eventsFullViewSQL
// adds _lifted, which spoor needs to rebuild original events.
func eventsViewSQL(s Scope, have map[string]bool) string { return viewSQL(s, false, have) }

func eventsFullViewSQL(s Scope, have map[string]bool) string { return viewSQL(s, true, have) }

// LiftedColumn is the column of the events_full view that says which typed
// fields were lifted out of raw.
const LiftedColumn = "_lifted"

// viewSQL is the body of the events view over the scope's files.
// Columns come out in catalog order with fixed types, whatever the files
// hold. Parts are shared by organizations (docs/lake.md): the view keeps
// the rows whose organization_id is the scope's, and that filter is what
// scopes every statement, since user SQL reaches events only through it.
//
// have names the columns the files hold: parts written before a column was
// added to the catalog lack it, and the view shows NULL there.
func viewSQL(s Scope, full bool, have map[string]bool) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, f := range event.Catalog() {
		if i > 0 {
			b.WriteString(", ")
		}
		name := sqlquote.Ident(f.Name)
		switch {
		case f.ID == event.OrganizationID:
			b.WriteString("CAST(" + sqlquote.String(s.Org) + " AS VARCHAR) AS " + name)
		case len(s.Files) == 0 || !have[f.Name]:
			b.WriteString("CAST(NULL AS " + SQLType(f.Kind) + ") AS " + name)
		case f.Kind == event.KindTime:
			// Parts store TIMESTAMP_MILLIS adjusted to UTC; the view shows naive UTC.
			b.WriteString("CAST(" + name + " AS TIMESTAMP) AS " + name)
		default:
			b.WriteString(name)
		}
	}
	if len(s.Files) == 0 {
		b.WriteString(", CAST(NULL AS VARCHAR) AS raw")
		if full {
			b.WriteString(", CAST(NULL AS BIGINT) AS " + LiftedColumn)
		}
		b.WriteString(" WHERE false")
		return b.String()
	}
	// raw shows the residual original with the per-host blocks (kept in
	// meta, dictionary encoded) put back in.
	if have["meta"] {
		b.WriteString(", CASE WHEN meta IS NULL THEN CAST(raw AS VARCHAR) WHEN CAST(raw AS VARCHAR) = '{}' THEN CAST(meta AS VARCHAR)" +
			" ELSE substr(CAST(raw AS VARCHAR), 1, length(CAST(raw AS VARCHAR)) - 1) || ',' || substr(CAST(meta AS VARCHAR), 2) END AS raw")
	} else {
		b.WriteString(", CAST(raw AS VARCHAR) AS raw")
	}
	if full {
		b.WriteString(", " + LiftedColumn)
	}
	b.WriteString(" FROM read_parquet([")
	for i, f := range s.Files {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(sqlquote.String(f))
	}
	b.WriteString("], hive_partitioning = false")
	if s.mixed {
		b.WriteString(", union_by_name = true")
	}
	// Qualified: the select list's organization_id is the scope's constant.
	b.WriteString(") AS part WHERE part.organization_id = " + sqlquote.String(s.Org))
	if s.To > 0 {
		fmt.Fprintf(&b, " AND event_time >= make_timestamp(%d) AND event_time <= make_timestamp(%d)", max(s.From, 0)*1000, s.To*1000)
	}
	return b.String()
}

// alertStruct is the shape of one alert version in a journal.
const alertStruct = `STRUCT(alert_id VARCHAR, organization_id VARCHAR, rule VARCHAR, kind VARCHAR, title VARCHAR, ` +
	`severity BIGINT, technique VARCHAR, hostname VARCHAR, agent_id VARCHAR, group_key VARCHAR, first_time BIGINT, last_time BIGINT, ` +
	`count BIGINT, event_ids VARCHAR[], status VARCHAR, reason VARCHAR, dismissed_by VARCHAR, created_at BIGINT, ` +
	`updated_at BIGINT, notified BOOLEAN, version BIGINT)`

// alertsViewSQL is the alerts view: each alert's last version, from the
// organization's journals; empty but well typed when it has none.
func alertsViewSQL(s Scope) string {
	cols := "a.alert_id, CAST(" + sqlquote.String(s.Org) + " AS VARCHAR) AS organization_id, a.rule, a.kind, a.title, a.severity, a.technique, " +
		"a.hostname, a.agent_id, a.group_key, make_timestamp(a.first_time * 1000) AS first_time, " +
		"make_timestamp(a.last_time * 1000) AS last_time, a.count, a.event_ids, a.status, a.reason, a.dismissed_by, " +
		"make_timestamp(a.updated_at * 1000) AS updated_at"
	if len(s.AlertFiles) == 0 {
		return "SELECT " + cols + " FROM (SELECT CAST(NULL AS " + alertStruct + ") AS a) WHERE false"
	}
	var files strings.Builder
	for i, f := range s.AlertFiles {
		if i > 0 {
			files.WriteString(", ")
		}
		files.WriteString(sqlquote.String(f))
	}
	return "SELECT " + cols + " FROM (SELECT alert AS a FROM read_json([" + files.String() + "], format = 'newline_delimited', " +
		"columns = {'alert': " + sqlquote.String(alertStruct) + "}, ignore_errors = true) " +
		"QUALIFY row_number() OVER (PARTITION BY alert.alert_id ORDER BY alert.version DESC) = 1)"
}
