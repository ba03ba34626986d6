package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spoor-dev/spoor/internal/alert"
	"github.com/spoor-dev/spoor/internal/render"
)

type alertsOptions struct {
	data   dataFlags
	status string
	format string
	limit  int
	reason string
}

func newAlertsCmd() *cobra.Command {
	var o alertsOptions
	cmd := &cobra.Command{
		Use:   "alerts",
		Short: "List, show and dismiss alerts (dismissed alerts are kept, never deleted)",
		Example: `  spoor alerts list 'severity = 1'
  spoor alerts show 9fdbfabe127190eda7795943
  spoor alerts dismiss 9fdbfabe127190eda7795943 --reason "the red team's exercise"`,
	}
	list := &cobra.Command{
		Use:   "list [flags] [QUERY]",
		Short: "List alerts, newest first; QUERY is the filter language over alert fields (rule, severity, status, hostname, title, count)",
		Example: `  # Open and dismissed alerts, newest first
  spoor alerts list

  # Every alert of one rule, as CSV
  spoor alerts list --status all --limit 0 --format csv 'rule = "lsass-access"'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			q := ""
			if len(args) == 1 {
				q = args[0]
			}
			return runAlertsList(cmd.Context(), o, q, cmd.OutOrStdout())
		},
	}
	list.Flags().StringVar(&o.status, "status", "", "open, dismissed, pending or all (default: open and dismissed)")
	list.Flags().StringVar(&o.format, "format", "table", "table, json, ndjson or csv")
	list.Flags().IntVar(&o.limit, "limit", 100, "at most this many (0: all)")
	show := &cobra.Command{
		Use:     "show ALERT_ID",
		Short:   "Show one alert as JSON, with the ids of the events that matched",
		Example: `  spoor alerts show 9fdbfabe127190eda7795943`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAlertsShow(cmd.Context(), o, args[0], cmd.OutOrStdout())
		},
	}
	dismiss := &cobra.Command{
		Use:     "dismiss ALERT_ID",
		Short:   "Dismiss an alert (it stays stored and listed as dismissed)",
		Example: `  spoor alerts dismiss 9fdbfabe127190eda7795943 --reason "the red team's exercise"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAlertsDismiss(cmd.Context(), o, args[0], cmd.OutOrStdout())
		},
	}
	dismiss.Flags().StringVar(&o.reason, "reason", "", "why (kept with the alert)")
	for _, c := range []*cobra.Command{list, show, dismiss} {
		o.data.add(c)
		cmd.AddCommand(c)
	}
	return cmd
}

// withAlerts runs f over the local alert store of the data directory.
func withAlerts(ctx context.Context, d dataFlags, f func(st *alert.Store, org string) error) error {
	db, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	if db.Alerts == nil {
		return errors.New("a server holds the data directory: ask it (--server, --token)")
	}
	org, err := d.org(db)
	if err != nil {
		return err
	}
	return f(db.Alerts, org)
}

func runAlertsList(ctx context.Context, o alertsOptions, q string, out io.Writer) error {
	if !render.Valid(o.format) {
		return usagef("unknown --format %q (want one of %s)", o.format, strings.Join(render.Formats, ", "))
	}
	var list []alert.Alert
	if c, err := o.data.client(); err != nil {
		return err
	} else if c != nil {
		v := url.Values{"status": {o.status}, "query": {q}, "limit": {strconv.Itoa(o.limit)}}
		if err := c.JSON(ctx, "GET", "/api/v1/alerts?"+v.Encode(), nil, &list); err != nil {
			return err
		}
	} else if err := withAlerts(ctx, o.data, func(st *alert.Store, org string) error {
		all, err := st.List(org)
		if err != nil {
			return err
		}
		for _, a := range all {
			if (o.status == "" && a.Status != alert.StatusPending) || o.status == "all" || a.Status == o.status {
				list = append(list, a)
			}
		}
		if list, err = alert.Filter(list, q); err != nil {
			return queryError(err, q)
		}
		return nil
	}); err != nil {
		return err
	}
	if o.limit > 0 && len(list) > o.limit {
		list = list[:o.limit]
	}
	w, err := render.New(o.format, out)
	if err != nil {
		return usageError{err}
	}
	w.Header([]string{"alert_id", "status", "severity", "rule", "technique", "hostname", "count", "first_time", "last_time", "title"})
	for _, a := range list {
		w.Row([]any{a.ID, a.Status, a.Severity, a.Rule, a.Technique, a.Hostname, a.Count, time.UnixMilli(a.FirstTime).UTC(), time.UnixMilli(a.LastTime).UTC(), a.Title})
	}
	return w.Close()
}

func runAlertsShow(ctx context.Context, o alertsOptions, id string, out io.Writer) error {
	var a alert.Alert
	if c, err := o.data.client(); err != nil {
		return err
	} else if c != nil {
		if err := c.JSON(ctx, "GET", "/api/v1/alerts/"+url.PathEscape(id), nil, &a); err != nil {
			return err
		}
	} else if err := withAlerts(ctx, o.data, func(st *alert.Store, org string) (err error) {
		a, err = st.Get(org, id)
		if errors.Is(err, alert.ErrNotFound) {
			return fmt.Errorf("no alert %q in organization %s", id, org)
		}
		return err
	}); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(a, "", "  ")
	_, err := fmt.Fprintln(out, string(b))
	return err
}

func runAlertsDismiss(ctx context.Context, o alertsOptions, id string, out io.Writer) error {
	var a alert.Alert
	if c, err := o.data.client(); err != nil {
		return err
	} else if c != nil {
		if err := c.JSON(ctx, "POST", "/api/v1/alerts/"+url.PathEscape(id)+"/dismiss", map[string]string{"reason": o.reason}, &a); err != nil {
			return err
		}
	} else if err := withAlerts(ctx, o.data, func(st *alert.Store, org string) (err error) {
		a, err = st.Dismiss(org, id, "cli", o.reason)
		switch {
		case errors.Is(err, alert.ErrNotFound):
			return fmt.Errorf("no alert %q in organization %s", id, org)
		case errors.Is(err, alert.ErrDismissed):
			return fmt.Errorf("alert %s was dismissed already by %s: %q", a.ID, a.DismissedBy, a.Reason)
		}
		return err
	}); err != nil {
		return err
	}
	_, err := fmt.Fprintf(out, "dismissed %s (%s on %s, %d events)\n", a.ID, a.Rule, a.Hostname, a.Count)
	return err
}
