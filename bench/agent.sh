#!/bin/sh
# Measures the agent's cost per event: about 1M real audit records (the
# OTRF events renumbered, ~6 records each) replayed through the log
# follower, the auditd decoder, the disk spool and the shipper (gzip over
# loopback HTTP to a counting sink), beside go-libaudit's reassembler alone
# and spoor's decoder alone on the same records. Each benchmark runs in a
# process of its own (its peak RSS is its own). Prints a markdown table;
# run from the project root: sh bench/agent.sh (EVENTS=20000 for a quick run).
set -e
events=${EVENTS:-166667}
run() {
	go test ./internal/agent/ -run '^$' -bench "^Benchmark$1\$" -benchtime "${events}x" 2>/dev/null | grep '^Benchmark'
}
col() { # line unit
	echo "$1" | awk -v u="$2" '{ for (i=2;i<=NF;i++) if ($i==u) print $(i-1) }'
}
base=$(run ReassemblerOnly)
dec=$(run DecoderOnly)
agent=$(run AgentPipeline)
echo "| $events audit events (~6 records each) | CPU µs/event | CPU µs/record | peak RSS MB |"
echo "|---|---|---|---|"
for row in "go-libaudit reassembler alone (parse, reassemble)|$base" "spoor's auditd decoder alone (+ coalesce, map)|$dec" "agent: follower + decoder + spool + shipper|$agent"; do
	name=${row%%|*}; line=${row#*|}
	echo "| $name | $(col "$line" cpu-µs/event) | $(col "$line" cpu-µs/record) | $(col "$line" peak-RSS-MB) |"
done
ev=$(col "$agent" cpu-µs/event)
awk -v e="$ev" 'BEGIN { printf "\nAt 1,000 events/s the agent uses %.1f%% of one core (target 2%%).\n", e/10 }'
