# Ferry: make drives the five stages. Each stage folder gets a stamp file (.done) when
# its stage succeeds, and the stamps are make's targets, so make's graph decides what
# runs; each stage itself decides from its checkpoint and input fingerprint whether
# anything is left to do, and resumes where a killed run stopped. A failed stage
# leaves no stamp (and make deletes nothing), so the next make runs it again.
#
#   make              install missing system packages, build, migrate the samples, verify
#   make test         unit and end-to-end tests
#   make test-zendesk the zendesk-api connector's tests against the local Zendesk emulator
#   make extract|dedupe|map|load|verify   run the pipeline up to that stage
#   make demo         a demo migration of 20 random sample tickets and 20 articles (seeded)
#   make delta        bring only what changed in the source since the last extract, through all stages
#   make it-rt        install and start Request Tracker 5, migrate the samples into it and back out, verify both
#   make kill-test    the kill-and-resume test with KILLS=200 kills per stage (make test runs 20)
#   make plan         what ferry-map would do (every value and its target), writing nothing
#   make purge        delete migration data once retention.days have passed since the last clean verify
#   make report-screenshot   stages/verify/report.png of the verification report (installs chromium)
#   make fuzz         libFuzzer on the record decoder and the bundle reader (FUZZ_SECONDS=60 each)
#   make bench N=...  every stage against its peers and the machine's limits (docs/benchmarks.md)
#   make clean        remove build output and stage outputs
#
# Variables: CONFIG=pipeline.yml  STAGES=stages  SWIFT=swift  DEMO_SIZE=20  DEMO_SEED=1

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := all

CONFIG ?= pipeline.yml
STAGES ?= stages
SWIFT ?= swift
DEMO_SIZE ?= 20
DEMO_SEED ?= 1
BIN := .build/release
APT_PACKAGES := libarchive-dev libsqlite3-dev pkg-config zstd libarchive-tools
SOURCES := Package.swift $(shell find Sources -name '*.swift' -o -name '*.modulemap' -o -name '*.h')
STAGE_FLAGS := --config $(CONFIG) --stages-dir $(STAGES)

# Runs a stage; exit status 3 means "finished, some records rejected" and does not stop make.
# The stamp is renewed only when the stage wrote something (its checkpoint or summary is
# newer), so a stage that found nothing to do does not wake the stages after it.
define run_stage
	@echo "== ferry-$(1)"
	@status=0; $(BIN)/ferry-$(1) $(STAGE_FLAGS) $(2) || status=$$?; \
	if [ $$status -eq 3 ]; then echo "ferry-$(1): continuing; rejected records are listed in $(STAGES)/$(1)/part-*.tar.zst rejects.ndjson"; \
	elif [ $$status -ne 0 ]; then exit $$status; fi; \
	out=$(STAGES)/$(1)/checkpoint.json; [ -e $$out ] || out=$(STAGES)/$(1)/summary.json; \
	if [ ! -e $(STAGES)/$(1)/.done ] || [ $$out -nt $(STAGES)/$(1)/.done ]; then touch $(STAGES)/$(1)/.done; fi
endef

FORCE:

.PHONY: FORCE all deps browser-deps build extract dedupe map load verify plan purge test test-zendesk demo delta kill-test clean help

all: verify
	@echo "== done: the sample migration is verified; open the report: $(abspath $(STAGES)/verify/report.html)"

help:
	@sed -n '1,/^$$/p' Makefile

# System packages: install what is missing with apt-get when we can (root, or sudo
# without a password); otherwise say exactly what to install.
deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else \
	    echo "Ferry needs these Debian packages:$$missing"; \
	    echo "Install them with:  sudo apt-get install -y$$missing"; exit 1; fi; \
	  echo "== installing$$missing"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends$$missing; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "Ferry needs a Swift 6.1+ toolchain on PATH (https://www.swift.org/install/)"; exit 1; }

$(BIN)/.built: $(SOURCES) | deps
	$(SWIFT) build -c release
	@touch $@

build: $(BIN)/.built

# Extract always runs: make cannot see a source outside the repository change, but
# ferry-extract can (its fingerprint), and when nothing changed it says so and leaves
# its stamp alone, so nothing after it runs.
$(STAGES)/extract/.done: $(BIN)/.built $(CONFIG) FORCE
	$(call run_stage,extract,$(EXTRACT_FLAGS))

$(STAGES)/dedupe/.done: $(STAGES)/extract/.done $(BIN)/.built $(CONFIG)
	$(call run_stage,dedupe)

$(STAGES)/map/.done: $(STAGES)/dedupe/.done $(BIN)/.built $(CONFIG)
	$(call run_stage,map)

$(STAGES)/load/.done: $(STAGES)/map/.done $(BIN)/.built $(CONFIG)
	$(call run_stage,load)

$(STAGES)/verify/.done: $(STAGES)/load/.done $(BIN)/.built
	$(call run_stage,verify)

extract: $(STAGES)/extract/.done
dedupe: $(STAGES)/dedupe/.done
map: $(STAGES)/map/.done
load: $(STAGES)/load/.done
verify: $(STAGES)/verify/.done

# A demo migration into its own stage folder: DEMO_SIZE seeded-random tickets and
# articles with everything they reference, through all five stages.
demo: build
	$(MAKE) --no-print-directory verify STAGES=.demo/stages EXTRACT_FLAGS="--sample $(DEMO_SIZE) --seed $(DEMO_SEED)"

# What the map would do, without writing anything (exit 2 when something is unmapped).
plan: $(STAGES)/dedupe/.done
	$(BIN)/ferry-map $(STAGE_FLAGS) --plan

# Delete migration data once retention.days have passed since the last clean verification.
purge: build
	$(BIN)/ferry-verify $(STAGE_FLAGS) --purge

# A delta migration: extract only what changed since the last complete extract, then the rest.
delta: build
	$(MAKE) --no-print-directory verify EXTRACT_FLAGS=--delta

KILLS ?= 200
kill-test: deps
	$(SWIFT) build --build-tests
	FERRY_KILLS=$(KILLS) $(SWIFT) test --skip-build --filter KillResumeTests

# The report's browser test needs Chromium: installed when we can, else that test is skipped.
browser-deps:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "== installing chromium for the report's browser test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -qq --no-install-recommends chromium) >/dev/null 2>&1 \
	      || echo "chromium could not be installed; the report's browser test will be skipped"; \
	  else echo "chromium is not installed (sudo apt-get install chromium); the report's browser test will be skipped"; fi; }

test: deps browser-deps
	$(SWIFT) build --build-tests
	@if reason=$$(bash scripts/rt-server.sh can-run 2>&1); then echo "== RT integration tests will run (Request Tracker 5 is installed or installable; FERRY_SKIP_RT=1 skips them)"; \
	else echo "== RT integration tests will be SKIPPED: $$reason"; fi
	$(SWIFT) test --skip-build

# The emulator (Tests/FerryTests/ZendeskEmulator) runs in-process on an ephemeral port of 127.0.0.1.
test-zendesk: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --filter ZendeskAPI

clean:
	rm -rf .build .demo
	find $(STAGES) -mindepth 2 -maxdepth 2 ! -name README.md -exec rm -rf {} +

# A screenshot of the verification report, for a person to look at without a
# browser at hand: $(STAGES)/verify/report.png. Installs Debian's chromium (and
# an emoji font, so the samples' emoji render) with apt-get when it is missing
# and we are root or have passwordless sudo; otherwise says what to install.
.PHONY: report-screenshot
report-screenshot: verify
	@chromium=$$(command -v chromium || command -v chromium-browser || true); \
	if [ -z "$$chromium" ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif sudo -n true 2>/dev/null; then SUDO="sudo -n"; else \
	    echo "make report-screenshot needs Chromium."; \
	    echo "Install it with:  sudo apt-get install -y --no-install-recommends chromium fonts-noto-color-emoji"; exit 1; fi; \
	  echo "== installing chromium"; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-noto-color-emoji; \
	  chromium=$$(command -v chromium); \
	fi; \
	log=$(STAGES)/verify/report-screenshot.log; \
	"$$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,2400 \
	  --screenshot="$(abspath $(STAGES)/verify/report.png)" "file://$(abspath $(STAGES)/verify/report.html)" >"$$log" 2>&1 \
	  || { cat "$$log"; echo "chromium could not render the report (log above)"; exit 1; }; \
	echo "== screenshot of the report: $(abspath $(STAGES)/verify/report.png)"

# Benchmark (bench/run.sh, docs/benchmarks.md) on N generated tickets in bench/data/N:
#   make bench-data N=100000   generate the data once (bench/generate.py --blobs)
#   make bench N=100000        every stage against its peers and the machine's limits, in one
#                              run; prints the table and writes bench/results/<date>-<N>.md
#   make bench-smoke           a 2k-ticket run that only checks the benchmark works (no timing)
N ?= 100000
.PHONY: bench-data bench bench-smoke
bench-data:
	@test -f bench/data/$(N)/tickets.ndjson || { rm -rf bench/data/$(N).tmp; \
	  python3 bench/generate.py --tickets $(N) --out bench/data/$(N).tmp --blobs && mv bench/data/$(N).tmp bench/data/$(N); }

bench: build bench-data
	bash bench/run.sh $(N)

bench-smoke: build
	$(MAKE) --no-print-directory bench-data N=2000
	bash bench/run.sh --no-write 2000

# Fuzzing (Tests/Fuzz/README.md): builds the libFuzzer targets with FERRY_FUZZ=1 into
# .build-fuzz (the normal build never sees them), runs each for FUZZ_SECONDS from its
# seed corpus, its kept regressions and its own growing corpus (.build-fuzz/corpus/),
# and fails when one finds a crash, a hang (FUZZ_TIMEOUT seconds per input) or a leak.
# libFuzzer writes each such input to Tests/Fuzz/crashes/<target>/; make copies it into
# Tests/Fuzz/regressions/<target>/, which FuzzRegressionTests (make test) runs.
#   make fuzz FUZZ_SECONDS=300 FUZZ_TARGETS=FuzzBundleReader FUZZ_FLAGS=-only_ascii=1
FUZZ_SECONDS ?= 60
FUZZ_TIMEOUT ?= 30
FUZZ_TARGETS ?= FuzzRecordDecoder FuzzBundleReader
FUZZ_FLAGS ?=
.PHONY: fuzz
fuzz: deps
	@for target in $(FUZZ_TARGETS); do \
	  echo "== building $$target (FERRY_FUZZ=1, debug, .build-fuzz)"; \
	  FERRY_FUZZ=1 $(SWIFT) build --scratch-path .build-fuzz --product $$target 2>&1 | { grep -v "Cannot export local symbol" || true; }; \
	done
	@bin=$$(FERRY_FUZZ=1 $(SWIFT) build --scratch-path .build-fuzz --show-bin-path); failed=""; \
	for target in $(FUZZ_TARGETS); do \
	  case $$target in FuzzRecordDecoder) seeds=records ;; FuzzBundleReader) seeds=bundle ;; *) echo "unknown fuzz target $$target"; exit 2 ;; esac; \
	  mkdir -p .build-fuzz/corpus/$$target Tests/Fuzz/crashes/$$target Tests/Fuzz/regressions/$$target; \
	  echo "== fuzzing $$target for $(FUZZ_SECONDS)s (log: .build-fuzz/$$target.log)"; \
	  status=0; SWIFT_BACKTRACE=enable=no "$$bin/$$target" .build-fuzz/corpus/$$target Tests/Fuzz/corpus/$$seeds Tests/Fuzz/regressions/$$target \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) -print_final_stats=1 \
	    -artifact_prefix=Tests/Fuzz/crashes/$$target/ $(FUZZ_FLAGS) >.build-fuzz/$$target.log 2>&1 || status=$$?; \
	  grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::number_of_executed_units|^stat::average_exec_per_sec|^stat::peak_rss_mb|^Done ' .build-fuzz/$$target.log || true; \
	  for found in Tests/Fuzz/crashes/$$target/*; do \
	    [ -f "$$found" ] || continue; \
	    if [ ! -e Tests/Fuzz/regressions/$$target/$${found##*/} ]; then cp "$$found" Tests/Fuzz/regressions/$$target/; echo "   kept $$found as Tests/Fuzz/regressions/$$target/$${found##*/}"; fi; \
	  done; \
	  if [ $$status -ne 0 ]; then \
	    echo "!! $$target exited $$status:"; grep -E -A40 '^==[0-9]+==ERROR|^Fatal error|deadly signal|ALARM: working on the last Unit|Test unit written' .build-fuzz/$$target.log | head -80; \
	    failed="$$failed $$target"; fi; \
	done; \
	if [ -n "$$failed" ]; then echo "== fuzz: found a problem in:$$failed (inputs kept in Tests/Fuzz/regressions/; make test runs them)"; exit 1; fi; \
	echo "== fuzz: no crash in $(FUZZ_SECONDS)s per target"

# Request Tracker 5 (docs/connectors/rt.md): scripts/rt-server.sh installs RT from Debian's
# packages (root), starts it on 127.0.0.1:$(RT_PORT) with a fresh SQLite database, and
# stops it by its PID. make it-rt migrates the sample export into it (pipeline-rt.yml) and
# verifies it through REST2, then extracts it back out of RT into an SQLite archive
# (pipeline-rt-back.yml) and verifies that too. RT is stopped at the end (KEEP_RT=1 keeps it).
RT_PORT ?= 18080
RT_DIR ?= .rt
KEEP_RT ?= 0
.PHONY: it-rt rt-start rt-stop
rt-start:
	FERRY_RT_PORT=$(RT_PORT) FERRY_RT_DIR=$(RT_DIR) scripts/rt-server.sh start

rt-stop:
	FERRY_RT_PORT=$(RT_PORT) FERRY_RT_DIR=$(RT_DIR) scripts/rt-server.sh stop

it-rt: build
	@FERRY_RT_PORT=$(RT_PORT) FERRY_RT_DIR=$(RT_DIR) scripts/rt-server.sh stop >/dev/null
	FERRY_RT_PORT=$(RT_PORT) FERRY_RT_DIR=$(RT_DIR) scripts/rt-server.sh start
	@# The sample export without help_center/ (RT articles are not built yet), and no old stages.
	rm -rf $(RT_DIR)/export $(RT_DIR)/stages $(RT_DIR)/back
	mkdir -p $(RT_DIR)/export && cp -R samples/zendesk-export/*.ndjson samples/zendesk-export/attachments $(RT_DIR)/export/
	@status=0; \
	$(MAKE) --no-print-directory verify CONFIG=pipeline-rt.yml STAGES=$(RT_DIR)/stages || status=$$?; \
	if [ $$status -eq 0 ] && [ -f pipeline-rt-back.yml ]; then \
	  $(MAKE) --no-print-directory verify CONFIG=pipeline-rt-back.yml STAGES=$(RT_DIR)/back/stages || status=$$?; fi; \
	if [ "$(KEEP_RT)" != 1 ]; then FERRY_RT_PORT=$(RT_PORT) FERRY_RT_DIR=$(RT_DIR) scripts/rt-server.sh stop; fi; \
	if [ $$status -eq 0 ]; then echo "== it-rt: the samples went into Request Tracker and back out into SQLite, both verified"; fi; \
	exit $$status
