#!/bin/sh
# Measures the agent's cost per event: about 1M real audit records (the
# OTRF events renumbered, ~6 records each) replayed through the log
# follower, the first half of the auditd decoder (parse, reassemble), the
# disk spool and the shipper (gzip over loopback HTTP to a counting sink,
# whose CPU is counted too), beside go-libaudit's reassembler alone and
# spoor's whole decoder alone on the same records; then the server's side:
# the agent's envelopes decoded as a request body is, beside `spoor
# ingest` of the same events as an audit.log. Each benchmark runs in a
# process of its own (its peak RSS is its own), RUNS times (default 3);
# each cell is the median, the runs in brackets. Prints a markdown table;
# run from the project root: sh bench/agent.sh (EVENTS=20000 RUNS=1 for a
# quick run).
set -e
events=${EVENTS:-166667}
runs=${RUNS:-3}
go test -c -o /tmp/spoor-agent-bench.test ./internal/agent/ >/dev/null
cd internal/agent
run() { # benchmark name: one line of output per run
	i=0
	while [ $i -lt "$runs" ]; do
		/tmp/spoor-agent-bench.test -test.run '^$' -test.bench "^Benchmark$1\$" -test.benchtime "${events}x" 2>/dev/null | grep '^Benchmark'
		i=$((i + 1))
	done
}
col() { # lines unit: the median and the runs, "m (a, b, c)"
	echo "$1" | awk -v u="$2" '{ for (i=2;i<=NF;i++) if ($i==u) print $(i-1) }' | sort -g |
		awk '{ v[NR]=$1 } END { if (NR==0) { print "-"; exit } m=v[int((NR+1)/2)]; s=""; for (i=1;i<=NR;i++) s=s (i>1?", ":"") v[i]; if (NR>1) printf "%s (%s)\n", m, s; else print m }'
}
med() { col "$1" "$2" | awk '{ print $1 }'; }
base=$(run ReassemblerOnly)
dec=$(run DecoderOnly)
agent=$(run AgentPipeline)
srv=$(run ServerEnvelopes)
file=$(run ServerAuditLog)
echo "| $events audit events (~6 records each) | CPU µs/event | CPU µs/record | peak RSS MB | ÷ reassembler |"
echo "|---|---|---|---|---|"
b=$(med "$base" cpu-µs/event)
for row in "the agent: follower, reassembly (auditd.Group), spool, shipper, and the sink|$agent" "go-libaudit's reassembler alone (parse, reassemble)|$base" "spoor's whole auditd decoder alone (+ fields, coalesce, map)|$dec"; do
	name=${row%%|*}; lines=${row#*|}
	e=$(med "$lines" cpu-µs/event)
	echo "| $name | $(col "$lines" cpu-µs/event) | $(col "$lines" cpu-µs/record) | $(col "$lines" peak-RSS-MB) | $(awk -v e="$e" -v b="$b" 'BEGIN { printf "%.1fx", e/b }') |"
done
ev=$(med "$agent" cpu-µs/event)
awk -v e="$ev" 'BEGIN { printf "\nAt 1,000 events/s the agent uses %.1f%% of one core (target 2%%).\n\n", e/10 }'
echo "| the server's side, same events | CPU µs/event | bytes/event on the wire (uncompressed) |"
echo "|---|---|---|"
echo "| the agent's envelopes as a request body (ingest.ParseLines: records decoded, event completed) | $(col "$srv" cpu-µs/event) | $(med "$srv" bytes/event) |"
echo "| baseline: spoor ingest of the same events as an audit.log (decoder, event completed) | $(col "$file" cpu-µs/event) | |"
