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

.PHONY: help build test lint fmt bench demo new conformance

help:
	@sed -n '2,9p' Makefile | sed 's/^# \{0,1\}//'

build:
	$(CARGO) build --workspace --release

test:
	$(CARGO) test --workspace --no-fail-fast
	$(MAKE) conformance

# Python Ocean's mapping cases against `ocean map` (also run by `make test`).
conformance:
	$(CARGO) build -p ocean-cli
	python3 $(SHARED)/conformance/check.py \
		--cmd '$(CURDIR)/target/debug/ocean map --config {config} --kind {kind} {input}' \
		$(SHARED)/conformance/cases

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

bench:
	@echo "benchmarks arrive with the mapping engine"

demo:
	@echo "the demo arrives with the mapping engine"

new:
	@echo "the integration template arrives with issue 7"
