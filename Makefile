# sisimport: the two commands are `make run` and `make test`.
GO      ?= go
ROWS    ?= 1000000
PKGS    := ./...
# The linter, pinned; make lint installs it through the Go toolchain when missing.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT         := $(shell $(GO) env GOPATH)/bin/golangci-lint

.PHONY: run test bench bench-api lint build fuzz screenshots

## run: start a private PostgreSQL in ./.data (unless DATABASE_URL is set), migrate, print a token, serve on :8080
run:
	$(GO) run ./cmd/sisimport dev

## test: every test, with the race detector, against a real PostgreSQL the tests start themselves (unless TEST_DATABASE_URL is set)
test:
	@command -v chromium >/dev/null || echo "the console's browser tests will skip: install Chromium (apt-get install -y chromium) to run them (docs/console.md#browser-tests)"
	$(GO) vet $(PKGS)
	$(GO) test -race -count=1 -timeout 30m $(PKGS)

## bench: the import benchmark of docs/performance.md#targets (ROWS=100000 for a quick look)
bench:
	$(GO) run ./cmd/sisbench -rows $(ROWS)

## bench-api: GET /sis_imports/:id at 500 requests/s while a new-users import of ROWS runs; p50/p99 latency, next to a bare SELECT 1 at a fifth of the rate
bench-api:
	$(GO) run ./cmd/sisbench -api 500 -rows $(ROWS)

## lint: golangci-lint with .golangci.yml (errcheck, govet, ineffassign, staticcheck, unused, gofmt), at the pinned version
lint:
	@$(GOLANGCI_LINT) version 2>/dev/null | grep -q "version $(GOLANGCI_LINT_VERSION:v%=%) " || \
		{ echo "installing golangci-lint $(GOLANGCI_LINT_VERSION) with go install (a few minutes, once)"; \
		  $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION); }
	$(GOLANGCI_LINT) run $(PKGS)

## fuzz: run each fuzz target for FUZZTIME (default 30s), one after the other; plain `go test` replays their corpora in testdata/fuzz
FUZZTIME ?= 30s
FUZZ_TARGETS := csvread:FuzzRead csvread:FuzzSniffer importer:FuzzExpand importer:FuzzHeader importer:FuzzZip importer:FuzzZipMembers importer:FuzzRowCheck
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "== $${t#*:} ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) ./internal/$${t%%:*}/; \
	done

## screenshots: the console's pages in headless Chromium, as PNGs in docs/console/
screenshots:
	SISIMPORT_SCREENSHOTS=1 $(GO) test -count=1 -run 'TestConsole' ./cmd/sisimport

## build: a static binary in bin/
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/sisimport ./cmd/sisimport
