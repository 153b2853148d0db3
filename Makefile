# Every module of the repository; `make test` vets and tests each with -race.
MODULES := . ginauth examples benchmarks
GO ?= go
FUZZTIME ?= 3s

.PHONY: test vet unit allocs fuzz-smoke fuzz bench tidy lint vulncheck load

test: vet unit allocs fuzz-smoke

vet:
	@for m in $(MODULES); do echo "== go vet ($$m)"; (cd $$m && $(GO) vet ./...) || exit 1; done

unit:
	@for m in $(MODULES); do echo "== go test -race ($$m)"; (cd $$m && $(GO) test -race -count=1 -timeout 20m ./...) || exit 1; done

# The allocation budgets of the hot paths, checked without -race (whose
# instrumentation allocates, so those tests skip themselves under it).
allocs:
	@echo "== allocation tests, without -race (.)"; $(GO) test -count=1 -run '(?i)alloc' ./...

# Runs every Fuzz target of the root module briefly, beyond its seed corpus.
fuzz-smoke:
	@scripts/fuzz.sh $(FUZZTIME)

# Longer fuzzing: make fuzz FUZZTIME=5m
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

GOVULNCHECK ?= govulncheck
vulncheck:
	@for m in $(MODULES); do echo "== govulncheck ($$m)"; (cd $$m && $(GOVULNCHECK) ./...) || exit 1; done

# wrk against benchmarks/loadserver: make load LOADSECS=30
LOADSECS ?= 10
load:
	@scripts/load.sh $(LOADSECS)
