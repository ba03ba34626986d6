#!/bin/sh
# Measures the SQL gate (internal/engine: parser layer, then DuckDB's binder
# in a sandbox) on the statements of internal/engine/gate_bench_test.go,
# and writes the BENCHMARKS.md section between its gate markers. Run from
# the project root: sh bench/gate.sh (or make bench-gate); OUT=- prints it.
# Each statement is measured COUNT times (default 5); a statement's figure
# is its median, the section quotes the median over the statements.
set -e
count=${COUNT:-5}
raw=$(go test ./internal/engine -run '^$' -bench '^BenchmarkGate(|Parser|Run)$' -benchtime 300x -count "$count" 2>/dev/null | grep '^Benchmark')
# per-statement medians (µs) of one benchmark, then their median and max
stats() { # benchmark-name -> "median max n"
	echo "$raw" | awk -v b="$1" '{ split($1, p, "/"); sub(/-[0-9]+$/, "", p[2]) } p[1]==b { v[p[2]] = v[p[2]] " " $3 }
		END { for (q in v) { n = split(substr(v[q], 2), a, " "); for (i=1;i<=n;i++) for (j=i+1;j<=n;j++) if (a[j]+0<a[i]+0) { t=a[i]; a[i]=a[j]; a[j]=t }
			print a[int((n+1)/2)] / 1000 } }' |
	sort -n | awk '{ m[NR] = $1 } END { printf "%.0f %.0f %d", m[int((NR+1)/2)], m[NR], NR }'
}
set -- $(stats BenchmarkGate); g=$1; gmax=$2; n=$3
set -- $(stats BenchmarkGateParser); p=$1
set -- $(stats BenchmarkGateRun); r=$1
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b+0 > 0) printf "%.2f", a/b; else print "n/a" }'; }
meets() { awk -v a="$1" -v t="$2" 'BEGIN { print (a+0 <= t) ? "met" : "**not met**" }'; }
section=$(cat <<MD
## SQL gate (\`sh bench/gate.sh\`; $n analyst statements from the README, docs and seeds; per statement the median of $count runs of 300, then the median over the statements)

| what | spoor | baseline, same statements, same run | spoor / baseline | target | |
|---|---|---|---|---|---|
| the gate: DuckDB's parse and spoor's binding of every name, then DuckDB's plan in the file-less sandbox | $g µs (slowest statement $gmax µs) | running the statement without the gate over a 40-event lake: $r µs | $(ratio "$g" "$r") | 1,000 µs | $(meets "$g" 1000) |
| its parser layer alone (about what the gate cost before the binder layer) | $p µs | the whole gate: $g µs | $(ratio "$p" "$g") | – | |
MD
)
out=${OUT:-BENCHMARKS.md}
if [ "$out" = "-" ]; then
	echo "$section"
elif grep -q '<!-- gate:begin -->' "$out"; then
	S="$section" awk '/<!-- gate:begin -->/ { print; print ENVIRON["S"]; skip=1; next }
		/<!-- gate:end -->/ { skip=0 } !skip' "$out" > "$out.tmp" && mv "$out.tmp" "$out"
else
	printf '\n<!-- gate:begin -->\n%s\n<!-- gate:end -->\n' "$section" >> "$out"
fi
