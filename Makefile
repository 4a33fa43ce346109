# ghevents — `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
GO ?= go
# Go 1.27.3: the first release without the standard-library vulnerabilities
# govulncheck finds in 1.26.8 (see docs/reliability.md). The go command
# fetches it from the module proxy once; a machine's own Go ignores the
# toolchain in go.mod unless told (GOTOOLCHAIN=local is the default here).
export GOTOOLCHAIN ?= go1.27.3
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/ghevents/ghevents/internal/cli.Version=$(VERSION)
# The server the tests use; every test gets a database of its own there.
export TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: run
run: build ## migrate, poll and serve on :8000 (reads .env; private PostgreSQL when DATABASE_URL is empty)
	@set -a; [ ! -f .env ] || . ./.env; set +a; exec ./bin/ghevents run

.PHONY: build
build: ## build bin/ghevents (static, as in the Dockerfile)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/ghevents ./cmd/ghevents

# The fuzz targets (go test -fuzz), as package:Target. Their seed corpora are
# in each package's testdata/fuzz/; docs/reliability.md has the figures.
FUZZ_TARGETS := ./internal/github:FuzzParseLink ./internal/github:FuzzRetryDelay \
	./internal/github:FuzzDecodeEvent ./internal/github:FuzzDecodePage ./internal/api:FuzzQuery
# How long `make fuzz` runs each target, and `make test` (the short run).
FUZZTIME ?= 5m
FUZZTIME_SHORT ?= 10s

.PHONY: test
test: db-up browser-deps node-deps ## run every test against the local PostgreSQL (with headless Chromium and node), then a short fuzz of each target
	GHEVENTS_REQUIRE_BROWSER=1 GHEVENTS_REQUIRE_NODE=1 $(GO) test -race -count=1 -timeout 15m ./...
	./scripts/fuzz.sh $(FUZZTIME_SHORT) $(FUZZ_TARGETS)

.PHONY: fuzz
fuzz: db-up ## fuzz each target for FUZZTIME (default 5m; make fuzz FUZZTIME=30m)
	./scripts/fuzz.sh $(FUZZTIME) $(FUZZ_TARGETS)

# The benchmarks' scale (BENCHMARKS.md): events in the metrics data set
# (made once, kept in the database ghevents_bench_<n>_<schema digest>) and in the imported file.
BENCH_EVENTS ?= 1000000
BENCH_IMPORT_EVENTS ?= 1000000

.PHONY: bench
bench: db-up ## run the benchmarks at BENCH_EVENTS (make bench BENCH_EVENTS=10000000; see BENCHMARKS.md)
	$(GO) test -run '^$$' -bench . -benchmem ./internal/github ./internal/charts
	GHEVENTS_BENCH_METRICS_EVENTS=$(BENCH_EVENTS) $(GO) test -run '^$$' -bench 'MetricsLatency|ChartsLatency' -benchtime 300x -timeout 120m ./internal/testkit/bench
	GHEVENTS_BENCH_METRICS_EVENTS=$(BENCH_EVENTS) GHEVENTS_BENCH_SECONDS=30 $(GO) test -run '^$$' -bench 'MetricsLoad' -timeout 120m ./internal/testkit/bench
	GHEVENTS_BENCH_METRICS_EVENTS=$(BENCH_EVENTS) $(GO) test -run '^$$' -bench 'Legacy' -benchtime 3x -timeout 120m ./internal/testkit/bench
	GHEVENTS_BENCH_EVENTS=$(BENCH_IMPORT_EVENTS) $(GO) test -run '^$$' -bench 'Import|CopyCSV|Generate' -benchtime 1x -timeout 180m ./internal/importer

# The soak (make soak): data-set size, how long, how many load workers, how
# many new events a second the fake GitHub serves.
SOAK_EVENTS ?= 1000000
SOAK_DURATION ?= 3m
SOAK_WORKERS ?= 8
SOAK_FEED_EVENTS ?= 300

.PHONY: soak
soak: db-up ## ghevents run under mixed load while polling and importing, for SOAK_DURATION on SOAK_EVENTS events (report in artifacts/soak/)
	GHEVENTS_SOAK=1 SOAK_EVENTS=$(SOAK_EVENTS) SOAK_DURATION=$(SOAK_DURATION) SOAK_WORKERS=$(SOAK_WORKERS) SOAK_FEED_EVENTS=$(SOAK_FEED_EVENTS) \
		$(GO) test -run '^TestSoak$$' -count=1 -timeout 120m -v ./internal/testkit/bench

.PHONY: check
check: fmt-check vet lint sqlc-check tidy-check vulncheck openapi-lint ## gofmt, go vet, staticcheck, sqlc diff, go mod tidy, govulncheck, OpenAPI lint

.PHONY: fmt-check
fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

.PHONY: vet
vet:
	$(GO) vet ./...

.PHONY: lint
lint:
	$(GO) tool staticcheck ./...

.PHONY: sqlc-check
sqlc-check: ## prove the generated code (internal/store/dbgen, internal/testkit/bench/legacydb) matches sql/
	$(GO) tool sqlc diff
	$(GO) tool sqlc vet

.PHONY: tidy-check
tidy-check:
	$(GO) mod tidy -diff

# The Go vulnerability database govulncheck reads, built offline from this
# version of the module golang.org/x/vulndb (scripts/vulndb.sh): vuln.go.dev
# cannot be reached here. A newer version brings newer reports.
VULNDB_VERSION ?= v0.0.0-20261105234957-e22db6528018

.PHONY: vulncheck
vulncheck: ## govulncheck: fails on known vulnerabilities in reached code not listed in .govulncheck-accepted
	./scripts/vulncheck.sh $(VULNDB_VERSION)

.PHONY: sqlc-generate
sqlc-generate: ## regenerate internal/store/dbgen and internal/testkit/bench/legacydb from sql/
	$(GO) tool sqlc generate

.PHONY: migrate-up
migrate-up: build ## apply every migration (DATABASE_URL, or the private cluster)
	@set -a; [ ! -f .env ] || . ./.env; set +a; ./bin/ghevents migrate up

.PHONY: migrate-down
migrate-down: build ## roll back the newest migration
	@set -a; [ ! -f .env ] || . ./.env; set +a; ./bin/ghevents migrate down

.PHONY: browser-deps
browser-deps: ## install Debian's chromium for the browser tests when missing
	@command -v chromium >/dev/null 2>&1 || { echo "installing chromium (browser tests)"; \
	  (apt-get install -y --no-install-recommends chromium || { apt-get update && apt-get install -y --no-install-recommends chromium; }) >/dev/null; }

.PHONY: db-up
db-up: ## make sure the test PostgreSQL answers (starts the machine's cluster)
	@./scripts/pg-up.sh

.PHONY: api-client
api-client: node-deps ## regenerate the Go client (oapi-codegen, from the OpenAPI 3.0 document) and the TypeScript client's types (openapi-typescript, from 3.1)
	$(GO) generate ./internal/api/apiclient
	@d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; $(GO) run ./cmd/ghevents openapi > "$$d/openapi.json"; \
	  cd clients/typescript && node node_modules/openapi-typescript/bin/cli.js "$$d/openapi.json" -o src/schema.d.ts

# The npm packages of the TypeScript client (clients/typescript) and of the
# OpenAPI linters (scripts/openapi-lint), each installed from its committed
# package-lock.json, again when that changes.
NODE_DIRS := clients/typescript scripts/openapi-lint

.PHONY: node-deps
node-deps: $(addsuffix /node_modules/.package-lock.json,$(NODE_DIRS)) ## install node when missing, then the npm packages of the TypeScript client and the OpenAPI linters (npm ci)

%/node_modules/.package-lock.json: %/package-lock.json %/package.json
	@command -v npm >/dev/null 2>&1 || { echo "installing node and npm"; \
	  (apt-get install -y --no-install-recommends nodejs npm || { apt-get update && apt-get install -y --no-install-recommends nodejs npm; }) >/dev/null; }
	cd $* && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

.PHONY: openapi-lint
openapi-lint: node-deps ## lint the OpenAPI documents (3.1 and 3.0) with Redocly CLI (recommended rules) and Spectral (oas): any error fails
	@d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; \
	$(GO) run ./cmd/ghevents openapi > "$$d/openapi.json"; \
	$(GO) run ./cmd/ghevents openapi --spec 3.0 > "$$d/openapi-3.0.json"; \
	cd scripts/openapi-lint; \
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true node node_modules/@redocly/cli/bin/cli.js lint "$$d/openapi.json" "$$d/openapi-3.0.json"; \
	node node_modules/@stoplight/spectral-cli/dist/index.js lint --ruleset .spectral.yaml --fail-severity error "$$d/openapi.json" "$$d/openapi-3.0.json"
