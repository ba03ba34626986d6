package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spoor-dev/spoor/internal/alert"
	"github.com/spoor-dev/spoor/internal/auth"
	"github.com/spoor-dev/spoor/internal/datadir"
	"github.com/spoor-dev/spoor/internal/detect"
	"github.com/spoor-dev/spoor/internal/engine"
	"github.com/spoor-dev/spoor/internal/lake"
	"github.com/spoor-dev/spoor/internal/rules"
	"github.com/spoor-dev/spoor/internal/server"
	"gopkg.in/yaml.v3"
)

type serveOptions struct {
	config   string
	data     string
	listen   string
	tlsCert  string
	tlsKey   string
	maxBody  int64
	flush    time.Duration
	memory   string
	maxSpill string
	reserve  string
	timeout  time.Duration
	shutdown time.Duration
	// query and ingest slots, and one organization's share of them
	maxQueries, orgQueries int
	maxIngests, orgIngests int
	operator               string
	rules                  string
	sigma                  []string
	webhook                string
	noDetect               bool
	// logTo takes the server's log (default stderr); onReady, when set,
	// is called with the URL once the server listens, instead of saying
	// so on stderr.
	logTo   io.Writer
	onReady func(url string)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func newServeCmd() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the HTTP API over a data directory",
		Long: `Serve API v1 over a data directory: POST /api/v1/events (durable ingest),
Splunk HEC, search, SQL, hunts, alerts and rules under /api/v1, /metrics,
GET /healthz (docs/api.md). Every call but GET /healthz needs a token (made
on this host with spoor token create) and sees its organization only.
Settings come from flags, then SPOOR_* variables, then --config.`,
		Example: `  # On this machine, with a token to ingest and one to hunt with
  spoor token create --org acme --role ingest --name agents
  spoor token create --org acme --role analyst --name alice
  spoor serve

  # On the network, over TLS, with Sigma rules and a webhook for alerts
  spoor serve --data /srv/spoor --listen 0.0.0.0:7878 --tls-cert cert.pem --tls-key key.pem --sigma sigma/rules --webhook https://hooks.example/spoor

  # Settings from a file (keys named like the flags)
  spoor serve --config /etc/spoor.yml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.config != "" {
				if err := applyConfig(cmd.Flags(), o.config); err != nil {
					return usageError{err}
				}
			}
			if o.shutdown <= 0 {
				return usagef("--shutdown-timeout must be more than 0, not %s", o.shutdown)
			}
			return runServe(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.config, "config", os.Getenv("SPOOR_CONFIG"), "YAML file of settings named like these flags ($SPOOR_CONFIG); flags and SPOOR_* variables win over it")
	f.StringVar(&o.data, "data", envOr("SPOOR_DATA", "./spoor-data"), "data directory ($SPOOR_DATA)")
	f.StringVar(&o.listen, "listen", envOr("SPOOR_LISTEN", "127.0.0.1:7878"), "address to listen on ($SPOOR_LISTEN)")
	f.StringVar(&o.tlsCert, "tls-cert", os.Getenv("SPOOR_TLS_CERT"), "TLS certificate file (with --tls-key)")
	f.StringVar(&o.tlsKey, "tls-key", os.Getenv("SPOOR_TLS_KEY"), "TLS key file")
	f.Int64Var(&o.maxBody, "max-body", 64<<20, "largest request body in bytes")
	f.DurationVar(&o.flush, "flush-every", 10*time.Second, "how often the head is written to parts")
	f.StringVar(&o.memory, "memory-limit", os.Getenv("SPOOR_MEMORY_LIMIT"), "memory the whole process may use, e.g. 4GB ($SPOOR_MEMORY_LIMIT; default 60% of RAM): DuckDB gets 2/3, Go's soft limit 1/4, and queries are interrupted (507) while the process is over it")
	f.StringVar(&o.maxSpill, "max-spill", os.Getenv("SPOOR_MAX_SPILL"), "disk DuckDB may spill to under DATA/tmp, e.g. 20GB ($SPOOR_MAX_SPILL; default 10% of free disk)")
	f.StringVar(&o.reserve, "disk-reserve", os.Getenv("SPOOR_DISK_RESERVE"), diskReserveUsage)
	f.IntVar(&o.maxQueries, "max-queries", 4, "searches and SQL running at once")
	f.IntVar(&o.orgQueries, "max-queries-per-org", 0, "of those, what one organization may hold (default half, rounded up)")
	f.IntVar(&o.maxIngests, "max-ingests", 16, "ingest requests in flight")
	f.IntVar(&o.orgIngests, "max-ingests-per-org", 0, "of those, what one organization may hold (default half, rounded up)")
	f.DurationVar(&o.timeout, "timeout", 60*time.Second, "query timeout")
	f.DurationVar(&o.shutdown, "shutdown-timeout", 10*time.Second, "how long a stop (SIGTERM, Ctrl-C) may take: requests still running after 3/4 of it are cut, then the head is flushed to parts; what is not flushed in time stays in the WAL and is replayed at the next start")
	f.StringVar(&o.operator, "operator-org", os.Getenv("SPOOR_OPERATOR_ORG"), "organization whose /metrics also shows what all share (the WAL), and whose admins edit the shared rules (?scope=shared)")
	f.StringVar(&o.rules, "rules", os.Getenv("SPOOR_RULES"), "rules directory: shared rules, and each organization's own under org/ORG/; reloaded within a second of a change (default DATA/rules)")
	f.StringSliceVar(&o.sigma, "sigma", nil, "more folders of Sigma rules to enable (a SigmaHQ checkout's rules/, say)")
	f.StringVar(&o.webhook, "webhook", os.Getenv("SPOOR_WEBHOOK"), "URL each new alert is POSTed to as JSON, retried until taken")
	f.BoolVar(&o.noDetect, "no-detect", false, "store events without evaluating rules")
	return cmd
}

func runServe(ctx context.Context, o serveOptions, stderr io.Writer) error {
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	reserve, err := parseReserve(o.reserve)
	if err != nil {
		return err
	}
	logTo := stderr
	if o.logTo != nil {
		logTo = o.logTo
	}
	log := slog.New(slog.NewTextHandler(logTo, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var srv *server.Server
	db, err := datadir.Open(ctx, o.data, datadir.Options{MemoryLimit: o.memory, MaxSpill: o.maxSpill, Timeout: o.timeout, Logger: log,
		Lake: lake.Options{FlushWanted: server.FlushWanted(&srv), FlushWorkers: 1, DiskReserve: reserve}})
	if err != nil {
		return err
	}
	// The server's shutdown flushes the head within --shutdown-timeout;
	// what it could not flush stays in the WAL, not for a flush here
	// without a bound.
	defer db.CloseUnflushed()
	setGoMemoryLimit(db.Engine.Memory(), log)
	for _, p := range db.Lake.Problems() {
		log.Warn("recovered", "problem", p.String())
	}
	tokens, err := auth.Open(filepath.Join(o.data, "tokens.json"))
	if err != nil {
		return err
	}
	sopts := server.Options{Listen: o.listen, MaxBodyBytes: o.maxBody, FlushEvery: o.flush, TLSCert: o.tlsCert, TLSKey: o.tlsKey, Logger: log, OperatorOrg: o.operator,
		MaxQueries: o.maxQueries, MaxQueriesPerOrg: o.orgQueries, MaxIngests: o.maxIngests, MaxIngestsPerOrg: o.orgIngests, Console: true,
		ShutdownWait: o.shutdown}
	if !o.noDetect && db.Alerts != nil {
		dir, err := rules.OpenDir(rulesDirOf(o.data, o.rules))
		if err != nil {
			return err
		}
		var hook *alert.Webhook
		if o.webhook != "" {
			hook = alert.NewWebhook(o.webhook, db.Alerts, log)
			go hook.Run(ctx)
		}
		sopts.Detector = detect.New(dir, db.Alerts, hook, log, o.sigma...)
		sopts.Rules = dir
		go sopts.Detector.Watch(ctx)
	}
	srv = server.New(db, tokens, sopts)
	return srv.Run(ctx, func(addr string) {
		url := "http://" + addr
		if o.tlsCert != "" {
			url = "https://" + addr
		}
		if o.onReady != nil {
			o.onReady(url)
			return
		}
		fmt.Fprintf(stderr, "spoor: serving %s on %s\n", o.data, url)
	})
}

// setGoMemoryLimit sets Go's soft memory limit to its share of the
// budget, unless GOMEMLIMIT set one: the collector then works harder as the
// heap nears it instead of letting it double.
func setGoMemoryLimit(m engine.Memory, log *slog.Logger) {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(m.Go)
	}
	log.Info("memory", "process_bytes", m.Process, "duckdb_bytes", m.DuckDB, "go_soft_limit_bytes", debug.SetMemoryLimit(-1))
}

// applyConfig sets, from a YAML file of flag names and values, every flag
// that neither the command line nor its SPOOR_* variable set:
// flags > environment > config file > defaults.
func applyConfig(fs *pflag.FlagSet, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	var conf map[string]any
	if err := yaml.Unmarshal(b, &conf); err != nil {
		return fmt.Errorf("--config %s: %w", path, err)
	}
	for key, v := range conf {
		name := strings.ReplaceAll(key, "_", "-")
		f := fs.Lookup(name)
		if f == nil || name == "config" {
			return fmt.Errorf("--config %s: unknown setting %q", path, key)
		}
		env := "SPOOR_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		if f.Changed || os.Getenv(env) != "" {
			continue
		}
		vals := []any{v}
		if list, ok := v.([]any); ok { // a repeatable flag: each item
			vals = list
		}
		for _, v := range vals {
			if err := fs.Set(name, fmt.Sprint(v)); err != nil {
				return fmt.Errorf("--config %s: %s: %w", path, key, err)
			}
		}
	}
	return nil
}
