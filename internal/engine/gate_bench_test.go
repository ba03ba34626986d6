package engine

import (
	"context"
	"fmt"
	"testing"
)

// gateQueries are what analysts send (README, docs/, the seeds), for the
// gate's cost per statement.
var gateQueries = []string{
	"SELECT count(*) FROM events",
	"SELECT exe, count(*) AS n FROM events GROUP BY exe ORDER BY n DESC LIMIT 20",
	"SELECT hostname, count(DISTINCT exe) FROM events WHERE event_type = 'audit' AND user = 'root' GROUP BY 1",
	"SELECT raw->>'TargetImage' AS target, count(*) FROM events WHERE win_event_id = 10 GROUP BY 1 ORDER BY 2 DESC",
	"WITH p AS (SELECT parent_exe, exe, count(*) n FROM events GROUP BY 1, 2) SELECT * FROM p WHERE n < 3 ORDER BY n",
	"SELECT a.exe, b.dst_ip FROM events a JOIN events b ON a.session = b.session AND a.hostname = b.hostname WHERE b.event_type = 'network' LIMIT 100",
	"SELECT date_trunc('hour', event_time) h, count(*) FROM events GROUP BY h ORDER BY h",
	"SELECT rule, severity, count(*) FROM alerts WHERE status = 'open' GROUP BY ALL",
	`SELECT exe, count(*) AS runs, min(event_time) AS first_seen FROM events
WHERE agent_id = 'b0f6bdb2-9904-11e9-b036-25972ec55a45' AND date_key >= '2020-02-14-00' AND date_key < '2020-02-17-00' AND syscall = 'execve'
  AND exe NOT IN (SELECT exe FROM events WHERE agent_id = 'b0f6bdb2-9904-11e9-b036-25972ec55a45'
                  AND date_key >= '2020-02-05-00' AND date_key < '2020-02-14-00' AND exe IS NOT NULL)
GROUP BY exe ORDER BY first_seen`,
	`WITH access AS (
  SELECT hostname, exe AS source_image, raw->>'TargetImage' AS target_image,
         raw->>'GrantedAccess' AS granted_access, raw->>'SourceProcessGUID' AS guid
  FROM events
  WHERE event_type = 'sysmon' AND win_event_id = 10 AND lower(raw->>'TargetImage') LIKE '%\lsass.exe'
    AND (CAST(raw->>'GrantedAccess' AS INTEGER) & 5136) = 5136
), dumps AS (
  SELECT raw->>'ProcessGuid' AS guid, raw->>'TargetFilename' AS dump_file
  FROM events WHERE event_type = 'sysmon' AND win_event_id = 11 AND lower(raw->>'TargetFilename') LIKE '%.dmp'
)
SELECT DISTINCT a.hostname, a.source_image, a.target_image, a.granted_access, d.dump_file
FROM access a JOIN dumps d ON a.guid = d.guid ORDER BY a.granted_access`,
}

// BenchmarkGate is the SQL gate's cost per statement (both layers), one
// sub-benchmark a statement of gateQueries; bench/gate.sh quotes the median
// over them in BENCHMARKS.md.
func BenchmarkGate(b *testing.B) {
	e := openEngine(b, Options{})
	ctx := context.Background()
	for i, q := range gateQueries {
		b.Run(fmt.Sprint(i), func(b *testing.B) {
			for b.Loop() {
				if err := e.Check(ctx, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGateParser is the first layer alone (DuckDB's parse and the
// walk over it): about what the gate cost before the binder layer.
func BenchmarkGateParser(b *testing.B) {
	e := openEngine(b, Options{})
	ctx := context.Background()
	for i, q := range gateQueries {
		b.Run(fmt.Sprint(i), func(b *testing.B) {
			for b.Loop() {
				js, err := mustSandbox(b, e).parse(ctx, q)
				if err == nil {
					err = checkSerialized(js)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGateRun runs each statement, without the gate, over a small
// two-organization lake: the baseline the gate's cost is quoted beside.
func BenchmarkGateRun(b *testing.B) {
	l := newTwoOrgLake(b)
	e := openEngine(b, Options{AllowedDir: l.dir})
	ctx := context.Background()
	for i, q := range gateQueries {
		b.Run(fmt.Sprint(i), func(b *testing.B) {
			for b.Loop() {
				rows, err := e.Query(ctx, l.scopeA(), q)
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
				}
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
				rows.Close()
			}
		})
	}
}
