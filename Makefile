# Ocean's front door: a thin, documented layer over cargo. Logic that grows lives in Rust.
#
#   make demo    the fake integration syncing into the local Port emulator (a new user's first minute)
#   make test    every test: unit, cross-crate, conformance, end-to-end (installs what it needs)
#   make build   build every crate and integration (release)
#   make lint    rustfmt and clippy, warnings are errors
#   make bench   the benchmarks: mapping throughput, emulator ingest, end-to-end resync
#   make new     scaffold a new integration (NAME=my-system for a non-interactive run)

SHELL := /bin/bash
CARGO ?= cargo
SHARED ?= $(abspath ../shared)
TARGET_DIR := $(abspath $(or $(CARGO_TARGET_DIR),target))

.PHONY: help build test lint fmt bench demo new conformance conformance-check

help:
	@sed -n '2,9p' Makefile | sed 's/^# \{0,1\}//'

build:
	$(CARGO) build --workspace --release

# The conformance check and the static check reuse the `ocean` and `port-emulator` binaries that
# `cargo test` built (a separate `cargo build` would compile much of the workspace again with
# other features).
test:
	$(CARGO) test --workspace --no-fail-fast
	$(MAKE) conformance-check
	$(CARGO) xtask static-check fake --emulator $(TARGET_DIR)/debug/port-emulator

# Python Ocean's mapping cases against `ocean map` (also run by `make test`).
conformance:
	$(CARGO) build -p ocean-cli
	$(MAKE) conformance-check

conformance-check:
	python3 $(SHARED)/conformance/check.py \
		--cmd '$(TARGET_DIR)/debug/ocean map --config {config} --kind {kind} {input}' \
		$(SHARED)/conformance/cases

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

# End to end (10k and 100k records into the emulator: wall time, entities/s, peak RSS of the
# static binary that ships; the largest again with 30 % of Port's answers 429/503: wall time and
# retries), then the mapping and emulator-ingest benches. RECORDS=5000,50000 changes the sizes;
# FAULTS=0.1 the faulted share (0 skips that run); E2E=1 skips the rest; RELEASE=1 measures a
# plain release build instead. Then the GitHub integration resyncing a fixture organization of
# 2,000 repositories twice (the second time on conditional requests): GITHUB_REPOS=500 changes
# its size, 0 skips it.
bench:
	$(CARGO) xtask bench $(if $(RECORDS),--records $(RECORDS)) $(if $(FAULTS),--fault-rate $(FAULTS)) $(if $(E2E),--e2e-only) $(if $(RELEASE),--release) $(if $(GITHUB_REPOS),--github-repos $(GITHUB_REPOS))

# Builds (release), starts the Port emulator on a free 127.0.0.1 port, resyncs the fake integration
# once into it and prints a summary; KEEP=1 keeps the emulator up until Ctrl-C.
demo:
	$(CARGO) xtask demo $(if $(KEEP),--keep)

.PHONY: static image check-integrations
INTEGRATION ?= fake

# A static x86_64-unknown-linux-musl binary of integrations/$(INTEGRATION), dist profile.
# FEATURES=kafka adds the KAFKA event listener (librdkafka and its own OpenSSL, about 8 MiB).
static:
	$(CARGO) xtask static $(INTEGRATION) $(if $(FEATURES),--features $(FEATURES))

# The container image of integrations/$(INTEGRATION) (needs a Docker engine; see docker/README.md).
image:
	$(CARGO) xtask image $(INTEGRATION) $(if $(FEATURES),--features $(FEATURES))

# Every integration folder has what an integration needs (also a test of `cargo test`).
check-integrations:
	$(CARGO) xtask check-integrations

# Interactive by default; NAME=my-system skips the prompts, ARGS adds flags (`ocean new --help`).
new:
	$(CARGO) run -q -p ocean-cli -- new $(if $(NAME),$(NAME) --no-interactive) $(ARGS)
