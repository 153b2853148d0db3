# Every module of the repository; `make test` vets and tests each with -race.
MODULES := . ginauth grpcauth otelauth examples benchmarks
GO ?= go
FUZZTIME ?= 5m

.PHONY: test vet unit allocs fuzz-smoke fuzz bench tidy lint vulncheck load screenshots

test: vet unit allocs fuzz-smoke

vet:
	@for m in $(MODULES); do echo "== go vet ($$m)"; (cd $$m && $(GO) vet ./...) || exit 1; done

unit:
	@for m in $(MODULES); do echo "== go test -race ($$m)"; (cd $$m && $(GO) test -race -count=1 -timeout 20m ./...) || exit 1; done

# The allocation budgets of the hot paths, checked without -race (whose
# instrumentation allocates, so those tests skip themselves under it).
allocs:
	@for m in $(MODULES); do echo "== allocation tests, without -race ($$m)"; (cd $$m && $(GO) test -count=1 -run '(?i)alloc' ./...) || exit 1; done

# Runs every Fuzz target of the root module briefly, beyond its seed corpus:
# a count of inputs per target (scripts/fuzz.sh has the table), not a
# duration, which Go's fuzzing coordinator can fail on (golang/go#75804).
fuzz-smoke:
	@scripts/fuzz.sh

# Timed fuzzing of every target: make fuzz FUZZTIME=5m (the default). A run
# fails on a failing input written, not on the coordinator's deadline race.
fuzz:
	@scripts/fuzz.sh $(FUZZTIME)

bench:
	cd benchmarks && $(GO) test -run '^$$' -bench . -benchmem -benchtime 300ms -count 6 . | tee bench.txt && $(GO) run ./table < bench.txt

tidy:
	@for m in $(MODULES); do (cd $$m && $(GO) mod tidy) || exit 1; done

# Static checks (staticcheck from the module proxy: .ci/run installs it).
STATICCHECK ?= staticcheck
lint:
	@for m in $(MODULES); do echo "== staticcheck ($$m)"; (cd $$m && $(STATICCHECK) ./...) || exit 1; done

# govulncheck on every module, against vuln.go.dev or, where that cannot be
# reached, the offline snapshot in ../shared/vulndb (scripts/vulncheck.sh).
GOVULNCHECK ?= govulncheck
vulncheck:
	@GOVULNCHECK=$(GOVULNCHECK) scripts/vulncheck.sh $(MODULES)

# wrk against benchmarks/loadserver, in interleaved rounds:
# make load LOADSECS=10 LOADROUNDS=9
LOADSECS ?= 4
LOADROUNDS ?= 5
load:
	@scripts/load.sh $(LOADSECS) $(LOADROUNDS)

# PNGs of the console's pages (docs/console-*.png), taken by the browser
# test in headless Chromium (apt-get install chromium) with sample data.
screenshots:
	GATEHOUSE_SCREENSHOTS=$(CURDIR)/docs $(GO) test -count=1 -run '^TestConsoleScreenshots$$' ./cmd/gatehouse
