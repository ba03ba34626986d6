package main

import (
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spoor-dev/spoor/internal/export"
)

func newLakeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "lake",
		Short:   "The lake's portable form: the table definitions other engines read an export with",
		Example: `  spoor lake ddl --engine athena --location s3://my-bucket/spoor`,
	}
	cmd.AddCommand(newLakeDDLCmd())
	return cmd
}

type ddlOptions struct {
	engine, location, table string
}

func newLakeDDLCmd() *cobra.Command {
	var o ddlOptions
	cmd := &cobra.Command{
		Use:   "ddl --engine athena|trino|spark|duckdb [--location URI]",
		Short: "Print the table definition that reads a spoor export",
		Long: `Print the statements that make an engine read what "spoor export --to DIR" wrote
(DIR, or wherever it was copied: --location), as an external table
partitioned by organization_id and date_key over the Parquet files under
LOCATION/events/, with the events view's columns and types.

  athena   CREATE EXTERNAL TABLE, then MSCK REPAIR TABLE to find the partitions
  trino    Hive connector CREATE TABLE, then sync_partition_metadata
           (--table needs the schema: schema.table or catalog.schema.table)
  spark    CREATE TABLE ... USING PARQUET, then MSCK REPAIR TABLE
  duckdb   a view over read_parquet with Hive partitioning, columns in the
           order of spoor's events view, so spoor's SQL runs on it unchanged

Timestamps are Parquet TIMESTAMP(MILLIS) holding UTC.`,
		Example: `  # DuckDB over a local export
  spoor lake ddl --engine duckdb --location ./spoor-export | duckdb spoor.duckdb

  # Athena over the export copied to S3
  spoor lake ddl --engine athena --location s3://my-bucket/spoor --table security.spoor_events

  # Trino's Hive connector
  spoor lake ddl --engine trino --location s3://my-bucket/spoor --table hive.security.events`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runLakeDDL(o, cmd.OutOrStdout()) },
	}
	cmd.Flags().StringVar(&o.engine, "engine", "", "athena, trino, spark or duckdb")
	cmd.Flags().StringVar(&o.location, "location", "", `the export's root, as given to "spoor export --to" or where it was copied (default s3://bucket/prefix; ./spoor-export for duckdb)`)
	cmd.Flags().StringVar(&o.table, "table", "", "table (view for duckdb) to create (default events; hive.default.events for trino)")
	return cmd
}

func runLakeDDL(o ddlOptions, out io.Writer) error {
	if !slices.Contains(export.Engines, o.engine) {
		return usagef("--engine %q: want one of %s", o.engine, strings.Join(export.Engines, ", "))
	}
	ddl, err := export.DDL(o.engine, o.location, o.table)
	if err != nil {
		return usageError{err}
	}
	_, err = io.WriteString(out, ddl)
	return err
}
