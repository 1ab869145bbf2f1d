# beadsctl — see README.md. Every target works on a fresh machine with only Go installed.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/.bin
ENV ?= production
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
PKGS := ./...

.PHONY: run-dolt stop-dolt all build test test-deps pm2 dolt check run stop install fmt vet race cross imports bench bench-quick fuzz soak clean staticcheck

all: build

## build: beadsctl, its lean agent (beadsctl-agent, which apply starts when it sits beside beadsctl),
## beadsctl-tools (migrate, import, fmt, export, monitor, startup: beadsctl hands them over to it)
## and the bd simulator into .bin/ (static binaries: no libc to map)
build:
	@mkdir -p $(BIN)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/beadsctl ./cmd/beadsctl
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/beadsctl-agent ./cmd/beadsctl-agent
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/beadsctl-tools ./cmd/beadsctl-tools
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/bdsim ./cmd/bdsim

## test: the whole test suite (unit, real-process, testscript CLI scenarios, fuzz seed corpora)
test: test-deps pm2 dolt
	$(GO) test -count=1 $(PKGS)

## test-deps: what the tests need beyond Go: systemd-analyze (Debian's systemd) for the export tests.
test-deps:
	@command -v systemd-analyze >/dev/null 2>&1 || { \
	  echo "==> installing Debian's systemd package (systemd-analyze verifies exported units)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq systemd >/dev/null; }

## pm2: a real PM2 for the migration tests, into .tools/pm2 (gitignored), from npm.
pm2:
	@test -x .tools/pm2/node_modules/.bin/pm2 || npm install --prefix .tools/pm2 pm2@7 --no-audit --no-fund

## dolt: a real Dolt (1.88.1, the one bd v1.0.5 pins) into .tools/bin for the bd 1.x simulator's tests;
## reused when present. Builds with CGO and ICU (Debian's libicu-dev), a few minutes.
DOLT_VERSION ?= v0.40.5-0.20260507221239-14b38e279fc6
dolt:
	@test -x .tools/bin/dolt || { mkdir -p .tools/bin && \
	  { dpkg -s libicu-dev >/dev/null 2>&1 || ! command -v apt-get >/dev/null || { \
	    echo "==> installing Debian's libicu-dev (dolt builds with ICU)"; \
	    if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libicu-dev >/dev/null; }; } && \
	  echo "==> building dolt $(DOLT_VERSION) into .tools/bin (a few minutes)" && \
	  GOBIN=$(CURDIR)/.tools/bin CGO_ENABLED=1 $(GO) install github.com/dolthub/dolt/go/cmd/dolt@$(DOLT_VERSION); }

## check: vet, race tests, cross builds, the package-import rule, gofmt
check: vet imports cross race staticcheck
	@test -z "$$(gofmt -l . | grep -v '^.tools/')" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

vet:
	$(GO) vet $(PKGS)

race: test-deps pm2 dolt
	$(GO) test -race -count=1 $(PKGS)

cross:
	GOOS=linux   GOARCH=amd64 $(GO) build ./...
	GOOS=darwin  GOARCH=arm64 $(GO) build ./...
	GOOS=windows GOARCH=amd64 $(GO) build ./...

# Leaves (internal/ packages that own one concept each) import nothing of ours but other leaves;
# schema and supervisor import nothing of ours but leaves (STYLE.md §1).
LEAVES := agentapi alerton atomicfile bd boot clilog doltsql flock jsoncodec jsoncodec/jsoncodectest logfile logpath plural pm2 proc sockhttp tailbuf
# beadsctl, which every command starts, links none of what only the agent and
# the rare commands need (issue 17: ~1 ms of every start): the agent's
# supervisor (net/http, runtime/metrics), crypto/tls and x509, the SQL driver.
# The agent and its jobs run in beadsctl-agent, the tools in beadsctl-tools.
FRONT_HEAVY := net/http crypto/tls crypto/x509 runtime/metrics github.com/go-sql-driver/mysql github.com/beadsctl/beadsctl/supervisor
imports:
	@leaves="$(foreach l,$(LEAVES),github.com/beadsctl/beadsctl/internal/$(l))"; \
	for p in schema supervisor $(foreach l,$(LEAVES),internal/$(l)); do \
	  bad=$$($(GO) list -deps ./$$p | grep '^github.com/beadsctl/beadsctl/' | grep -vx "github.com/beadsctl/beadsctl/$$p" \
	    | grep -vxF -f <(tr ' ' '\n' <<<"$$leaves")); \
	  if [ -n "$$bad" ]; then echo "$$p must not import: $$bad"; exit 1; fi; \
	done; for os in linux darwin windows; do \
	  bad=$$(GOOS=$$os $(GO) list -deps ./cmd/beadsctl | grep -xF -f <(tr ' ' '\n' <<<"$(FRONT_HEAVY)")); \
	  if [ -n "$$bad" ]; then echo "cmd/beadsctl ($$os) must not link: $$bad"; exit 1; fi; \
	done; echo "import rule ok"

## run: the main job — converge the daemons of ./beads.hcl (env $(ENV)) and show their status.
## Uses the real bd when one is on PATH, the bd simulator otherwise (and says so). A bd daemon needs a
## workspace: the simulator's is made with bd init here; with a real bd, plan and apply say to run bd init.
run: build
	@if command -v bd >/dev/null 2>&1 && ! [ "$$(command -v bd)" -ef "$(BIN)/bd" ]; then \
	  echo "==> using the installed bd: $$(command -v bd)"; \
	else \
	  ln -sf bdsim $(BIN)/bd; \
	  echo "==> no bd installed: using the bd simulator ($(BIN)/bd, behaves like bd v0.28 per shared/BEADS.md)"; \
	  if ! [ -f .beads/metadata.json ] && ! ls .beads/*.db >/dev/null 2>&1; then \
	    echo "==> bd init -q  (a bd daemon needs a workspace; the simulator's goes in $(CURDIR)/.beads)"; $(BIN)/bd init -q; \
	  fi; \
	fi
	@export PATH="$$PATH:$(BIN)"; set -e; \
	 echo "==> beadsctl validate"; $(BIN)/beadsctl validate; \
	 if $(BIN)/beadsctl help plan >/dev/null 2>&1; then \
	   echo "==> beadsctl plan --env $(ENV)"; $(BIN)/beadsctl plan --env $(ENV) || true; \
	   echo "==> beadsctl apply --env $(ENV) --auto-approve"; $(BIN)/beadsctl apply --env $(ENV) --auto-approve; \
	   if $(BIN)/beadsctl help status >/dev/null 2>&1; then echo "==> beadsctl status"; $(BIN)/beadsctl status; fi; \
	   echo "==> running. See 'make stop' (beadsctl destroy) to stop everything."; \
	 fi

## run-dolt: the bd 1.x quick start — a server-mode workspace in .demo/bd1 (`bd init --server`), its Dolt
## SQL server supervised by beadsctl (examples/dolt-server.hcl), then bd commands through it. Uses an
## installed bd >= 0.50 when there is one, the bd simulator in bd 1.x mode otherwise (and says so).
DEMO := $(CURDIR)/.demo/bd1
run-dolt: build dolt
	@mkdir -p $(DEMO); export PATH="$(CURDIR)/.tools/bin:$$PATH:$(BIN)"; set -e; cd $(DEMO); \
	 if command -v bd >/dev/null 2>&1 && ! [ "$$(command -v bd)" -ef "$(BIN)/bd" ] && bd version 2>/dev/null | grep -Eq 'version (0\.[5-9][0-9]|[1-9])'; then \
	   echo "==> using the installed bd: $$(command -v bd) ($$(bd version))"; \
	 else \
	   ln -sf bdsim $(BIN)/bd; export BDSIM_VERSION=1.0.5; \
	   echo "==> no bd 1.x installed: using the bd simulator in bd 1.x mode ($(BIN)/bd, BDSIM_VERSION=1.0.5, with a real dolt)"; \
	 fi; \
	 if ! [ -f .beads/metadata.json ]; then \
	   echo "==> bd init --server --prefix demo  (in $(DEMO))"; bd init --server --prefix demo; \
	   echo "==> bd dolt stop  (bd init started its own server; beadsctl supervises it from now on)"; bd dolt stop; \
	 fi; \
	 [ -f beads.hcl ] || cp $(CURDIR)/examples/dolt-server.hcl beads.hcl; \
	 echo "==> beadsctl validate"; $(BIN)/beadsctl validate; \
	 echo "==> beadsctl plan"; $(BIN)/beadsctl plan || true; \
	 echo "==> beadsctl apply --auto-approve"; $(BIN)/beadsctl apply --auto-approve; \
	 echo "==> bd create / bd list  (through the supervised server)"; bd create "hello from beadsctl"; bd list; \
	 echo "==> beadsctl health"; $(BIN)/beadsctl health; \
	 echo "==> running. 'make stop-dolt' (beadsctl destroy in $(DEMO)) stops it."

## stop-dolt: stop the bd 1.x demo's server and agent
stop-dolt: build
	cd $(DEMO) && PATH="$(CURDIR)/.tools/bin:$$PATH:$(BIN)" $(BIN)/beadsctl destroy --auto-approve

## stop: stop every daemon and the agent of ./beads.hcl
stop: build
	PATH="$$PATH:$(BIN)" $(BIN)/beadsctl destroy --auto-approve

## install: beadsctl, beadsctl-agent and beadsctl-tools into $(GOBIN) or ~/go/bin
install:
	CGO_ENABLED=0 $(GO) install -trimpath -ldflags '$(LDFLAGS)' ./cmd/beadsctl ./cmd/beadsctl-agent ./cmd/beadsctl-tools

fmt:
	gofmt -w $$(git ls-files '*.go')
	$(GO) run ./cmd/beadsctl-tools fmt

clean:
	rm -rf $(BIN)

## bench: beadsctl against PM2, side by side in one run (PM2 from npm into bench/node_modules,
## its own PM2_HOME; the dolt_server rows against bd's own `bd dolt start`, with a real dolt);
## prints the table and writes BENCHMARKS.md. Under ten minutes.
bench: dolt
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/bench ./bench
	$(BIN)/bench run -root $(CURDIR) -out $(CURDIR)/BENCHMARKS.md

## bench-quick: one repetition, short durations (CI smoke: fails only when a scenario gave no number)
bench-quick: dolt
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/bench ./bench
	$(BIN)/bench run -quick -root $(CURDIR)

## staticcheck: honnef.co/go/tools' staticcheck over every package (installed into .tools/bin).
STATICCHECK_VERSION ?= v0.8.2
STATICCHECK := $(CURDIR)/.tools/bin/staticcheck
staticcheck: $(STATICCHECK)
	$(STATICCHECK) $(PKGS)

$(STATICCHECK):
	@mkdir -p $(CURDIR)/.tools/bin
	GOBIN=$(CURDIR)/.tools/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## fuzz: every Fuzz target of every package for FUZZTIME each (their seed corpora run in every go test).
FUZZTIME ?= 30s
fuzz:
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "==> $$pkg $$target ($(FUZZTIME))"; \
	    $(GO) test $$pkg -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) 2>&1 | tail -n 25; \
	    test $${PIPESTATUS[0]} -eq 0; \
	  done; \
	done

## soak: the long reliability runs (build tag soak): 50 daemons and 1,000 crash-restarts under
## one agent, 100 plan/apply cycles; prints start/end memory, fds and goroutines. Minutes.
soak:
	set -o pipefail; $(GO) test -tags soak -count=1 -timeout 30m -run '^TestSoak' -v ./supervisor ./cmd/beadsctl 2>&1 \
	  | grep -E '^(--- |PASS|FAIL|ok)|soak'

## daemon-*: the PM2 setup's npm scripts (daemon:start, daemon:stop, ...) as make targets,
## so a team can switch without retraining. ENV=development|production selects the profile.
BEADSCTL = PATH="$$PATH:$(BIN)" $(BIN)/beadsctl
.PHONY: daemon-start daemon-stop daemon-restart daemon-status daemon-logs daemon-monitor daemon-health daemon-cleanup
daemon-start: build
	$(BEADSCTL) apply --env $(ENV) --auto-approve
daemon-stop: build
	$(BEADSCTL) stop
daemon-restart: build
	$(BEADSCTL) restart
daemon-status: build
	$(BEADSCTL) status
daemon-logs: build
	$(BEADSCTL) logs -n 50
daemon-monitor: build
	$(BEADSCTL) monitor
daemon-health: build
	$(BEADSCTL) health
daemon-cleanup: build
	$(BEADSCTL) destroy --auto-approve
