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
		long, example    string
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
			long: `What a host did in a window (--window) that it did not do in its baseline
period (--baseline), or that a clean host built from the same image
(--against-host) did not do. Periods are FROM..TO, each side RFC 3339, epoch
ms, YYYY-MM-DD or a duration ago (72h, 30d); either side may be left empty.

Items come by category; --category takes a comma-separated list (default all):

  executable     the exe of a process start
  command        an exe with its arguments, numbers and temporary names normalised
  user           the user of any event
  parent_child   parent exe -> exe of a process start
  outbound       dst_ip:dst_port of an outbound connection
  listening      protocol/port a connection came in to
  login_source   the source address of a login
  file           a sensitive path written (/etc/passwd, authorized_keys, cron, ...)

Each item says when it was first seen, how often, an example event, and
fleet_hosts: how many of the organization's hosts ever did it (1: only this one).`,
			example: `  # Seed 000: what the compromised host did after Valentine's Day 2020 that it never did before
  spoor diff --host b0f6bdb2-9904-11e9-b036-25972ec55a45 --baseline 2020-02-05..2020-02-14 --window 2020-02-14..2020-02-17

  # The last day against a clean host of the same image, new executables and destinations only
  spoor diff --host web01 --against-host web02 --window 24h.. --category executable,outbound`,
			args: cobra.NoArgs, flags: func(c *cobra.Command, o *huntOptions) {
				host(c, o)
				c.Flags().StringVar(&o.req.AgainstHost, "against-host", "", "compare with this host (built from the same image) instead of a baseline")
				c.Flags().StringVar(&o.req.Baseline, "baseline", "", "the baseline period, FROM..TO")
				c.Flags().StringVar(&o.req.Window, "window", "", "the period to examine, FROM..TO")
				c.Flags().BoolVar(&o.req.Disappeared, "disappeared", false, "also list what the window no longer has")
				c.Flags().StringSliceVar(&o.req.Categories, "category", nil, "only these categories, comma-separated (see above)")
			}},
		{name: "sweep", use: "sweep [--ioc VALUE]... [IOC_FILE]", short: "Sweep the fleet for IoCs (paths, file names, hashes, IPs, CIDRs, domains, command-line substrings): hits by host",
			long: `Sweep every host of the organization for indicators of compromise, given
with --ioc (repeatable) or in IOC_FILE: one IoC a line; blank lines and lines
starting with # are skipped. Each IoC's kind is inferred from its value, or
given as kind:value. The kinds, and where each is looked for:

  sha256     a SHA-256 hash (64 hex digits): the original events
  sha1       a SHA-1 hash (40 hex digits): the original events
  md5        an MD5 hash (32 hex digits): the original events
  ip         an IPv4 or IPv6 address: src_ip, dst_ip
  cidr       an IPv4 network, 203.0.113.0/24: src_ip, dst_ip
  domain     a DNS name, evil.example: arguments, the original events
  path       an absolute path, /tmp/x or C:\x: exe, parent_exe, path, the original events
  filename   a file's base name, mimikatz.exe or a known tool (nmap): exe, path
  cmdline    anything else: a substring of the command line (arguments)

hash:, ipv4:, ipv6:, net:, fqdn:, file: and cmd: are accepted as kinds too.
An IoC file:

  # seed 000's attacker
  /tmp/sliver
  nmap
  45.33.32.156
  cmdline:curl -s http://
  sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08

Hits come by host and IoC: the fields it matched, first and last seen, count.`,
			example: `  # Seed 000: is anyone else compromised?
  spoor sweep --ioc nmap --ioc sliver

  # The IoCs of a file, over the last 30 days, as CSV
  spoor sweep --since 30d --format csv iocs.txt
  spoor sweep --ioc cidr:203.0.113.0/24 --ioc domain:evil.example`,
			args: cobra.MaximumNArgs(1), flags: func(c *cobra.Command, o *huntOptions) {
				timeFlags(c, o)
				c.Flags().StringSliceVar(&o.req.IoCs, "ioc", nil, "an IoC (repeatable; kind:value gives the kind, see above)")
			}, positional: func(o *huntOptions, a []string) {
				if len(a) == 1 {
					o.iocFile = a[0]
				}
			}},
		{name: "sessions", use: "sessions --host H", short: "Logon sessions of a host (auditd, logins, Windows logon ids): user, source, external or not, start, end, processes",
			example: `  # Seed 000: how the attacker came in (external sessions are the suspects)
  spoor sessions --host b0f6bdb2-9904-11e9-b036-25972ec55a45 --since 2020-02-14T14:00:00Z --until 2020-02-14T16:00:00Z
  spoor sessions --host web01 --since 24h --format csv`,
			args: cobra.NoArgs, flags: func(c *cobra.Command, o *huntOptions) { host(c, o); timeFlags(c, o) }},
		{name: "tree", use: "tree --host H --session S | --pid P", short: "The processes of a session, or under a pid, as a tree (reused pids kept apart by time)",
			example: `  # What was run in a logon session (its id from spoor sessions)
  spoor tree --host web01 --session 104 --since 2020-11-10 --until 2020-11-11

  # Everything under one process
  spoor tree --host web01 --pid 1631 --since 2020-11-10 --until 2020-11-11`,
			args: cobra.NoArgs, flags: func(c *cobra.Command, o *huntOptions) {
				host(c, o)
				timeFlags(c, o)
				c.Flags().Int64Var(&o.req.Session, "session", 0, "session id (auditd ses, Windows logon id)")
				c.Flags().Int64Var(&o.req.PID, "pid", 0, "the process whose subtree to print")
			}},
		{name: "cluster", use: "cluster [QUERY]", short: "Compress repetitive events into distinct patterns (numbers, hex, uuids, temp names normalised), rare first",
			example: `  # The distinct command lines run, rarest first
  spoor cluster 'event_type = "audit" AND syscall = "execve"'

  # The executables seen in the last week
  spoor cluster --field exe --since 7d`,
			args: cobra.MaximumNArgs(1), flags: func(c *cobra.Command, o *huntOptions) {
				timeFlags(c, o)
				c.Flags().StringVar(&o.req.Field, "field", "", "the text to cluster (default arguments, else exe)")
			}, positional: func(o *huntOptions, a []string) {
				if len(a) == 1 {
					o.req.Query = a[0]
				}
			}},
		{name: "timeline", use: "timeline [QUERY]", short: "Counts per time bucket and event type, alerts marked; --plot FILE.svg draws it",
			long: `Count the events QUERY matches (every event without one) per time bucket
and event type, with the alerts that started in each bucket, on the hosts of
those events, counted and their rules named.

--bucket is the bucket width, a duration: a number and a unit, s, m or h (Go's
durations: 30s, 15m, 1h, 1h30m), d for days or w for weeks (1d, 1w). Without it
the width is the smallest round one (1s, 2s, 5s, ... 1h, 2h, 3h, 6h, 12h, 1d,
2d, 1w, 30d) that cuts the events' span into at most about 60 buckets. Buckets
are aligned to multiples of their width since the epoch (UTC); a timeline has
at most 10,000 of them.`,
			example: `  # Seed 000's host, hour by hour around the compromise
  spoor timeline --since 2020-02-14 --until 2020-02-17 --bucket 1h 'agent_id = "b0f6bdb2-9904-11e9-b036-25972ec55a45"'

  # Logins per day, drawn as a chart
  spoor timeline --bucket 1d --plot logins.svg 'event_type = "login"'`,
			args: cobra.MaximumNArgs(1), flags: func(c *cobra.Command, o *huntOptions) {
				timeFlags(c, o)
				c.Flags().StringVar(&o.req.Bucket, "bucket", "", "bucket width: 30s, 15m, 1h, 1d, 1w (default: about 60 buckets)")
				c.Flags().StringVar(&o.plot, "plot", "", "also write the chart as SVG to this file")
			}, positional: func(o *huntOptions, a []string) {
				if len(a) == 1 {
					o.req.Query = a[0]
				}
			}},
		{name: "talkers", use: "talkers ADDRESS", short: "Who talked to an address: hosts, direction, ports, first and last seen",
			example: `  # Which hosts talked to the attacker's address
  spoor talkers 45.33.32.156

  # To a network, in the last 30 days
  spoor talkers --since 30d 203.0.113.0/24`,
			args: cobra.ExactArgs(1), flags: timeFlags, positional: func(o *huntOptions, a []string) { o.req.Addr = a[0] }},
		{name: "connections", use: "connections --host H", short: "A host's connections grouped by destination, external first",
			example: `  # Where seed 000's host connected to after the compromise
  spoor connections --host b0f6bdb2-9904-11e9-b036-25972ec55a45 --since 2020-02-14 --until 2020-02-17
  spoor connections --host web01 --since 24h --format json`,
			args: cobra.NoArgs, flags: func(c *cobra.Command, o *huntOptions) { host(c, o); timeFlags(c, o) }},
		{name: "logins", use: "logins [--host H]", short: "Failed and successful logons by source address and account (brute force): failures, successes, external or not, succeeded after N failures",
			example: `  # Logons across the fleet: brute force shows as many failures, then a success
  spoor logins
  spoor logins --host web01 --since 24h --format csv`,
			args: cobra.NoArgs, flags: func(c *cobra.Command, o *huntOptions) { host(c, o); timeFlags(c, o) }},
	}
	var cmds []*cobra.Command
	for _, s := range specs {
		o := &huntOptions{}
		c := &cobra.Command{Use: s.use, Short: s.short, Long: s.long, Example: s.example, Args: s.args, RunE: func(cmd *cobra.Command, args []string) error {
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
