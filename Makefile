# spoor: a security telemetry lake and threat-hunting engine.
GO      ?= go
BIN     := bin/spoor
DATA    ?= ./spoor-data

.PHONY: build demo test fuzz bench clean

build:
	$(GO) build -o $(BIN) ./cmd/spoor

# Generate a fleet with the seeds' attacks, ingest it into $(DATA), walk
# through the seed-000 investigation, then serve it (Ctrl-C stops it).
demo: build
	./$(BIN) demo --data $(DATA)

# Every test; tests that need ../shared/datasets or ../shared/seeds skip
# with a message when they are absent.
test:
	gofmt -l . | (! grep .) || (echo "gofmt would change the files above" && exit 1)
	$(GO) vet ./...
	$(GO) test -timeout 45m ./...

# Run each fuzz target for FUZZTIME (default 30s).
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzNormalize -fuzztime=$(FUZZTIME) ./internal/event/
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME) ./internal/query/
	$(GO) test -run='^$$' -fuzz=FuzzReadSegment -fuzztime=$(FUZZTIME) ./internal/wal/
	$(GO) test -run='^$$' -fuzz=FuzzDecodeBatch -fuzztime=$(FUZZTIME) ./internal/lake/

# Regenerate BENCHMARKS.md (needs ~25 GB of free disk and a quiet machine).
bench:
	$(GO) run ./bench -events 10000000 -ingest-runs 1 -o BENCHMARKS.md

clean:
	rm -rf bin $(DATA)
