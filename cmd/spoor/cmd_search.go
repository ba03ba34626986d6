package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spoor-dev/spoor/internal/client"
	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/engine"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/query"
	"github.com/spoor-dev/spoor/internal/render"
)

type searchOptions struct {
	data         dataFlags
	since, until string
	limit        int
	fields       string
	format       string
	desc         bool
	stderr       io.Writer // warnings and notes; default os.Stderr
}

func newSearchCmd() *cobra.Command {
	var o searchOptions
	cmd := &cobra.Command{
		Use:   "search [flags] QUERY",
		Short: "Search events with Threat Stack's filter language",
		Long: `Search events with Threat Stack's filter language: fields compared with
= != < <= > >=, starts_with, ends_with, contains, like, in (...), regex,
= null and != null, joined with AND, OR, NOT and parentheses. A field that is
not a column is looked up in the original event by its own name (eventName,
TargetImage). Without --fields, json and ndjson print each whole original event.`,
		Example: `  # Seed 002: one agent's logins
  spoor search 'event_type = "login" AND agent_id = "436dd34c-f795-11ea-a752-21e3e3eb7c50"'

  # Programs run from /tmp in the last 3 days, some fields only
  spoor search --since 72h --fields event_time,hostname,exe,arguments 'exe starts_with "/tmp/" AND syscall = "execve"'

  # Every match, as JSON lines, to another tool
  spoor search --format ndjson --limit 0 'event_type = "cloudtrail" AND eventName = "StopLogging"' | jq -r .userIdentity.arn`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.stderr = cmd.ErrOrStderr()
			return runSearch(cmd.Context(), o, args[0], cmd.OutOrStdout())
		},
	}
	o.data.add(cmd)
	cmd.Flags().StringVar(&o.since, "since", "", "earliest event time (RFC 3339, epoch ms, YYYY-MM-DD or a duration ago: 72h, 30d)")
	cmd.Flags().StringVar(&o.until, "until", "", "latest event time")
	cmd.Flags().IntVar(&o.limit, "limit", 1000, "most events to print (0: all)")
	cmd.Flags().StringVar(&o.fields, "fields", "", "comma-separated fields to print (typed columns or original names)")
	cmd.Flags().StringVar(&o.format, "format", "table", "output: table, json, ndjson or csv")
	cmd.Flags().BoolVar(&o.desc, "desc", false, "newest first")
	return cmd
}

func runSearch(ctx context.Context, o searchOptions, q string, out io.Writer) error {
	if !render.Valid(o.format) {
		return usagef("unknown --format %q (want one of %s)", o.format, strings.Join(render.Formats, ", "))
	}
	if o.limit < 0 {
		return usagef("--limit must not be negative")
	}
	if o.stderr == nil {
		o.stderr = os.Stderr
	}
	from, to, err := timeRange(o.since, o.until)
	if err != nil {
		return err
	}
	// Check the query before opening anything.
	if n, err := query.Parse(q); err != nil {
		return queryError(err, q)
	} else if _, err := query.ToSQL(n); err != nil {
		return queryError(err, q)
	}
	var fields []string
	if o.fields != "" {
		fields = strings.Split(o.fields, ",")
	} else if o.format == "table" || o.format == "csv" {
		fields = datadir.DefaultFields
	}
	if c, err := o.data.client(); err != nil {
		return err
	} else if c != nil {
		req := map[string]any{"query": q, "since": o.since, "until": o.until, "fields": fields, "limit": o.limit, "desc": o.desc}
		return remoteQuery(ctx, c, "/api/v1/search", req, o.format, q, out, o.stderr)
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
	req := datadir.SearchRequest{Query: q, From: from, To: to, Fields: fields, Limit: o.limit, Desc: o.desc}
	s, err := db.Search(ctx, org, req)
	if err != nil {
		return queryError(err, q)
	}
	defer s.Close()
	if w := db.Warning(org, from, to); w != "" {
		fmt.Fprintln(o.stderr, "spoor: warning:", w)
	}
	warnUnknownFields(ctx, db, org, from, to, q, o.stderr)
	w, err := render.New(o.format, out)
	if err != nil {
		return usageError{err}
	}
	if err := w.Header(s.Columns); err != nil {
		return err
	}
	var e event.Event
	vals := make([]any, len(s.Columns))
	for s.Next() {
		if s.Full {
			if err := s.Event(&e); err != nil {
				return err
			}
			if ok, err := render.WriteObject(w, e.Original()); ok || err != nil {
				if err != nil {
					return err
				}
				continue
			}
		}
		if err := s.Row(vals); err != nil {
			return err
		}
		if err := w.Row(vals); err != nil {
			return err
		}
	}
	if err := s.Err(); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if s.More() {
		// The limit cut the answer: say by how much, never silently.
		if n, err := db.Count(ctx, org, req); err == nil {
			fmt.Fprintf(o.stderr, "%d of %d rows; --limit 0 for all\n", o.limit, n)
		} else {
			fmt.Fprintf(o.stderr, "%d rows shown, more match; --limit 0 for all\n", o.limit)
		}
	}
	return nil
}

// queryError marks filter-language and SQL errors as the user's (exit 2),
// rendering the query with a caret under the error.
func queryError(err error, q string) error {
	var qe *query.Error
	if errors.As(err, &qe) {
		if qe.Src == "" {
			qe.Src = q
		}
		return usageError{fmt.Errorf("bad query at %s\n%s", qe.Pos, qe.Caret())}
	}
	var se *engine.SQLError
	if errors.As(err, &se) {
		return usageError{se}
	}
	return err
}

// remoteQuery runs a search or SQL on a server and prints its answer: json,
// ndjson and csv as the server sends them, a table built from its CSV. What
// the answer lacks goes to stderr: the server's warning, its row limit's
// cut; an answer the server ended early is an error (exit 1).
func remoteQuery(ctx context.Context, c *client.Client, path string, req any, format, src string, out, stderr io.Writer) error {
	wire := format
	if format == "table" {
		wire = "csv"
	}
	ans, err := c.Query(ctx, path, req, wire)
	if err != nil {
		var api *client.APIError
		if errors.As(err, &api) && api.Status == 400 {
			return usageError{api}
		}
		return err
	}
	defer ans.Close()
	for _, w := range ans.Warnings {
		fmt.Fprintln(stderr, "spoor: warning:", w)
	}
	if format == "table" {
		err = printTable(ans, out)
	} else {
		_, err = io.Copy(out, ans)
	}
	if err != nil {
		return err
	}
	if err := ans.Err(); err != nil {
		return err
	}
	if cut, cursor := ans.Truncated(); cut {
		fmt.Fprintf(stderr, "spoor: %d rows shown; the answer was cut at the server's row limit\n", ans.Rows())
		if cursor != "" {
			fmt.Fprintf(stderr, "spoor: the rest follows from cursor %s (API: \"cursor\")\n", cursor)
		}
	}
	return nil
}

// printTable prints a CSV answer as a table.
func printTable(body io.Reader, out io.Writer) error {
	r := csv.NewReader(body)
	head, err := r.Read()
	if err == io.EOF {
		return nil
	} else if err != nil {
		return err
	}
	w, _ := render.New("table", out)
	w.Header(head)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		vals := make([]any, len(rec))
		for i, v := range rec {
			vals[i] = v
		}
		w.Row(vals)
	}
	return w.Close()
}

// warnUnknownFields says on stderr which fields of a filter-language query
// no event searched has (datadir.UnknownFields): a misspelt name finds
// nothing, and says so.
func warnUnknownFields(ctx context.Context, db *datadir.DB, org string, from, to int64, q string, stderr io.Writer) {
	warnings, err := db.UnknownFields(ctx, org, from, to, q)
	if err != nil {
		fmt.Fprintln(stderr, "spoor: warning: the query's fields could not be checked:", err)
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, "spoor: warning:", w)
	}
}
