#!/bin/sh
# Measures the hunting analyses on a 10M-event lake (built once under
# BT_DIR with spoor gen, shared with bench/detect.sh), each beside a
# baseline over the same data in the same run: a plain SQL scan of the same
# events. Writes the BENCHMARKS.md section between its hunt markers.
#   sh bench/hunt.sh (or make bench-hunt); OUT=- prints it only.
set -e
bt=${BT_DIR:-/tmp/spoor-bench-backtest}
mkdir -p "$bt"
go build -o "$bt/spoor" ./cmd/spoor
if [ ! -f "$bt/data/.built" ]; then
	rm -rf "$bt/data"
	"$bt/spoor" gen --hosts 150 --rate 200 --out "$bt/fleet.ndjson.gz" >/dev/null 2>&1
	"$bt/spoor" ingest --no-detect --data "$bt/data" "$bt/fleet.ndjson.gz" >/dev/null
	touch "$bt/data/.built"
fi
s="$bt/spoor"
d="--data $bt/data"
events=$($s sql $d --format csv 'SELECT count(*) FROM events' | tail -1)
host=b0f6bdb2-9904-11e9-b036-25972ec55a45
ms() { # command... -> median wall ms of 5 runs
	for i in 1 2 3 4 5; do
		st=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(( (e - st) / 1000000 ))
	done | sort -n | sed -n 3p
}
# 100 IoCs: the seed-000 two, and 98 that match nothing.
iocs="$bt/iocs.txt"
{ echo nmap; echo sliver; i=0; while [ $i -lt 98 ]; do echo "/opt/none/tool$i"; i=$((i+1)); done; } > "$iocs"
h1=$(ms $s diff $d --host $host --baseline 2020-02-07..2020-02-14 --window 2020-02-14..2020-02-17)
h0=$(ms $s sql $d "SELECT count(*), count(DISTINCT exe) FROM events WHERE agent_id = '$host' AND event_time >= '2020-02-07' AND event_time < '2020-02-17'")
w1=$(ms $s sweep $d "$iocs")
w0=$(ms $s sql $d "SELECT count(*) FROM events WHERE arguments LIKE '%nmap%' OR exe LIKE '%sliver%'")
e1=$(ms $s sessions $d --host $host)
e0=$(ms $s sql $d "SELECT count(*) FROM events WHERE agent_id = '$host' AND event_type IN ('login', 'logout', 'audit')")
meets() { awk -v a="$1" -v t="$2" 'BEGIN { print (a+0 <= t) ? "met" : "**not met**" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b+0 > 0) printf "%.2f", a/b; else print "n/a" }'; }
section=$(cat <<MD
## Hunting (\`sh bench/hunt.sh\`; $events events, 150 hosts; wall time of the CLI, medians of 5)

| analysis | spoor | baseline: a plain \`spoor sql\` scan of the same events | spoor / baseline | target | |
|---|---|---|---|---|---|
| diff of one host, 7-day baseline, 3-day window | $h1 ms | count and distinct exe of the host's 10 days: $h0 ms | $(ratio "$h1" "$h0") | 300 ms | $(meets "$h1" 300) |
| sweep of 100 IoCs over the fleet | $w1 ms | two LIKE tests over every event: $w0 ms | $(ratio "$w1" "$w0") | 1,000 ms | $(meets "$w1" 1000) |
| sessions of one host | $e1 ms | count of the host's login and audit events: $e0 ms | $(ratio "$e1" "$e0") | 200 ms | $(meets "$e1" 200) |

The CLI's wall time includes opening the data directory and DuckDB (about 40 ms).
MD
)
out=${OUT:-BENCHMARKS.md}
if [ "$out" = "-" ]; then
	echo "$section"
elif grep -q '<!-- hunt:begin -->' "$out"; then
	S="$section" awk '/<!-- hunt:begin -->/ { print; print ENVIRON["S"]; skip=1; next }
		/<!-- hunt:end -->/ { skip=0 } !skip' "$out" > "$out.tmp" && mv "$out.tmp" "$out"
else
	printf '\n<!-- hunt:begin -->\n%s\n<!-- hunt:end -->\n' "$section" >> "$out"
fi
