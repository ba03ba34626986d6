package engine

import (
	"context"
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
	"SELECT exe FROM events WHERE exe IN (SELECT exe FROM events GROUP BY exe HAVING count(DISTINCT hostname) = 1)",
	"SELECT hostname, list(DISTINCT user) FROM events WHERE event_type = 'login' GROUP BY hostname",
}

// BenchmarkGate is the SQL gate's cost per statement (both layers), over
// gateQueries in turn; BENCHMARKS.md quotes its median.
func BenchmarkGate(b *testing.B) {
	e := openEngine(b, Options{})
	ctx := context.Background()
	for _, q := range gateQueries {
		if err := e.Check(ctx, q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := e.Check(ctx, gateQueries[i%len(gateQueries)]); err != nil {
			b.Fatal(err)
		}
	}
}
