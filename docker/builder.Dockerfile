# syntax=docker/dockerfile:1
# Ocean's shared build image: the Rust toolchain with the musl target and a C compiler for it
# (ring and mimalloc compile C), so that every integration builds as one static binary.
# `make image` builds it as ocean-builder:local (context: this folder). Integration Dockerfiles
# start from it, copy the workspace to /src and run `cargo xtask static NAME --out-dir /out`.
ARG RUST_IMAGE=rust:1.95-slim-bookworm
FROM ${RUST_IMAGE}
# musl-tools follows the Debian release of the Rust image; pinning it would break on its updates.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
ENV CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0
WORKDIR /src
