package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spoor-dev/spoor/internal/detect"
	"github.com/spoor-dev/spoor/internal/rules"
)

type rulesOptions struct {
	data         dataFlags
	rulesDir     string
	since, until string
	format       string
}

func newRulesCmd() *cobra.Command {
	var o rulesOptions
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List the detection rules, and backtest a rule over stored history before it goes live",
		Example: `  spoor rules list
  spoor rules test --since 30d my-rule.yml
  spoor rules lint`,
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the shared rules and each organization's own (--org: that one's), native and Sigma, and the files that do not load",
		Example: `  spoor rules list
  spoor rules list --org acme --rules /etc/spoor/rules`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRulesList(o, cmd.OutOrStdout())
		},
	}
	test := &cobra.Command{
		Use:   "test [flags] RULE_FILE",
		Short: "Backtest a rule (native with its suppressions, or Sigma) over stored events: alerts it would raise, on which hosts, samples",
		Example: `  # A new rule over the last 30 days
  spoor rules test my-rule.yml

  # A SigmaHQ rule over a month of 2020, as JSON
  spoor rules test --since 2020-09-01 --until 2020-10-01 --format json sigma/rules/windows/process_access/proc_access_win_lsass_memdump.yml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRulesTest(cmd.Context(), o, args[0], cmd.OutOrStdout())
		},
	}
	lint := &cobra.Command{
		Use:   "lint",
		Short: "Check the rules: files that do not load, and suppressions that are too broad or keyed on per-event fields",
		Example: `  spoor rules lint
  spoor rules lint --rules /etc/spoor/rules`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRulesLint(o, cmd.OutOrStdout())
		},
	}
	test.Flags().StringVar(&o.since, "since", "30d", "earliest event time (RFC 3339, epoch ms, YYYY-MM-DD or a duration ago)")
	test.Flags().StringVar(&o.until, "until", "", "latest event time")
	test.Flags().StringVar(&o.format, "format", "text", "text or json")
	for _, c := range []*cobra.Command{list, test, lint} {
		o.data.add(c)
		c.Flags().StringVar(&o.rulesDir, "rules", "", "rules directory (default DATA/rules)")
		cmd.AddCommand(c)
	}
	return cmd
}

func rulesDirOf(data, flag string) string {
	if flag != "" {
		return flag
	}
	return filepath.Join(data, "rules")
}

// scopedRules is what rules list and lint show: the shared rules and the
// organizations' own (--org's only when it is set).
type scopedRules struct {
	origin string // "" for the shared rules, else "org <name>"
	rules  []*rules.Rule
	set    *detect.Set
}

func loadScoped(o rulesOptions) ([]scopedRules, error) {
	dir, err := rules.OpenDir(rulesDirOf(o.data.Dir, o.rulesDir))
	if err != nil {
		return nil, err
	}
	shared := detect.Load(dir)
	rs, _ := dir.Load()
	out := []scopedRules{{rules: rs, set: shared}}
	taken := map[string]bool{}
	for _, r := range rs {
		taken[r.Name] = true
	}
	orgs := dir.Orgs()
	if o.data.Org != "" {
		orgs = []string{o.data.Org}
	}
	for _, org := range orgs {
		od, err := dir.Org(org)
		if err != nil {
			return nil, usageError{err}
		}
		all, _ := od.Load()
		var rs []*rules.Rule
		for _, r := range all {
			if !taken[r.Name] { // not loaded: a problem says why
				r.Source = path.Join(rules.OrgsDir, org, r.Source)
				rs = append(rs, r)
			}
		}
		set := detect.LoadOrg(od, shared)
		for i := range set.Problems {
			set.Problems[i].File = path.Join(rules.OrgsDir, org, set.Problems[i].File)
		}
		out = append(out, scopedRules{origin: "org " + org, rules: rs, set: set})
	}
	return out, nil
}

func runRulesList(o rulesOptions, out io.Writer) error {
	scopes, err := loadScoped(o)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%-32s %-10s %-3s %-8s %-16s %-10s %s\n", "NAME", "TYPE", "SEV", "ENABLED", "ORIGIN", "TECHNIQUE", "TITLE")
	for _, sc := range scopes {
		for _, r := range sc.rules {
			origin := r.Origin
			if sc.origin != "" {
				origin = sc.origin
			}
			tech := r.Technique
			if tech == "" {
				tech = "-"
			}
			fmt.Fprintf(out, "%-32s %-10s %-3d %-8v %-16s %-10s %s\n", r.Name, r.Type, r.Severity, r.Enabled, origin, tech, r.Title)
		}
	}
	for _, sc := range scopes {
		n, sg, p := sc.set.Stats()
		what := "shared"
		if sc.origin != "" {
			what = sc.origin
		}
		fmt.Fprintf(out, "\n%s: %d native rules enabled, %d Sigma rules, %d not loaded\n", what, n, sg, p)
		for _, pr := range sc.set.Problems {
			fmt.Fprintf(out, "  %s: %s\n", pr.File, pr.Err)
		}
	}
	return nil
}

// runRulesLint prints the warnings of every rule in scope (suppressions
// keyed on per-event fields, too coarse, ...) and the files that do not
// load; those fail it.
func runRulesLint(o rulesOptions, out io.Writer) error {
	scopes, err := loadScoped(o)
	if err != nil {
		return err
	}
	problems, warnings := 0, 0
	for _, sc := range scopes {
		for _, r := range sc.rules {
			for _, w := range rules.Lint(r) {
				warnings++
				fmt.Fprintf(out, "warning: %s: %s\n", r.Source, w)
			}
		}
		for _, pr := range sc.set.Problems {
			problems++
			fmt.Fprintf(out, "error: %s: %s\n", pr.File, pr.Err)
		}
	}
	fmt.Fprintf(out, "%d warning(s), %d rule file(s) not loaded\n", warnings, problems)
	if problems > 0 {
		return fmt.Errorf("%d rule file(s) do not load", problems)
	}
	return nil
}

func runRulesTest(ctx context.Context, o rulesOptions, file string, out io.Writer) error {
	if o.format != "text" && o.format != "json" {
		return usagef("unknown --format %q (want text or json)", o.format)
	}
	text, err := os.ReadFile(file)
	if err != nil {
		return usagef("%v", err)
	}
	sigmaRule := detect.IsSigma(text)
	var r *rules.Rule
	if !sigmaRule {
		if r, err = rules.ParseRule(text, file); err != nil {
			return usageError{err}
		}
	}
	var bt *detect.Backtest
	if c, err := o.data.client(); err != nil {
		return err
	} else if c != nil {
		bt = new(detect.Backtest)
		if err := c.JSON(ctx, "POST", "/api/v1/rules/test", map[string]string{"rule": string(text), "since": o.since, "until": o.until}, bt); err != nil {
			return err
		}
	} else {
		from, to, err := timeRange(o.since, o.until)
		if err != nil {
			return err
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
		if sigmaRule {
			bt, err = detect.RunSigmaBacktest(ctx, db, org, text, from, to)
		} else {
			bt, err = detect.RunBacktest(ctx, db, org, r, from, to)
		}
		if err != nil {
			return err
		}
	}
	if o.format == "json" {
		b, _ := json.MarshalIndent(bt, "", "  ")
		_, err := fmt.Fprintln(out, string(b))
		return err
	}
	fmt.Fprintf(out, "rule %s over %s .. %s (%s):\n", bt.Rule, bt.From.Format(time.RFC3339), bt.To.Format(time.RFC3339), bt.Took.Round(time.Millisecond))
	fmt.Fprintf(out, "  matched:    %d events\n  suppressed: %d of them\n  alerts:     %d would have been raised\n", bt.Matched, bt.Suppressed, bt.Alerts)
	for _, h := range bt.Hosts {
		fmt.Fprintf(out, "    %-40s %d events, %d suppressed\n", h.Hostname, h.Events, h.Suppressed)
	}
	for _, s := range bt.Samples {
		b, _ := json.Marshal(s)
		fmt.Fprintf(out, "  sample: %s\n", b)
	}
	for _, s := range bt.Hidden {
		b, _ := json.Marshal(s)
		fmt.Fprintf(out, "  suppressed sample: %s\n", b)
	}
	for _, w := range bt.Warnings {
		fmt.Fprintf(out, "  warning: %s\n", strings.TrimSpace(w))
	}
	return nil
}
