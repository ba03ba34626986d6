# spoor: a security telemetry lake and threat-hunting engine.
GO      ?= go
BIN     := bin/spoor
DATA    ?= ./spoor-data

.PHONY: build demo test docs-check test-race fuzz bench bench-formats bench-detect bench-hunt bench-gate bench-console bench-orgs clean

build:
	$(GO) build -o $(BIN) ./cmd/spoor

# Generate a fleet with the seeds' attacks, ingest it into $(DATA), walk
# through the seed-000 investigation, then the real public telemetry shipped
# in internal/demodata (seeds 004 and 001), then serve it (Ctrl-C stops it).
demo: build
	./$(BIN) demo --data $(DATA)

# Every test, then the concurrent packages under -race; tests that need
# ../shared/datasets or ../shared/seeds skip with a message when they are
# absent (and fail under CI=true).
test:
	gofmt -l . | (! grep .) || (echo "gofmt would change the files above" && exit 1)
	$(GO) vet ./...
	$(GO) test -timeout 45m ./...
	@# The SigmaHQ regression share and rule-load counts, printed (the tests above assert them).
	@$(GO) test -count=1 -run '^(TestRegression|TestRulesLoad)$$' -v ./internal/sigma/ | grep -E 'fire on their own|rules: .* compile|regression tests:|SKIP' || true
	@# The packages that run goroutines once more, under the race detector.
	$(MAKE) test-race

# Run the shell examples of README.md and docs/*.md as written and check the
# output they show (docs/docs-check.md); make test runs them too.
docs-check:
	$(GO) test -count=1 -run '^TestDocs$$' -v ./cmd/spoor/

# The packages that run goroutines, under the race detector (a few minutes).
test-race:
	$(GO) test -race -timeout 30m ./internal/wal/ ./internal/lake/ ./internal/server/ ./internal/sigma/ ./internal/parse/winevent/ ./internal/engine/ ./internal/auth/ ./internal/detect/ ./internal/agent/...

# Run each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzNormalize -fuzztime=$(FUZZTIME) ./internal/event/
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME) ./internal/query/
	$(GO) test -run='^$$' -fuzz=FuzzReadSegment -fuzztime=$(FUZZTIME) ./internal/wal/
	$(GO) test -run='^$$' -fuzz=FuzzDecodeBatch -fuzztime=$(FUZZTIME) ./internal/lake/
	$(GO) test -run='^$$' -fuzz=FuzzRead -fuzztime=$(FUZZTIME) ./internal/ingest/
	$(GO) test -run='^$$' -fuzz=FuzzNext -fuzztime=$(FUZZTIME) ./internal/parse/jsonrec/
	$(GO) test -run='^$$' -fuzz=FuzzDetect -fuzztime=$(FUZZTIME) ./internal/parse/formats/
	$(GO) test -run='^$$' -fuzz=FuzzConvert -fuzztime=$(FUZZTIME) ./internal/parse/cloudtrail/
	$(GO) test -run='^$$' -fuzz=FuzzSpool -fuzztime=$(FUZZTIME) ./internal/agent/spool/
	$(GO) test -run='^$$' -fuzz=FuzzFollower -fuzztime=$(FUZZTIME) ./internal/agent/audit/
	$(GO) test -run='^$$' -fuzz=FuzzConvert -fuzztime=$(FUZZTIME) ./internal/parse/k8saudit/
	$(GO) test -run='^$$' -fuzz=FuzzDecode -fuzztime=$(FUZZTIME) ./internal/parse/auditd/
	$(GO) test -run='^$$' -fuzz=FuzzWholeMatchesDecode -fuzztime=$(FUZZTIME) ./internal/parse/auditd/
	$(GO) test -run='^$$' -fuzz=FuzzEnvelope -fuzztime=$(FUZZTIME) ./internal/parse/auditd/
	$(GO) test -run='^$$' -fuzz=FuzzConvert -fuzztime=$(FUZZTIME) ./internal/parse/winevent/
	$(GO) test -run='^$$' -fuzz=FuzzEVTX -fuzztime=$(FUZZTIME) ./internal/parse/winevent/
	$(GO) test -run='^$$' -fuzz=FuzzParseRule -fuzztime=$(FUZZTIME) ./internal/rules/
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME) ./internal/sigma/
	$(GO) test -run='^$$' -fuzz=FuzzCompile -fuzztime=$(FUZZTIME) ./internal/sigma/
	$(GO) test -run='^$$' -fuzz=FuzzGate -fuzztime=$(FUZZTIME) ./internal/engine/
	$(GO) test -run='^$$' -fuzz=FuzzFailMarker -fuzztime=$(FUZZTIME) ./internal/render/
	$(GO) test -run='^$$' -fuzz=FuzzAnswer -fuzztime=$(FUZZTIME) ./internal/client/
	$(GO) test -run='^$$' -fuzz=FuzzRecord -fuzztime=$(FUZZTIME) ./internal/agent/fim/
	$(GO) test -run='^$$' -fuzz=FuzzWtmp -fuzztime=$(FUZZTIME) ./internal/agent/logins/
	$(GO) test -run='^$$' -fuzz=FuzzTokenFile -fuzztime=$(FUZZTIME) ./internal/auth/
	$(GO) test -run='^$$' -fuzz=FuzzRoundTrip -fuzztime=$(FUZZTIME) ./internal/sqlquote/
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME) ./internal/docscheck/
	$(GO) test -run='^$$' -fuzz=FuzzEventJSON -fuzztime=$(FUZZTIME) ./internal/parse/auditd/
	$(GO) test -run='^$$' -fuzz=FuzzFieldsMatchAuparse -fuzztime=$(FUZZTIME) ./internal/parse/auditd/
	$(GO) test -run='^$$' -fuzz=FuzzMembers -fuzztime=$(FUZZTIME) ./internal/agent/audit/

# Regenerate BENCHMARKS.md (needs ~25 GB of free disk and a quiet machine);
# bench-formats prints the format readers' section (one core, real files).
bench:
	$(GO) run ./bench -events 10000000 -ingest-runs 1 -o BENCHMARKS.md

bench-formats:
	sh bench/formats.sh

bench-detect:
	sh bench/detect.sh

bench-hunt:
	sh bench/hunt.sh

bench-gate:
	sh bench/gate.sh

bench-console:
	sh bench/console.sh

# The same events over 1, 400 and 5,000 organizations: ingest, lake bytes,
# parts per organization and day, a needle query, HTTP with a token per
# organization, beside VictoriaLogs. Prints the section between the orgs
# markers of BENCHMARKS.md; EVENTS=50000 for a quick run, KEEP=1 keeps /tmp/spoor-orgs-*.
bench-orgs:
	@$(GO) run ./bench/orgs

clean:
	rm -rf bin $(DATA)
