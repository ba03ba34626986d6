package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spoor-dev/spoor/internal/event"
	"github.com/spoor-dev/spoor/internal/export"
)

type exportOptions struct {
	data         dataFlags
	to           string
	orgs         []string
	since, until string
	force        bool
}

func newExportCmd() *cobra.Command {
	var o exportOptions
	cmd := &cobra.Command{
		Use:   "export --to DIR [flags]",
		Short: "Copy events out as Hive-partitioned Parquet that Spark, Athena, Trino and DuckDB read",
		Long: `Copy the events of every organization (or those named with --org) out of the
data directory as

  DIR/events/organization_id=ORG/date_key=YYYY-MM-DD-HH/part-<ULID>.parquet

zstd Parquet with the columns of the events view (organization_id and
date_key only in the path), rows sorted by agent_id then event_time, and raw
holding the whole original event. "spoor lake ddl" prints the table
definition each engine needs to read it.

Each organization is written aside and renamed into place when whole. An
organization exported before is refused unless --force, which replaces its
directory. Events only: alerts are not exported yet. s3:// destinations are
not supported yet: export to a directory, then copy it (aws s3 sync).`,
		Example: `  # Every organization, then read the copy with DuckDB
  spoor export --data ./spoor-data --to ./spoor-export
  spoor lake ddl --engine duckdb --location ./spoor-export

  # One organization's September, replacing its earlier export
  spoor export --to /mnt/share/export --org acme --since 2020-09-01 --until 2020-10-01 --force`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runExport(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	def := os.Getenv("SPOOR_DATA")
	if def == "" {
		def = "./spoor-data"
	}
	f := cmd.Flags()
	f.StringVar(&o.data.Dir, "data", def, "data directory ($SPOOR_DATA)")
	f.StringVar(&o.to, "to", "", "directory to write the export to (created if needed)")
	f.StringArrayVar(&o.orgs, "org", nil, "organization to export; repeat for several (default: all)")
	f.StringVar(&o.since, "since", "", "earliest event time to export")
	f.StringVar(&o.until, "until", "", "latest event time to export")
	f.BoolVar(&o.force, "force", false, "replace the earlier export of an organization")
	f.StringVar(&o.data.Memory, "memory-limit", "", "memory the process may use, e.g. 4GB (default 60% of RAM; DuckDB gets 2/3 of it)")
	f.DurationVar(&o.data.Timeout, "timeout", 10*time.Minute, "bound on writing one organization's hour")
	return cmd
}

func runExport(ctx context.Context, o exportOptions, stdout, stderr io.Writer) error {
	switch {
	case o.to == "":
		return usagef("name the directory to export to with --to DIR")
	case strings.Contains(o.to, "://"):
		return usagef("--to %s: exporting to object storage is not yet supported: export to a directory, then copy it (aws s3 sync DIR s3://bucket/prefix)", o.to)
	}
	from, to, err := timeRange(o.since, o.until)
	if err != nil {
		return err
	}
	out, err := filepath.Abs(o.to)
	if err != nil {
		return err
	}
	db, err := o.data.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close(context.WithoutCancel(ctx))
	held := db.Lake.Orgs()
	orgs := slices.Compact(slices.Sorted(slices.Values(o.orgs))) // each once
	if len(orgs) == 0 {
		orgs = held
		if len(orgs) == 0 {
			return fmt.Errorf("the data directory %s holds no events", o.data.Dir)
		}
	}
	for _, org := range orgs {
		if !slices.Contains(held, org) {
			return usagef("the data directory %s holds no organization %q (it holds %s)", o.data.Dir, org, listSome(held, 10))
		}
	}
	start := time.Now()
	sum, err := export.Run(ctx, db, export.Options{
		Dir: out, Orgs: orgs, From: from, To: min(to, event.MaxTime), Force: o.force,
		// DuckDB writes only under the lake; the data directory empties
		// export/ when it opens, so a crash leaves nothing there for long.
		Staging: filepath.Join(db.Lake.LakeDir(), "export"),
		Progress: func(p export.Progress) {
			what := "no events in range"
			if p.Events > 0 {
				what = fmt.Sprintf("%s in %s (%s)", count(p.Events, "event"), count(p.Files, "file"), bytesHuman(float64(p.Bytes)))
			}
			fmt.Fprintf(stderr, "export: organization %d of %d, %s: %s\n", p.I, p.N, p.Org, what)
		},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exported %s, %s in %s (%s) to %s in %s\n", count(int64(sum.Orgs), "organization"),
		count(sum.Events, "event"), count(sum.Files, "file"), bytesHuman(float64(sum.Bytes)),
		filepath.Join(out, "events"), time.Since(start).Round(time.Millisecond))
	fmt.Fprintf(stdout, "read it with the table spoor prints: spoor lake ddl --engine duckdb|athena|trino|spark --location %s\n", out)
	return nil
}

// listSome names up to n of names, and how many more there are.
func listSome(names []string, n int) string {
	if len(names) == 0 {
		return "none"
	}
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(" and %d more", len(names)-n)
}
