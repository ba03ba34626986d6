#!/bin/sh
# Measures detection, and writes the BENCHMARKS.md section between its
# detect markers (go run ./bench keeps it). Run from the project root:
#   sh bench/detect.sh (or make bench-detect); OUT=- prints it only.
# 1. Sigma: every loadable SigmaHQ linux, windows and aws rule in one set,
#    over a mix of real events, one core (median of COUNT runs), beside
#    sigma-go v0.6.6 on the same rules and events (one pass: it takes
#    minutes).
# 2. Backtest: one native rule over a 10M-event lake (built once under
#    BT_DIR with spoor gen; about 5 minutes), beside the same filter as a
#    plain SQL count (medians of 3).
set -e
count=${COUNT:-5}
bt=${BT_DIR:-/tmp/spoor-bench-backtest}
go build -o "$bt/spoor" ./cmd/spoor
median() { # benchmark-name unit
	awk -v n="$1" -v u="$2" '$1==n { for (i=2;i<=NF;i++) if ($i==u) v[++k]=$(i-1) }
		END { if (!k) { print "n/a"; exit } ; for (i=1;i<=k;i++) for (j=i+1;j<=k;j++) if (v[j]<v[i]) { t=v[i]; v[i]=v[j]; v[j]=t }
		print v[int((k+1)/2)] }'
}
sig=$(go test ./internal/sigma -run '^$' -bench 'BenchmarkSet$' -cpu 1 -count "$count" 2>/dev/null | grep '^Benchmark')
# sigma-go takes minutes a pass: one pass, in the same script run.
sgo=$(go test ./internal/sigma/sigmagobench -run '^$' -bench 'BenchmarkSigmaGo$' -benchtime 1x -cpu 1 -timeout 30m 2>/dev/null | grep '^Benchmark')
s1=$(echo "$sig" | median BenchmarkSet events/s)
s0=$(echo "$sgo" | median BenchmarkSigmaGo events/s)
rules=$(echo "$sig" | awk '$1=="BenchmarkSet" { for (i=2;i<=NF;i++) if ($i=="rules") r=$(i-1) } END { print r }')

if [ ! -f "$bt/data/.built" ]; then
	rm -rf "$bt/data"
	"$bt/spoor" gen --hosts 150 --rate 200 --out "$bt/fleet.ndjson.gz" >/dev/null 2>&1
	"$bt/spoor" ingest --no-detect --data "$bt/data" "$bt/fleet.ndjson.gz" >/dev/null
	touch "$bt/data/.built"
fi
events=$("$bt/spoor" sql --data "$bt/data" --format csv 'SELECT count(*) FROM events' | tail -1)
cat > "$bt/rule.yml" <<'YML'
name: bench-tmp-exec
title: Binary executed from /tmp
type: host
severity: 1
filter: event_type = 'audit' AND syscall = 'execve' AND exe starts_with '/tmp/'
suppressions:
  - exe = '/tmp/nmap' AND user = 'root'
aggregate: [agent_id, exe]
window: 1h
YML
ms() { # command... -> elapsed ms of the median of 3 runs
	for i in 1 2 3; do
		s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))
	done | sort -n | sed -n 2p
}
b1=$(ms "$bt/spoor" rules test --data "$bt/data" --since 2000-01-01 "$bt/rule.yml")
b0=$(ms "$bt/spoor" sql --data "$bt/data" "SELECT count(*) FROM events WHERE event_type = 'audit' AND syscall = 'execve' AND starts_with(exe, '/tmp/')")
took=$("$bt/spoor" rules test --data "$bt/data" --since 2000-01-01 --format json "$bt/rule.yml" | awk -F': ' '/"took_ns"/ { gsub(/,/, "", $2); printf "%d", $2/1000000 }')
# 3. Ingest with detection (the default: spoor's rules) beside --no-detect,
#    the same 1.3M-event file into fresh data directories, medians of 3.
if [ ! -f "$bt/small.ndjson.gz" ]; then
	"$bt/spoor" gen --hosts 20 --rate 200 --out "$bt/small.ndjson.gz" >/dev/null 2>&1
fi
ingest_ms() { # extra flags -> median wall ms of 3 fresh ingests
	for i in 1 2 3; do
		rm -rf "$bt/ingest-data"
		st=$(date +%s%N); "$bt/spoor" ingest --data "$bt/ingest-data" "$@" "$bt/small.ndjson.gz" >/dev/null; e=$(date +%s%N)
		echo $(( (e - st) / 1000000 ))
	done | sort -n | sed -n 2p
	rm -rf "$bt/ingest-data"
}
i1=$(ingest_ms)
i0=$(ingest_ms --no-detect)
small=$(zcat "$bt/small.ndjson.gz" | wc -l)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b+0 > 0) printf "%.2f", a/b; else print "n/a" }'; }
meets() { awk -v a="$1" -v t="$2" -v lower="$3" 'BEGIN { ok = lower ? (a+0 <= t) : (a+0 >= t); print ok ? "met" : "**not met**" }'; }
section=$(cat <<MD
## Detection (\`sh bench/detect.sh\`)

| what | spoor | baseline, same data, same run | spoor / baseline | target | |
|---|---|---|---|---|---|
| Sigma: $rules SigmaHQ linux, windows and aws rules in one set, real events (NXLog, regression, CloudTrail), one core, median of $count | $s1 events/s | sigma-go v0.6.6 evaluating the same rules on the same events (one pass): $s0 events/s | $(ratio "$s1" "$s0") | 100,000 events/s | $(meets "$s1" 100000 0) |
| Ingest with detection: $small events, the default rules evaluated on the way in, \`spoor ingest\` wall time, median of 3 | $i1 ms ($(awk -v n="$small" -v m="$i1" 'BEGIN { printf "%.0f", n/m }')k events/s) | the same file with \`--no-detect\`: $i0 ms | $(ratio "$i1" "$i0") | – | |
| Backtest: one native rule with a suppression over $events stored events, \`spoor rules test\` wall time, median of 3 | $b1 ms ($took ms in the engine) | the rule's filter alone as \`spoor sql\` count: $b0 ms | $(ratio "$b1" "$b0") | 1,000 ms | $(meets "$b1" 1000 1) |
MD
)
out=${OUT:-BENCHMARKS.md}
if [ "$out" = "-" ]; then
	echo "$section"
elif grep -q '<!-- detect:begin -->' "$out"; then
	S="$section" awk '/<!-- detect:begin -->/ { print; print ENVIRON["S"]; skip=1; next }
		/<!-- detect:end -->/ { skip=0 } !skip' "$out" > "$out.tmp" && mv "$out.tmp" "$out"
else
	printf '\n<!-- detect:begin -->\n%s\n<!-- detect:end -->\n' "$section" >> "$out"
fi
