#!/bin/sh
# setup.sh: install what berth needs on a fresh Debian machine (run as root).
# Idempotent and quick when everything is already there.
set -eu
cd "$(dirname "$0")/.."

# Debian packages: the kernel tools the tests and the daemon drive
# (iproute2, nftables), namespaces and mounts (util-linux, mount), process
# tools (procps), and the real clients the end-to-end tests use. docker.io
# brings dockerd (the plugin end-to-end test runs it inside a throwaway
# host; the package starts no daemon here) and docker-proxy (the peer the
# ports benchmark measures). runc and crun are berth's OCI runtimes
# (busybox-static also makes the test images); tini is `run --init`'s init.
# docker-registry is the registry the pull/push tests start on loopback
# (apache2-utils' htpasswd makes its users).
# gcc links the Rust binaries; libc6-dev has glibc's static libraries, which
# the release binaries (static-pie) are linked with.
PACKAGES="gcc libc6-dev iproute2 nftables util-linux mount procps busybox-static bind9-dnsutils iputils-ping curl make iperf3 dnsperf docker.io runc crun tini docker-registry apache2-utils"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# The Rust toolchain pinned in rust-toolchain.toml, with rustfmt and clippy.
command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust with rustup first" >&2; exit 1; }
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
# cargo-nextest runs each privileged test as its own process, hence in its own host.
cargo nextest --version >/dev/null 2>&1 || cargo install --locked cargo-nextest

# The fuzz targets (fuzz/, a workspace of its own) need the nightly
# toolchain and cargo-fuzz; without nightly, scripts/fuzz says it skips.
if cargo +nightly --version >/dev/null 2>&1; then
    cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install --locked -q cargo-fuzz
fi

# Every crate is fetched now, before any test enters a network namespace;
# builds after this point run with --offline.
cargo fetch --locked -q
# fuzz/ locks the same versions as the workspace plus libFuzzer's crates;
# when the workspace's lock moved on without it, it is re-resolved from it.
(cd fuzz && { cargo fetch --locked -q 2>/dev/null || {
    echo "setup: fuzz/Cargo.lock is behind the workspace's: re-resolving it from Cargo.lock"
    cp ../Cargo.lock Cargo.lock && cargo fetch -q
}; })
