#!/bin/sh
# The agent's disk and catch-up figures: the spool's sustained write rate
# while the server is down (beside plain appends with an fsync each, the
# same bytes), the time to drain 100,000 spooled events to a loopback HTTP
# sink once the server is back, and the FIM's first scan of a tree (default
# /usr) beside `find DIR -type f | xargs sha256sum`. Medians of 5 runs.
# Run from the project root: sh bench/agent-io.sh
set -e
tree=${TREE:-/usr}
med() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
metric() { # benchmark unit
	go test ./internal/agent/ship/ -run '^$' -bench "^Benchmark$1\$" -benchtime "${2:-2s}" -count 5 2>/dev/null |
		awk -v u="$3" '/^Benchmark/ { for (i = 2; i <= NF; i++) if ($i == u) print $(i-1) }' | med
}
# The spool and its baseline in one process, one after the other each round,
# so a disturbance of the shared disk hits both.
pair=$(for i in 1 2 3 4 5; do go test ./internal/agent/ship/ -run '^$' -bench '^Benchmark(SpoolWhileServerDown|FileAppendFsync)$' -benchtime 2s 2>/dev/null | grep '^Benchmark'; done)
pick() { echo "$pair" | awk -v b="$1" -v u="$2" '$1 ~ b { for (i = 2; i <= NF; i++) if ($i == u) print $(i-1) }' | med; }
spool=$(pick SpoolWhileServerDown events/s)
spoolmb=$(pick SpoolWhileServerDown MB/s)
plain=$(pick FileAppendFsync events/s)
drain=$(metric DrainAfterOutage 1x s/drain)
drainrate=$(metric DrainAfterOutage 1x events/s)
files=$(find "$tree" -type f 2>/dev/null | wc -l)
scan=$(for i in 1 2 3 4 5; do SPOOR_FIM_BENCH=$tree go test ./internal/agent/fim/ -run '^$' -bench '^BenchmarkInitialScan$' -benchtime 1x 2>/dev/null |
	awk '/^Benchmark/ { print $3 / 1e9 }'; done | med)
peer=$(for i in 1 2 3 4 5; do
	s=$(date +%s.%N); find "$tree" -type f -print0 2>/dev/null | xargs -0 sha256sum >/dev/null 2>&1 || true; e=$(date +%s.%N)
	echo "$e - $s" | bc; done | med)
echo "| what | spoor | baseline | ratio |"
echo "|---|---|---|---|"
echo "| spool writes while the server is down (batches of 500 ~600-byte events, fsync each) | $spool events/s ($spoolmb MB/s) | plain file append + fsync: $plain events/s | $(echo "scale=2; $spool / $plain" | bc) |"
echo "| drain 100,000 spooled events once the server is back (gzip batches of 1,000, loopback HTTP) | $drain s ($drainrate events/s) | | |"
echo "| FIM first scan of $tree ($files files: stat, sha256 under 64 MiB, bbolt baseline) | $scan s | find | xargs sha256sum: $peer s | $(echo "scale=2; $peer / $scan" | bc)× as fast |"
