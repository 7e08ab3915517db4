# berth: the two commands a newcomer needs are `make up` and `make test`.
SHELL := /bin/bash
CARGO_FLAGS := --locked --offline
HOST := $(shell rustc -vV 2>/dev/null | sed -n 's/^host: //p')
HOST_TRIPLE := $(shell echo $(HOST) | tr 'a-z-' 'A-Z_')
# Release binaries are built for the host triple explicitly, so that the
# flags below reach only the binaries (not build scripts and proc-macros),
# and are linked under target/release as well. berth is static-pie: glibc
# linked in, no dynamic loader or shared libraries to map at start (a berth
# command starts ~0.3 ms sooner, measured with `perf stat -r 300 berth
# --version`), still loaded at a random address. It is built in a target
# directory of its own (other flags, other artifacts) and installed over
# the dynamic one. netd stays dynamic: it loads libnftables at run time,
# which a static glibc can only do with a second libc in the process.
RELEASE_DIR := target/$(HOST)/release
STATIC_DIR := target/static/$(HOST)/release
CARGO_RELEASE := cargo build $(CARGO_FLAGS) --release --target $(HOST)
define release
	$(CARGO_RELEASE) $(1)
	RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR=target/static $(CARGO_RELEASE) -p engine --bin berth
	install -m 755 $(STATIC_DIR)/berth $(RELEASE_DIR)/berth
	@mkdir -p target/release
	@for b in $(RELEASE_DIR)/*; do [ -f "$$b" ] && [ -x "$$b" ] && ln -sfn ../$(HOST)/release/$$(basename $$b) target/release/$$(basename $$b); done; true
endef
# Each privileged test process runs inside its own throwaway host.
TESTHOST_RUNNER := CARGO_TARGET_$(HOST_TRIPLE)_RUNNER=$(CURDIR)/scripts/testhost
LEAKDIR := $(CURDIR)/target/leakcheck
# Privileged tests: the `tests` crate, and each crate's `tests/privileged.rs`.
PRIVILEGED := package(tests) | binary(privileged)

.PHONY: up test setup build lint unit fuzz-smoke fuzz test-privileged bench bench-ipam bench-netd bench-ports bench-dns bench-dockerd bench-berth

## up: install what is missing, build, and start netd in the foreground (as root;
## Ctrl-C stops it and leaves networks in place). NETD_FLAGS passes flags to it.
up: setup build
	exec $(RELEASE_DIR)/netd $(NETD_FLAGS)

## test: the whole suite: formatting, clippy, unit tests, privileged tests.
test: setup lint unit fuzz-smoke test-privileged

setup:
	scripts/setup.sh

build:
	$(call release,--workspace --bins)

lint:
	cargo fmt --all --check
	cargo clippy $(CARGO_FLAGS) --workspace --all-targets -- -D warnings

## unit: tests that need no privilege (pure logic, property tests).
unit:
	cargo nextest run $(CARGO_FLAGS) --workspace -E 'not ($(PRIVILEGED))'
	cargo test $(CARGO_FLAGS) --workspace --doc

## fuzz-smoke: every fuzz target of fuzz/ for a few seconds (skipped,
## with the reason, where the nightly toolchain is missing).
fuzz-smoke:
	CARGO_NET_OFFLINE=true FUZZ_PROFILE=--dev scripts/fuzz $(or $(FUZZ_SMOKE_SECONDS),8)

## fuzz: every fuzz target for longer (FUZZ_SECONDS, default 300 each).
fuzz:
	scripts/fuzz $(or $(FUZZ_SECONDS),300)

## test-privileged: end-to-end tests, each in its own throwaway host, and a
## check that the real machine is exactly as before.
test-privileged:
	cargo build $(CARGO_FLAGS) --workspace --bins
	scripts/leakcheck snapshot $(LEAKDIR)
	$(TESTHOST_RUNNER) cargo nextest run $(CARGO_FLAGS) --workspace --no-fail-fast -E '$(PRIVILEGED)'
	scripts/leakcheck compare $(LEAKDIR)

## bench-ipam: allocations/s, releases/s and memory per address.
bench-ipam:
	cargo bench $(CARGO_FLAGS) -p ipam --bench ipam

## bench-netd: netd's latencies and memory, inside a throwaway host.
bench-netd:
	$(call release,-p netd -p tests --bins)
	scripts/testhost $(RELEASE_DIR)/netd-bench

## bench-ports: publish/unpublish latency, rule and element counts, throughput.
bench-ports:
	$(call release,-p netd -p tests --bins)
	scripts/testhost $(RELEASE_DIR)/ports-bench

## bench-dns: embedded DNS queries/s and latency (and aardvark-dns's when installed).
bench-dns:
	$(call release,-p netd -p tests --bins)
	scripts/testhost $(RELEASE_DIR)/dns-bench

## bench-berth: `berth run --rm busybox true` latency (none and a user
## bridge), the OCI runtime alone, and podman when installed, in one run.
bench-berth:
	$(call release,-p netd -p engine -p tests --bins)
	scripts/testhost $(RELEASE_DIR)/berth-bench

## bench-dockerd: `docker run --rm` latency with dockerd using netd as its
## network driver, next to Docker's own bridge driver, in the same run.
bench-dockerd:
	$(call release,-p netd -p tests --bins)
	scripts/testhost $(RELEASE_DIR)/dockerd-bench

## bench: every benchmark.
bench: bench-ipam bench-netd bench-ports bench-dns bench-dockerd bench-berth
