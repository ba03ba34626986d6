package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spoor-dev/spoor/internal/hunt/analysis"
	"github.com/spoor-dev/spoor/internal/hunt/timeline"
	"github.com/spoor-dev/spoor/internal/render"
)

type huntOptions struct {
	data    dataFlags
	req     analysis.Request
	format  string
	plot    string
	iocFile string
}

// newHuntCmds makes one command per analysis (diff, sweep, sessions, tree,
// cluster, timeline, talkers, connections, logins).
func newHuntCmds() []*cobra.Command {
	type spec struct {
		name, use, short string
		args             cobra.PositionalArgs
		flags            func(*cobra.Command, *huntOptions)
		positional       func(*huntOptions, []string)
	}
	timeFlags := func(c *cobra.Command, o *huntOptions) {
		c.Flags().StringVar(&o.req.Since, "since", "", "earliest event time (RFC 3339, epoch ms, YYYY-MM-DD or a duration ago)")
		c.Flags().StringVar(&o.req.Until, "until", "", "latest event time")
	}
	host := func(c *cobra.Command, o *huntOptions) {
		c.Flags().StringVar(&o.req.Host, "host", "", "the host: agent_id or hostname")
	}
	specs := []spec{
		{name: "diff", use: "diff --host H --baseline T1..T2 --window T3..T4 | --against-host G",
			short: "What is new on a host in a window, absent from its baseline (or from a clean host): executables, arguments, users, process pairs, destinations, ports, logins, sensitive files",
			args:  cobra.NoArgs, flags: func(c *cobra.Command, o *huntOptions) {
				host(c, o)
				c.Flags().StringVar(&o.req.AgainstHost, "against-host", "", "compare with this host (built from the same image) instead of a baseline")
				c.Flags().StringVar(&o.req.Baseline, "baseline", "", "the baseline period, FROM..TO")
				c.Flags().StringVar(&o.req.Window, "window", "", "the period to examine, FROM..TO")
				c.Flags().BoolVar(&o.req.Disappeared, "disappeared", false, "also list what the window no longer has")
				c.Flags().StringSliceVar(&o.req.Categories, "category", nil, "only these categories")
			}},
		{name: "sweep", use: "sweep [--ioc VALUE]... [IOC_FILE]", short: "Sweep the fleet for IoCs (paths, file names, hashes, IPs, CIDRs, domains, command-line substrings): hits by host",
			args: cobra.MaximumNArgs(1), flags: func(c *cobra.Command, o *huntOptions) {
				timeFlags(c, o)
				c.Flags().StringSliceVar(&o.req.IoCs, "ioc", nil, "an IoC (repeatable; kind:value forces the kind)")
			}, positional: func(o *huntOptions, a []string) {
				if len(a) == 1 {
					o.iocFile = a[0]
				}
			}},
		{name: "sessions", use: "sessions --host H", short: "Logon sessions of a host (auditd, logins, Windows logon ids): user, source, external or not, start, end, processes",
			args: cobra.NoArgs, flags: func(c *cobra.Command, o *huntOptions) { host(c, o); timeFlags(c, o) }},
		{name: "tree", use: "tree --host H --session S | --pid P", short: "The processes of a session, or under a pid, as a tree (reused pids kept apart by time)",
			args: cobra.NoArgs, flags: func(c *cobra.Command, o *huntOptions) {
				host(c, o)
				timeFlags(c, o)
				c.Flags().Int64Var(&o.req.Session, "session", 0, "session id (auditd ses, Windows logon id)")
				c.Flags().Int64Var(&o.req.PID, "pid", 0, "the process whose subtree to print")
			}},
		{name: "cluster", use: "cluster [QUERY]", short: "Compress repetitive events into distinct patterns (numbers, hex, uuids, temp names normalised), rare first",
			args: cobra.MaximumNArgs(1), flags: func(c *cobra.Command, o *huntOptions) {
				timeFlags(c, o)
				c.Flags().StringVar(&o.req.Field, "field", "", "the text to cluster (default arguments, else exe)")
			}, positional: func(o *huntOptions, a []string) {
				if len(a) == 1 {
					o.req.Query = a[0]
				}
			}},
		{name: "timeline", use: "timeline [QUERY]", short: "Counts per time bucket and event type, alerts marked; --plot FILE.svg draws it",
			args: cobra.MaximumNArgs(1), flags: func(c *cobra.Command, o *huntOptions) {
				timeFlags(c, o)
				c.Flags().StringVar(&o.req.Bucket, "bucket", "", "bucket width (default: about 60 buckets)")
				c.Flags().StringVar(&o.plot, "plot", "", "also write the chart as SVG to this file")
			}, positional: func(o *huntOptions, a []string) {
				if len(a) == 1 {
					o.req.Query = a[0]
				}
			}},
		{name: "talkers", use: "talkers ADDRESS", short: "Who talked to an address: hosts, direction, ports, first and last seen",
			args: cobra.ExactArgs(1), flags: timeFlags, positional: func(o *huntOptions, a []string) { o.req.Addr = a[0] }},
		{name: "connections", use: "connections --host H", short: "A host's connections grouped by destination, external first",
			args: cobra.NoArgs, flags: func(c *cobra.Command, o *huntOptions) { host(c, o); timeFlags(c, o) }},
		{name: "logins", use: "logins [--host H]", short: "Failed and successful logons by source address and account (brute force): failures, successes, external or not, succeeded after N failures",
			args: cobra.NoArgs, flags: func(c *cobra.Command, o *huntOptions) { host(c, o); timeFlags(c, o) }},
	}
	var cmds []*cobra.Command
	for _, s := range specs {
		o := &huntOptions{}
		c := &cobra.Command{Use: s.use, Short: s.short, Args: s.args, RunE: func(cmd *cobra.Command, args []string) error {
			if s.positional != nil {
				s.positional(o, args)
			}
			return runHunt(cmd.Context(), s.name, *o, cmd.OutOrStdout())
		}}
		o.data.add(c)
		c.Flags().StringVar(&o.format, "format", "table", "table, json, ndjson or csv")
		s.flags(c, o)
		cmds = append(cmds, c)
	}
	return cmds
}

func runHunt(ctx context.Context, name string, o huntOptions, out io.Writer) error {
	if !render.Valid(o.format) {
		return usagef("unknown --format %q (want one of %s)", o.format, strings.Join(render.Formats, ", "))
	}
	if o.iocFile != "" {
		f, err := os.Open(o.iocFile)
		if err != nil {
			return usagef("%v", err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			o.req.IoCs = append(o.req.IoCs, sc.Text())
		}
		f.Close()
	}
	// What the request lacks is said in flags, before a server (which
	// names its API fields) or the data directory is asked.
	if err := analysis.Check(name, o.req); err != nil {
		return huntUsage(err)
	}
	if c, err := o.data.client(); err != nil {
		return err
	} else if c != nil {
		if o.plot != "" {
			return usagef("--plot draws from a local data directory; over --server ask /api/v1/hunt/timeline?format=svg")
		}
		return remoteQuery(ctx, c, "/api/v1/hunt/"+name, o.req, o.format, "", out, os.Stderr)
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
	t, err := analysis.Run(ctx, db, org, name, o.req)
	if err != nil {
		return huntUsage(err)
	}
	if from, to, err := timeRange(o.req.Since, o.req.Until); err == nil {
		warnUnknownFields(ctx, db, org, from, to, o.req.Query, os.Stderr)
	}
	if o.plot != "" {
		f, err := os.Create(o.plot)
		if err != nil {
			return err
		}
		if err := timeline.SVG(t, f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "spoor: chart written to %s\n", o.plot)
	}
	w, err := render.New(o.format, out)
	if err != nil {
		return usageError{err}
	}
	return t.Write(w)
}

// huntUsage makes an analysis's usage error the command line's, naming its
// flags for the request's fields; other errors pass.
func huntUsage(err error) error {
	var ue analysis.UsageError
	if !errors.As(err, &ue) {
		return err
	}
	return usageError{errors.New(ue.Named(func(field string) string {
		switch field {
		case "iocs":
			return "--ioc or an IoC file"
		case "addr":
			return "an ADDRESS"
		}
		return "--" + strings.ReplaceAll(field, "_", "-")
	}))}
}
