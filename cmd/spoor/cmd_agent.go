package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spoor-dev/spoor/internal/agent"
	"github.com/spoor-dev/spoor/internal/agent/audit"
	"github.com/spoor-dev/spoor/internal/agent/fim"
	"github.com/spoor-dev/spoor/internal/agent/hostmeta"
	"github.com/spoor-dev/spoor/internal/agent/logins"
	"github.com/spoor-dev/spoor/internal/agent/ship"
	"github.com/spoor-dev/spoor/internal/agent/source"
	"github.com/spoor-dev/spoor/internal/agent/spool"
	"github.com/spoor-dev/spoor/internal/engine"
)

// agentOptions are the settings of `spoor agent`.
type agentOptions struct {
	config         string
	server, token  string
	auditLog       string
	auditRules     string
	noDefaultRules bool
	fim            []string
	state          string
	out            string
	ca, cert, key  string
	noIMDS         bool
	noFIM          bool
	metrics        string
	spoolSize      string
	memory         string
	maxProcs       int
	batchEvents    int
	batchAge       time.Duration
	healthEvery    time.Duration
	statusEvery    time.Duration
	poll           time.Duration
	maxBackoff     time.Duration
}

const defaultAgentState = "/var/lib/spoor-agent"

func newAgentCmd() *cobra.Command {
	var o agentOptions
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Collect this host's audit events, file changes and logins and ship them to a spoor server",
		Long: `Collect this Linux host's audit events (the kernel's audit netlink socket, or
auditd's log with --audit-log), file changes (--fim paths), logins and host
metadata, with the host's identity, into a disk spool that survives restarts
and outages, and ship them to a spoor server over HTTP(S) with an ingest token
(or to an NDJSON file with --out). Every minute the agent reports its health,
with every event it lost and why (docs/agent.md).`,
		Example: `  # As root, with an ingest token made on the server (spoor token create --role ingest)
  spoor agent --server https://spoor.example.com:7878 --token $INGEST

  # auditd keeps the audit socket and its log: follow the log, watch a web root too
  spoor agent --server https://spoor.example.com:7878 --token $INGEST --audit-log /var/log/audit/audit.log --fim /etc --fim /srv/www

  # An air-gapped host: write NDJSON, carry it over, then spoor ingest it
  spoor agent --out /var/tmp/spoor-events.ndjson --no-imds`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.config != "" {
				if err := applyConfig(cmd.Flags(), o.config); err != nil {
					return usageError{err}
				}
			}
			return runAgent(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", os.Getenv("SPOOR_AGENT_CONFIG"), "YAML file of settings named like these flags ($SPOOR_AGENT_CONFIG); flags and SPOOR_* variables win over it")
	f.StringVar(&o.server, "server", os.Getenv("SPOOR_SERVER"), "the spoor server's URL, http(s)://host:port ($SPOOR_SERVER)")
	f.StringVar(&o.token, "token", os.Getenv("SPOOR_TOKEN"), "an ingest token of the server ($SPOOR_TOKEN)")
	f.StringVar(&o.auditLog, "audit-log", os.Getenv("SPOOR_AUDIT_LOG"), "follow this audit log (auditd's audit.log) instead of the kernel's audit socket")
	f.StringVar(&o.auditRules, "audit-rules", os.Getenv("SPOOR_AUDIT_RULES"), "audit rules to install, in auditctl syntax (with the audit socket)")
	f.BoolVar(&o.noDefaultRules, "no-default-rules", false, "install no default audit rules")
	f.StringArrayVar(&o.fim, "fim", nil, "watch this path for file changes (repeatable; replaces the default paths)")
	f.StringVar(&o.state, "state", envOr("SPOOR_STATE", defaultAgentState), "state directory: agent id, spool, read positions ($SPOOR_STATE)")
	f.StringVar(&o.out, "out", os.Getenv("SPOOR_OUT"), "append events to this NDJSON file instead of sending them (hosts with no uplink)")
	f.StringVar(&o.ca, "ca", os.Getenv("SPOOR_CA"), "PEM file of the CA certificates the server's certificate is checked against (default: the system's)")
	f.StringVar(&o.cert, "cert", os.Getenv("SPOOR_CERT"), "client certificate (PEM), with --key")
	f.StringVar(&o.key, "key", os.Getenv("SPOOR_KEY"), "client certificate's key (PEM)")
	f.BoolVar(&o.noFIM, "no-fim", false, "watch no files (audit, logins and host metadata only)")
	f.BoolVar(&o.noIMDS, "no-imds", false, "do not ask the cloud's instance metadata service who this host is")
	f.StringVar(&o.metrics, "metrics", os.Getenv("SPOOR_METRICS"), "serve Prometheus /metrics on this local address, e.g. 127.0.0.1:9101")
	f.StringVar(&o.spoolSize, "spool-size", envOr("SPOOR_SPOOL_SIZE", "1GiB"), "disk the spool may use; past it the oldest unsent events are dropped and counted")
	f.StringVar(&o.memory, "memory-limit", envOr("SPOOR_MEMORY_LIMIT", "64MiB"), "Go's soft memory limit (GOMEMLIMIT wins)")
	f.IntVar(&o.maxProcs, "max-procs", 1, "CPUs the agent may use at once (GOMAXPROCS wins)")
	f.IntVar(&o.batchEvents, "batch-events", ship.DefaultBatchEvents, "events in a batch")
	f.DurationVar(&o.batchAge, "batch-age", ship.DefaultBatchAge, "how long an event waits for its batch to fill")
	f.DurationVar(&o.healthEvery, "health-every", agent.DefaultHealthEvery, "how often the agent reports its health")
	f.DurationVar(&o.statusEvery, "status-every", agent.DefaultStatusEvery, "how often the status file is written")
	f.DurationVar(&o.poll, "poll", audit.DefaultPoll, "how often the audit log is looked at")
	f.DurationVar(&o.maxBackoff, "max-backoff", ship.DefaultMaxBackoff, "longest wait between retries of a batch")
	for _, hidden := range []string{"poll", "max-backoff", "status-every"} {
		f.MarkHidden(hidden)
	}
	cmd.AddCommand(newAgentStatusCmd())
	return cmd
}

func runAgent(ctx context.Context, o agentOptions, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if (o.server == "") == (o.out == "") {
		return usagef("give --server URL with --token, or --out FILE")
	}
	if o.server != "" && o.token == "" {
		return usagef("--server needs --token (or $SPOOR_TOKEN)")
	}
	if (o.cert == "") != (o.key == "") {
		return usagef("--cert and --key go together")
	}
	spoolBytes, err := engine.ParseBytes(o.spoolSize)
	if err != nil || spoolBytes < 64<<10 {
		return usagef("--spool-size %q: want a size of at least 64KiB, like 1GiB", o.spoolSize)
	}
	capResources(o, log)
	if err := os.MkdirAll(o.state, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	id, err := hostmeta.Load(o.state, hostmeta.Options{})
	if err != nil {
		return err
	}
	var sink ship.Sink
	if o.out != "" {
		sink, err = ship.NewFileSink(o.out)
	} else {
		sink, err = ship.NewHTTPSink(ship.HTTPOptions{Server: o.server, Token: o.token, CA: o.ca, Cert: o.cert, Key: o.key,
			UserAgent: "spoor-agent/" + agentVersion()})
	}
	if err != nil {
		return usageError{err}
	}
	opts := agent.Options{StateDir: o.state, Identity: id, Version: agentVersion(), Sink: sink, Server: o.server,
		Spool:       spool.Options{MaxBytes: spoolBytes},
		Ship:        ship.Options{BatchEvents: o.batchEvents, BatchAge: o.batchAge, MaxBackoff: o.maxBackoff},
		HealthEvery: o.healthEvery, StatusEvery: o.statusEvery, Logger: log}
	opts.ContainerOf = hostmeta.ContainerOf
	if !o.noIMDS {
		opts.CloudInfo = func(ctx context.Context) (map[string]string, error) {
			info, err := hostmeta.Cloud(ctx, hostmeta.CloudOptions{})
			if err != nil {
				return nil, err
			}
			out := map[string]string{}
			for k, v := range info.Fields() {
				out[k] = fmt.Sprint(v)
			}
			return out, nil
		}
	}
	a, err := agent.New(opts)
	if err != nil {
		return err
	}
	srcs, err := agentSources(o, id, a, log)
	if err != nil {
		return err
	}
	a.AddSources(srcs...)
	if o.metrics != "" {
		go func() {
			if err := a.ServeMetrics(ctx, o.metrics); err != nil {
				log.Error("metrics", "addr", o.metrics, "err", err)
			}
		}()
	}
	log.Info("agent started", "agent_id", id.AgentID, "hostname", id.Hostname, "state", o.state, "server", o.server, "out", o.out)
	return a.Run(ctx)
}

// agentSources makes the collectors: audit from the log named by
// --audit-log, else from the kernel's audit socket, else from auditd's log.
func agentSources(o agentOptions, id hostmeta.Identity, a *agent.Agent, log *slog.Logger) ([]source.Source, error) {
	follow := func(path string) source.Source {
		return audit.NewFollower(audit.FollowConfig{Path: path, Host: id.Hostname, Flushed: a.Flush, Poll: o.poll,
			PositionFile: filepath.Join(o.state, "audit-log-position.json"), Logger: log})
	}
	var srcs []source.Source
	if o.auditLog != "" {
		if o.auditRules != "" {
			log.Warn("--audit-rules applies to the audit socket, not to --audit-log: auditd installs its own rules")
		}
		srcs = append(srcs, follow(o.auditLog))
	} else {
		rules, err := auditRules(o)
		if err != nil {
			return nil, usageError{err}
		}
		nl, err := audit.OpenNetlink(audit.NetlinkConfig{Host: id.Hostname, Rules: rules, Logger: log})
		if err != nil {
			log.Warn("audit socket unavailable: following auditd's log instead", "err", err, "path", audit.DefaultLogPath)
			srcs = append(srcs, follow(audit.DefaultLogPath))
		} else {
			log.Info("audit: reading the kernel's audit socket", "multicast", nl.Multicast(), "rules", len(rules))
			srcs = append(srcs, nl)
		}
	}
	if !o.noFIM {
		srcs = append(srcs, fim.New(fim.Config{Paths: o.fim, StateDir: o.state, Flushed: a.Flush, Logger: log}))
	}
	// Logins come from audit (USER_LOGIN, USER_START, USER_END) where the
	// agent reads it; from auth.log or journald only where it does not.
	// wtmp's history is read either way.
	lc := logins.Config{StateDir: o.state, Flushed: a.Flush, Logger: log}
	if auditSeen(o, srcs) {
		lc.AuthLog, lc.Journalctl = logins.Off, logins.Off
	}
	srcs = append(srcs, logins.New(lc))
	return srcs, nil
}

// auditSeen reports whether the agent reads audit records: the kernel's
// socket, a named --audit-log, or auditd's own log where it exists.
func auditSeen(o agentOptions, srcs []source.Source) bool {
	if o.auditLog != "" {
		return true
	}
	for _, s := range srcs {
		if s.Name() == "audit-netlink" {
			return true
		}
	}
	_, err := os.Stat(audit.DefaultLogPath)
	return err == nil
}

// auditRules are the default rules (unless --no-default-rules) and those
// of --audit-rules, checked before anything is installed.
func auditRules(o agentOptions) ([]string, error) {
	var rules []string
	if !o.noDefaultRules {
		rules = append(rules, audit.DefaultRules...)
	}
	if o.auditRules != "" {
		b, err := os.ReadFile(o.auditRules)
		if err != nil {
			return nil, fmt.Errorf("--audit-rules: %w", err)
		}
		rules = append(rules, strings.Split(string(b), "\n")...)
	}
	if _, err := audit.ParseRules(rules); err != nil {
		return nil, fmt.Errorf("--audit-rules %s: %w", o.auditRules, err)
	}
	return rules, nil
}

// capResources applies --max-procs and --memory-limit unless the Go
// environment variables set them.
func capResources(o agentOptions, log *slog.Logger) {
	if os.Getenv("GOMAXPROCS") == "" && o.maxProcs > 0 {
		runtime.GOMAXPROCS(o.maxProcs)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		if n, err := engine.ParseBytes(o.memory); err == nil && n > 0 {
			debug.SetMemoryLimit(n)
		} else {
			log.Warn("--memory-limit ignored", "value", o.memory)
		}
	}
}

// agentVersion is the module version the binary was built from.
func agentVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += "+" + s.Value[:12]
		}
	}
	return v
}

func newAgentStatusCmd() *cobra.Command {
	var state, format string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print the agent's status: spool, lag, losses, last send",
		Example: `  spoor agent status
  spoor agent status --state /var/lib/spoor-agent --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAgentStatus(state, format, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&state, "state", envOr("SPOOR_STATE", defaultAgentState), "the agent's state directory ($SPOOR_STATE)")
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	return cmd
}

func runAgentStatus(state, format string, w io.Writer) error {
	if format != "table" && format != "json" {
		return usagef("--format %q: want table or json", format)
	}
	st, err := agent.ReadStatus(filepath.Join(state, agent.StatusFile))
	if err != nil {
		return err
	}
	if format == "json" {
		b, _ := json.MarshalIndent(st, "", "  ")
		_, err := fmt.Fprintf(w, "%s\n", b)
		return err
	}
	ms := func(v int64) string {
		if v == 0 {
			return "never"
		}
		return time.UnixMilli(v).UTC().Format(time.RFC3339)
	}
	state = "stopped"
	if st.Running {
		state = "running"
		if time.Since(time.UnixMilli(st.UpdatedAt)) > time.Minute {
			state = "not responding (status not updated since " + ms(st.UpdatedAt) + ")"
		}
	}
	rows := [][2]string{
		{"agent_id", st.AgentID}, {"hostname", st.Hostname}, {"version", st.AgentVersion}, {"state", state},
		{"server", st.Server}, {"started", ms(st.StartedAt)}, {"updated", ms(st.UpdatedAt)},
		{"spool", fmt.Sprintf("%d events, %d bytes", st.SpoolEvents, st.SpoolBytes)},
		{"lag", (time.Duration(st.LagMS) * time.Millisecond).String()}, {"last send", ms(st.LastSend)},
		{"sent", fmt.Sprint(st.Sent)}, {"lost", fmt.Sprint(st.LostTotal)},
	}
	if st.LastError != "" {
		rows = append(rows, [2]string{"last error", st.LastError})
	}
	for _, k := range agent.LossNames(st.Losses) {
		if st.Losses[k] != 0 {
			rows = append(rows, [2]string{"  " + strings.ReplaceAll(k, "_", " "), fmt.Sprint(st.Losses[k])})
		}
	}
	for _, r := range rows {
		if _, err := fmt.Fprintf(w, "%-12s %s\n", r[0], r[1]); err != nil {
			return err
		}
	}
	return nil
}
