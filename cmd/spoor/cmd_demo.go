package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spoor-dev/spoor/internal/auth"
	"github.com/spoor-dev/spoor/internal/demodata"
	"github.com/spoor-dev/spoor/internal/gen"
	"github.com/spoor-dev/spoor/internal/hunt/analysis"
)

type demoOptions struct {
	data    string
	hosts   int
	rate    float64
	seed    uint64
	listen  string
	noServe bool
	real    string
	bin     string // how the user runs spoor, for the commands shown (default "spoor")
}

func newDemoCmd() *cobra.Command {
	var o demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Load a realistic fleet with attack scenarios, walk through the seed-000 investigation, then serve it",
		Long: `Generate a fleet's telemetry with the seeds' attacks planted and ingest it
(streamed, never written whole to disk), walk through the seed-000
investigation, then ingest real public telemetry shipped in spoor (Sysmon,
Security, CloudTrail, raw auditd) with spoor's and SigmaHQ's rules, answer
seeds 004 and 001 on it, and serve it all: an analyst token and commands to
try come last. The server's log goes to DATA/serve.log.`,
		Example: `  spoor demo

  # A bigger fleet elsewhere, served on another port
  spoor demo --data /tmp/demo --hosts 50 --listen 127.0.0.1:8080

  # Only the walkthrough, over a folder of real telemetry laid out as ../shared/datasets
  spoor demo --no-serve --datasets ../shared/datasets`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.bin = invokedAs()
			return runDemo(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	def := os.Getenv("SPOOR_DATA")
	if def == "" {
		def = "./spoor-data"
	}
	cmd.Flags().StringVar(&o.data, "data", def, "data directory ($SPOOR_DATA)")
	cmd.Flags().IntVar(&o.hosts, "hosts", gen.DefaultHosts, "hosts in the fleet")
	cmd.Flags().Float64Var(&o.rate, "rate", 200, "events per host per hour")
	cmd.Flags().Uint64Var(&o.seed, "seed", 1, "random seed of the fleet")
	cmd.Flags().StringVar(&o.listen, "listen", "127.0.0.1:7878", "where to serve the demo data")
	cmd.Flags().BoolVar(&o.noServe, "no-serve", false, "stop after the walkthrough instead of serving")
	cmd.Flags().StringVar(&o.real, "datasets", "", "folder of real public telemetry to ingest and query too, laid out as ../shared/datasets (default: the set shipped in spoor, written to DATA/datasets)")
	return cmd
}

// demoStep is one step of the walkthrough: what the analyst asks and the
// command that answers it.
type demoStep struct {
	say    string
	search string // filter-language query, or
	sql    string // SQL over the events view, or
	hunt   string // a hunting analysis, with its command-line flags and request
	args   string
	req    analysis.Request
	fields string
}

// seed000NewExecsSQL and seed000SweepSQL are seed 000's first and last
// questions as SQL, the way a notebook asks them; the walkthrough asks
// them with spoor diff and spoor sweep.
const seed000NewExecsSQL = `SELECT exe, count(*) AS runs, min(event_time) AS first_seen
FROM events
WHERE organization_id = '5a8c4a54e11909bd290021ed' AND agent_id = 'b0f6bdb2-9904-11e9-b036-25972ec55a45'
  AND date_key >= '2020-02-14-00' AND date_key < '2020-02-17-00' AND event_type = 'audit' AND syscall = 'execve'
  AND exe NOT IN (SELECT exe FROM events WHERE agent_id = 'b0f6bdb2-9904-11e9-b036-25972ec55a45'
                  AND date_key >= '2020-02-05-00' AND date_key < '2020-02-14-00' AND exe IS NOT NULL)
GROUP BY exe ORDER BY first_seen`

const seed000SweepSQL = `SELECT hostname, agent_id, count(*) AS hits, min(event_time) AS first_seen, max(event_time) AS last_seen
FROM events
WHERE date_key >= '2020-01-01' AND date_key <= '2020-02-29' AND event_type = 'audit' AND syscall = 'execve'
  AND (exe LIKE '%nmap%' OR exe LIKE '%sliver%')
GROUP BY ALL ORDER BY first_seen`

const seed000Host = "b0f6bdb2-9904-11e9-b036-25972ec55a45"

var seed000Walkthrough = []demoStep{
	{say: `Seed 000: "Has this host been compromised? Did this host always do this?"
Host b0f6bdb2-9904-11e9-b036-25972ec55a45 was compromised on Valentine's Day 2020.
What did it do on 2020-02-14..16 that it never did in the nine days before? (fleet_hosts: how many hosts ever did it)`,
		hunt: "diff", args: "--host " + seed000Host + " --baseline 2020-02-05..2020-02-14 --window 2020-02-14..2020-02-17 --category executable,command,outbound",
		req: analysis.Request{Host: seed000Host, Baseline: "2020-02-05..2020-02-14", Window: "2020-02-14..2020-02-17", Categories: []string{"executable", "command", "outbound"}}},
	{say: "How the attacker came in: the host's logon sessions that day (external ones are the suspects):",
		hunt: "sessions", args: "--host " + seed000Host + " --since 2020-02-14T14:00:00Z --until 2020-02-14T16:00:00Z",
		req: analysis.Request{Host: seed000Host, Since: "2020-02-14T14:00:00Z", Until: "2020-02-14T16:00:00Z"}},
	{say: "What the attacker ran in the longest external session, as a process tree:",
		hunt: "tree", req: analysis.Request{Host: seed000Host, Since: "2020-02-14T14:00:00Z", Until: "2020-02-14T16:00:00Z"}},
	{say: "Where it connected to, external destinations first:",
		hunt: "connections", args: "--host " + seed000Host + " --since 2020-02-14 --until 2020-02-17",
		req: analysis.Request{Host: seed000Host, Since: "2020-02-14", Until: "2020-02-17"}},
	{say: "Is anyone else compromised? The same IoCs (nmap, sliver) swept across every host:",
		hunt: "sweep", args: "--ioc nmap --ioc sliver", req: analysis.Request{IoCs: []string{"nmap", "sliver"}}},
}

// seed004SQL is seed 004's notebook analysis as one statement: Sysmon 10
// (process access; the GUID spelled SourceProcessGUID) joined with Sysmon
// 11 (file created; ProcessGuid), accesses to lsass.exe with at least the
// MiniDumpWriteDump rights 0x1410 (5136), and a .dmp file written. The
// README shows the same statement; a test holds them equal.
const seed004SQL = `WITH access AS (
  SELECT hostname, exe AS source_image, raw->>'TargetImage' AS target_image,
         raw->>'GrantedAccess' AS granted_access, raw->>'SourceProcessGUID' AS guid
  FROM events
  WHERE event_type = 'sysmon' AND win_event_id = 10
    AND lower(raw->>'TargetImage') LIKE '%\lsass.exe'
    AND (CAST(raw->>'GrantedAccess' AS INTEGER) & 5136) = 5136  -- 0x1410
), dumps AS (
  SELECT raw->>'ProcessGuid' AS guid, raw->>'TargetFilename' AS dump_file
  FROM events
  WHERE event_type = 'sysmon' AND win_event_id = 11 AND lower(raw->>'TargetFilename') LIKE '%.dmp'
)
SELECT DISTINCT a.hostname, a.source_image, a.target_image, a.granted_access, d.dump_file
FROM access a JOIN dumps d ON a.guid = d.guid
ORDER BY a.granted_access`

// realWalkthrough runs over the shared real telemetry, when it is there.
var realWalkthrough = []demoStep{
	{say: `Seed 004, on real Sysmon data (OTRF's Task Manager LSASS dump over RDP): which process opened lsass.exe
with the rights MiniDumpWriteDump needs and then wrote a .dmp file?`, sql: seed004SQL},
	{say: "Seed 001 on real CloudTrail (Stratus Red Team): the roles that were assumed, and how often:",
		sql: `SELECT user_arn, count(*) AS calls, count(DISTINCT event_name) AS distinct_calls
FROM events WHERE event_type = 'cloudtrail' AND user_type = 'AssumedRole'
GROUP BY user_arn ORDER BY calls DESC`},
	{say: "Raw auditd (OTRF Atomic tests): the commands run, with their working directory:",
		search: `event_type = "audit" AND syscall = "execve" AND hostname = "otrf-linux"`, fields: "event_time,exe,arguments,cwd,auid"},
}

func runDemo(ctx context.Context, o demoOptions, stdout, stderr io.Writer) error {
	if o.bin == "" {
		o.bin = "spoor"
	}
	if err := os.MkdirAll(o.data, 0o755); err != nil {
		return err
	}
	var err error
	if o.real, err = demoDatasets(o); err != nil {
		return err
	}
	if err := loadFleet(ctx, o, stdout, stderr); err != nil {
		return err
	}
	data := dataFlags{Dir: o.data, Org: demoOrg}
	if err := walk(ctx, o.bin, data, seed000Walkthrough, stdout); err != nil {
		return err
	}
	if err := realDemo(ctx, o, data, stdout, stderr); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nThe data is in %s; try: %s search --data %s 'event_type = \"login\" AND agent_id = \"436dd34c-f795-11ea-a752-21e3e3eb7c50\"'\n", o.data, o.bin, o.data)
	if o.noServe {
		return nil
	}
	tokens, err := auth.Open(filepath.Join(o.data, "tokens.json"))
	if err != nil {
		return err
	}
	analyst, _, err := tokens.Create(demoOrg, auth.Analyst, "demo analyst")
	if err != nil {
		return err
	}
	// The server logs to a file: what the user needs next (the token, the
	// commands) is the terminal's last word, printed once it listens.
	logFile := filepath.Join(o.data, "serve.log")
	lf, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer lf.Close()
	so := serveOptions{data: o.data, listen: o.listen, maxBody: 64 << 20, flush: 10 * time.Second, timeout: time.Minute, logTo: lf,
		onReady: func(url string) { fmt.Fprint(stdout, demoNextSteps(o.bin, url, analyst, logFile)) }}
	if st, err := os.Stat(sigmaRulesOf(o.real)); err == nil && st.IsDir() {
		so.sigma = []string{sigmaRulesOf(o.real)}
	}
	return runServe(ctx, so, stderr)
}

// loadFleet generates the demo fleet straight into the ingest, through a
// pipe: its 2 GiB of NDJSON are never written to disk. Only the labels of
// the attacks' events are, to DATA/demo-fleet.labels.ndjson.
func loadFleet(ctx context.Context, o demoOptions, stdout, stderr io.Writer) error {
	labels := filepath.Join(o.data, "demo-fleet.labels.ndjson")
	lf, err := os.Create(labels)
	if err != nil {
		return err
	}
	defer lf.Close()
	fmt.Fprintf(stderr, "generating a %d-host fleet with the seed scenarios straight into the ingest ...\n", o.hosts)
	fmt.Fprintf(stdout, "$ %[1]s gen --seed %[2]d --hosts %[3]d --rate %[4]g --labels %[5]s | %[1]s ingest --data %[6]s -\n",
		o.bin, o.seed, o.hosts, o.rate, labels, o.data)
	pr, pw := io.Pipe()
	type result struct {
		st  gen.Stats
		err error
	}
	done := make(chan result, 1)
	go func() {
		bw := bufio.NewWriterSize(pw, 1<<20)
		st, err := gen.Generate(ctx, gen.Options{Seed: o.seed, Hosts: o.hosts, Rate: o.rate}, bw, lf)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err) // nil: the ingest reads to its end
		done <- result{st, err}
	}()
	err = runIngest(ctx, ingestOptions{data: dataFlags{Dir: o.data}, format: "auto", progress: isTerminal(os.Stderr), stdin: pr}, []string{"-"}, stdout, stderr)
	pr.CloseWithError(errors.New("the ingest stopped")) // unblocks the generator if the ingest ended early
	g := <-done
	if g.err != nil {
		return fmt.Errorf("generate fleet: %w", g.err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "  generated %d events, %s (labels of the attacks' events in %s)\n", g.st.Events, bytesHuman(float64(g.st.Bytes)), labels)
	return nil
}

// demoOrg is the organization of gen's fleet (seed 000's).
const demoOrg = "5a8c4a54e11909bd290021ed"

// walk runs the steps of a walkthrough, each printed with its command
// (spoor run as bin).
func walk(ctx context.Context, bin string, data dataFlags, steps []demoStep, stdout io.Writer) error {
	for _, s := range steps {
		fmt.Fprintf(stdout, "\n%s\n", s.say)
		var err error
		if s.hunt == "tree" && s.req.Session == 0 {
			// The session to draw is the external one with most processes.
			if s.req.Session, err = externalSession(ctx, data, s.req); err != nil {
				return err
			}
			s.args = fmt.Sprintf("--host %s --session %d --since %s --until %s", s.req.Host, s.req.Session, s.req.Since, s.req.Until)
		}
		if s.hunt != "" {
			fmt.Fprintf(stdout, "$ %s %s %s\n", bin, s.hunt, s.args)
			err = runHunt(ctx, s.hunt, huntOptions{data: data, req: s.req, format: "table"}, stdout)
		} else if s.sql != "" {
			fmt.Fprintf(stdout, "$ %s sql \"\n%s\"\n", bin, s.sql)
			err = runSQL(ctx, sqlOptions{data: data, format: "table"}, s.sql, stdout)
		} else {
			fmt.Fprintf(stdout, "$ %s search --fields %s '%s'\n", bin, s.fields, s.search)
			err = runSearch(ctx, searchOptions{data: data, format: "table", fields: s.fields, limit: 20}, s.search, stdout)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// externalSession finds the host's external logon session with the most
// processes in the request's time range.
func externalSession(ctx context.Context, data dataFlags, r analysis.Request) (int64, error) {
	db, err := data.open(ctx)
	if err != nil {
		return 0, err
	}
	defer db.Close(context.WithoutCancel(ctx))
	org, err := data.org(db)
	if err != nil {
		return 0, err
	}
	t, err := analysis.Run(ctx, db, org, "sessions", r)
	if err != nil {
		return 0, err
	}
	col := func(name string) int { return slices.Index(t.Columns, name) }
	si, ei, pi := col("session"), col("external"), col("processes")
	var best, most int64 = 0, -1
	for _, row := range t.Rows {
		ext, _ := row[ei].(bool)
		n, _ := row[pi].(int64)
		id, _ := row[si].(int64)
		if ext && n > most {
			best, most = id, n
		}
	}
	if most < 0 {
		return 0, fmt.Errorf("no external session on %s", r.Host)
	}
	return best, nil
}

// demoDatasets is the folder of real telemetry the demo reads: the one
// named by --datasets, else the set shipped in the binary, written under
// the data directory. The shipped set is the default even where
// ../shared/datasets exists, so the demo a clone runs is the one the tests
// run; --datasets points it at a larger folder.
func demoDatasets(o demoOptions) (string, error) {
	if o.real != "" {
		if st, err := os.Stat(o.real); err != nil || !st.IsDir() {
			return "", fmt.Errorf("--datasets %s: not a folder of real telemetry (leave the flag out for the set shipped in spoor)", o.real)
		}
		return o.real, nil
	}
	dir := filepath.Join(o.data, "datasets")
	if err := demodata.Extract(dir); err != nil {
		return "", fmt.Errorf("write the demo's real telemetry to %s: %w", dir, err)
	}
	return dir, nil
}

// realDemo ingests the real telemetry (Windows, Linux auditd, CloudTrail)
// into the demo's organization and walks through it.
func realDemo(ctx context.Context, o demoOptions, data dataFlags, stdout, stderr io.Writer) error {
	dirs := []string{filepath.Join(o.real, "windows"), filepath.Join(o.real, "cloudtrail")}
	sigmaHQ := sigmaRulesOf(o.real)
	fmt.Fprintf(stdout, "\nReal telemetry nobody here wrote: Sysmon and Security (NXLog JSON), CloudTrail, raw auditd,\nevaluated on the way in with spoor's rules and the SigmaHQ rules in %s.\n", sigmaHQ)
	fmt.Fprintf(stdout, "$ %s ingest --data %s --org %s --sigma %s %s\n", o.bin, o.data, demoOrg, sigmaHQ, strings.Join(dirs, " "))
	in := ingestOptions{data: data, format: "auto", sigma: []string{sigmaHQ}}
	if err := runIngest(ctx, in, dirs, stdout, stderr); err != nil {
		return err
	}
	linux := filepath.Join(o.real, "linux")
	fmt.Fprintf(stdout, "$ %s ingest --data %s --org %s --sigma %s --host otrf-linux %s\n", o.bin, o.data, demoOrg, sigmaHQ, linux)
	in.host = "otrf-linux"
	if err := runIngest(ctx, in, []string{linux}, stdout, stderr); err != nil {
		return err
	}
	if err := walk(ctx, o.bin, data, realWalkthrough, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nThe alerts the rules raised on the way in (native and Sigma), high severity first:\n$ %s alerts list --limit 25 'severity = 1'\n", o.bin)
	return runAlertsList(ctx, alertsOptions{data: data, format: "table", limit: 25}, "severity = 1", stdout)
}

// sigmaRulesOf is the SigmaHQ rules folder of the shared datasets.
func sigmaRulesOf(datasets string) string { return filepath.Join(datasets, "sigma", "rules") }
