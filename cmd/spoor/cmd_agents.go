package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	fleetview "github.com/spoor-dev/spoor/internal/fleet" // seeds_test.go has a fleet()
	"github.com/spoor-dev/spoor/internal/hunt"
	"github.com/spoor-dev/spoor/internal/render"
	"github.com/spoor-dev/spoor/internal/server"
)

type agentsOptions struct {
	data        dataFlags
	format      string
	silentAfter time.Duration
}

func newAgentsCmd() *cobra.Command {
	var o agentsOptions
	cmd := &cobra.Command{
		Use:   "agents [--silent-after DURATION]",
		Short: "The organization's agents: last seen, version, host metadata, lag and losses; silent agents first",
		Long: `List the agents (and hosts known only from imported events) of the organization: when the server last
heard from each, its version, the lag, spool and losses of its last health event, and the host metadata of
its last host_metadata event. An agent not heard from for --silent-after (default 3m, three of its one-minute
health intervals) is marked silent and listed first; hosts that never sent a health event are "imported".
The table shows the main columns; json, ndjson and csv carry all of them.`,
		Example: `  spoor agents --server https://spoor:7878 --token $TOKEN
  spoor agents --data ./spoor-data --silent-after 10m
  spoor agents --format json | jq '.[] | select(.status == "silent") | .hostname'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAgents(cmd.Context(), o, cmd.OutOrStdout())
		},
	}
	o.data.add(cmd)
	cmd.Flags().StringVar(&o.format, "format", "table", "table, json, ndjson or csv")
	cmd.Flags().DurationVar(&o.silentAfter, "silent-after", fleetview.DefaultSilentAfter, "an agent not heard from for this long is silent")
	return cmd
}

// tableColumns are the columns --format table prints.
var tableColumns = []string{"agent_id", "hostname", "status", "last_seen", "agent_version", "lag_ms", "lost_total",
	"os_version", "kernel", "instance_id", "region"}

func runAgents(ctx context.Context, o agentsOptions, out io.Writer) error {
	if !render.Valid(o.format) {
		return usagef("unknown --format %q (want one of %s)", o.format, strings.Join(render.Formats, ", "))
	}
	if o.silentAfter <= 0 {
		return usagef("--silent-after must be positive")
	}
	if c, err := o.data.client(); err != nil {
		return err
	} else if c != nil {
		req := server.AgentsRequest{SilentAfter: o.silentAfter.String()}
		if o.format != "table" {
			return remoteQuery(ctx, c, "/api/v1/agents", req, o.format, "", out, os.Stderr)
		}
		// The server answers CSV (a fleet's list is small); the table is
		// cut to its columns here.
		var buf bytes.Buffer
		if err := remoteQuery(ctx, c, "/api/v1/agents", req, "csv", "", &buf, os.Stderr); err != nil {
			return err
		}
		recs, err := csv.NewReader(&buf).ReadAll()
		if err != nil || len(recs) == 0 {
			return fmt.Errorf("agents: the server's answer: %v", err)
		}
		t := hunt.Table{Columns: recs[0]}
		for _, rec := range recs[1:] {
			row := make([]any, len(rec))
			for i, v := range rec {
				row[i] = v
			}
			t.Rows = append(t.Rows, row)
		}
		w, _ := render.New("table", out)
		return project(t, tableColumns).Write(w)
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
	t, err := fleetview.Agents(ctx, db, org, fleetview.Options{SilentAfter: o.silentAfter})
	if err != nil {
		return err
	}
	if o.format == "table" {
		t = project(t, tableColumns)
	}
	w, err := render.New(o.format, out)
	if err != nil {
		return usageError{err}
	}
	return t.Write(w)
}

// project keeps cols of t, in that order.
func project(t hunt.Table, cols []string) hunt.Table {
	idx := make([]int, 0, len(cols))
	for _, c := range cols {
		for i, tc := range t.Columns {
			if tc == c {
				idx = append(idx, i)
			}
		}
	}
	out := hunt.Table{Columns: make([]string, len(idx)), Rows: make([][]any, len(t.Rows))}
	for j, i := range idx {
		out.Columns[j] = t.Columns[i]
	}
	for r, row := range t.Rows {
		out.Rows[r] = make([]any, len(idx))
		for j, i := range idx {
			out.Rows[r][j] = row[i]
		}
	}
	return out
}
