#!/bin/sh
# Measures the web console in headless Chromium over a demo-sized lake
# (BenchmarkConsolePages in internal/web: spoor demo's fleet, 20 hosts at
# 200 events an hour; SPOOR_BENCH_HOSTS and SPOOR_BENCH_RATE change it):
# navigation start to rows painted, and page weight (HTML, CSS and JS
# bytes). Writes the BENCHMARKS.md section between its console markers.
#   sh bench/console.sh (or make bench-console); OUT=- prints it only.
set -e
raw=$(go test -run '^$' -bench BenchmarkConsolePages -benchtime 5x -timeout 60m -v ./internal/web/)
events=$(echo "$raw" | sed -n 's/.*lake: \([0-9]*\) events.*/\1/p')
rows=$(echo "$raw" | awk '/^BenchmarkConsolePages\/[a-z]+-[0-9]+ / {
	split($1, n, "/"); sub(/-[0-9]+$/, "", n[2])
	what["events"] = "events, every event newest first (the landing page)"
	what["search"] = "events, the seed-001 search (a login filter on one agent), all time"
	what["event"] = "one event, whole, with its pivots"
	what["alerts"] = "alerts, open tab"
	ms = $7; kb = $5 / 1024; load = $3 / 1e6
	printf "| %s | %.0f ms | %.0f ms | %.1f KB | %s | %s |\n", what[n[2]], ms, load, kb, (ms <= 1000 ? "met" : "**not met**"), (kb <= 150 ? "met" : "**not met**")
}')
section=$(cat <<MD
## Console (\`sh bench/console.sh\`; headless Chromium, $events events, ${SPOOR_BENCH_HOSTS:-20} hosts at ${SPOOR_BENCH_RATE:-200} events an hour each; means of 5 navigations)

| page | navigation start to rows painted | to the load event (the histogram's frame too) | page weight (HTML + CSS + JS + frames) | first rows ≤ 1 s | weight ≤ 150 KB |
|---|---|---|---|---|---|
$rows

Rows are rendered on the server; "painted" is two animation frames after the document is parsed. The events
page's histogram is a frame of its own, so its query (the timeline analysis: three scans) does not hold the rows back.
MD
)
out=${OUT:-BENCHMARKS.md}
if [ "$out" = "-" ]; then
	echo "$section"
elif grep -q '<!-- console:begin -->' "$out"; then
	S="$section" awk '/<!-- console:begin -->/ { print; print ENVIRON["S"]; skip=1; next }
		/<!-- console:end -->/ { skip=0 } !skip' "$out" > "$out.tmp" && mv "$out.tmp" "$out"
else
	printf '\n<!-- console:begin -->\n%s\n<!-- console:end -->\n' "$section" >> "$out"
fi
