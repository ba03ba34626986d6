package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spoor-dev/spoor/internal/render"
)

type sqlOptions struct {
	data         dataFlags
	since, until string
	format       string
	stderr       io.Writer // warnings and notes; default os.Stderr
}

func newSQLCmd() *cobra.Command {
	var o sqlOptions
	cmd := &cobra.Command{
		Use:   "sql [flags] SQL",
		Short: "Run a DuckDB SELECT over the events view",
		Long: `Run one DuckDB SELECT over the events view (and alerts), scoped to one
organization and, with --since/--until, to a time range. raw->>'Field' reaches
original fields that have no column of their own. Files, settings and other
databases are out of reach.`,
		Example: `  # The most run programs
  spoor sql "SELECT exe, count(*) AS n FROM events GROUP BY exe ORDER BY n DESC LIMIT 20"

  # Sysmon process accesses to LSASS, as CSV, from an original field
  spoor sql --since 2020-09-01 --format csv "SELECT hostname, exe, raw->>'GrantedAccess' AS access FROM events WHERE win_event_id = 10 AND raw->>'TargetImage' LIKE '%lsass.exe'"

  # Against a server
  spoor sql --server http://127.0.0.1:7878 --token "$SPOOR_TOKEN" "SELECT event_type, count(*) FROM events GROUP BY ALL"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.stderr = cmd.ErrOrStderr()
			return runSQL(cmd.Context(), o, args[0], cmd.OutOrStdout())
		},
	}
	o.data.add(cmd)
	cmd.Flags().StringVar(&o.since, "since", "", "earliest event time the events view holds")
	cmd.Flags().StringVar(&o.until, "until", "", "latest event time the events view holds")
	cmd.Flags().StringVar(&o.format, "format", "table", "output: table, json, ndjson or csv")
	return cmd
}

func runSQL(ctx context.Context, o sqlOptions, q string, out io.Writer) error {
	if !render.Valid(o.format) {
		return usagef("unknown --format %q (want one of %s)", o.format, strings.Join(render.Formats, ", "))
	}
	if o.stderr == nil {
		o.stderr = os.Stderr
	}
	from, to, err := timeRange(o.since, o.until)
	if err != nil {
		return err
	}
	if c, err := o.data.client(); err != nil {
		return err
	} else if c != nil {
		return remoteQuery(ctx, c, "/api/v1/sql", map[string]any{"sql": q, "since": o.since, "until": o.until}, o.format, q, out, o.stderr)
	}
	db, err := o.data.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	org, err := o.data.org(db)
	if err != nil {
		return err
	}
	rows, err := db.UserQuery(ctx, org, from, to, q)
	if err != nil {
		return queryError(err, q)
	}
	defer rows.Close()
	if w := db.Warning(org, from, to); w != "" {
		fmt.Fprintln(o.stderr, "spoor: warning:", w)
	}
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	w, err := render.New(o.format, out)
	if err != nil {
		return usageError{err}
	}
	if err := w.Header(cols); err != nil {
		return err
	}
	vals, ptrs := render.ScanTargets(len(cols))
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		if err := w.Row(vals); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return queryError(err, q)
	}
	return w.Close()
}
