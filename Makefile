# Targets a contributor expects. `make test` is the README's test command.
GO          ?= go
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME    ?= 10s
# The library, the examples and the metrics exporters, each of the last
# three a module of its own (see go.work).
PKGS        := ./... ./examples/... ./tracker/slabprom/... ./tracker/slabotel/...

.PHONY: all test race debug asan bench fuzz lint slabvet ci

all: lint test

test: ## unit, example and end-to-end tests
	$(GO) test $(PKGS)

race: ## the same under the race detector
	$(GO) test -race $(PKGS)

debug: ## the same with the slabdebug checks compiled in
	$(GO) test -tags slabdebug $(PKGS)

asan: ## the slab and tracker tests under AddressSanitizer (needs gcc and libasan)
	$(GO) test -asan -o $$(mktemp -d)/ ./slab ./tracker
	$(GO) test -asan -tags slabdebug -o $$(mktemp -d)/ ./slab ./tracker

bench: ## every benchmark, with allocations
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

fuzz: ## each fuzz target of every package for FUZZTIME (make fuzz FUZZTIME=60s)
	bash .ci/fuzz $(FUZZTIME)

lint: ## gofmt, go vet and staticcheck (pinned)
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet $(PKGS)
	$(STATICCHECK) $(PKGS)

slabvet: ## the slabvet analyzers' tests, and slabvet over the repository
	bash scripts/slabvet.sh

ci: ## everything CI runs
	bash .ci/run
