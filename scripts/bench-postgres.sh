#!/usr/bin/env bash
# Checkouts per second with one and with two release checkout servers on one PostgreSQL
# database (a throwaway local cluster), both talking to one release stripe-emulator, as
# servers behind a load balancer talk to one Stripe. Not part of the test command; prints
# the figures for the README. Needs a release build (scripts/test.sh or bench.sh makes one);
# CHECKOUT_BIN names another build of the server to measure (an older one, to compare).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
source "$root/scripts/postgres.sh"
CHECKOUTS=${BENCH_CHECKOUTS:-1000}
CONCURRENCY=${BENCH_CONCURRENCY:-64}
CHECKOUT_BIN=${CHECKOUT_BIN:-target/release/checkout}

cargo build --release -p stripe-emulator --bin stripe-emulator
[ -x target/release/checkout ] || cargo leptos build --release
postgres_start
psql "$POSTGRES_URL" -qc "CREATE DATABASE bench"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; postgres_stop' EXIT
target/release/stripe-emulator --addr 127.0.0.1:12500 >/dev/null 2>&1 &
pids+=($!)
serve() { # port
  LEPTOS_OUTPUT_NAME=checkout LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_PKG_DIR=pkg LEPTOS_HASH_FILES=true \
  LEPTOS_SITE_ADDR="127.0.0.1:$1" DATABASE_URL="${POSTGRES_URL%/*}/bench" DATABASE_MAX_CONNECTIONS=16 RUST_LOG=warn \
  CHECKOUT_LIMIT_ADDRESS_ATTEMPTS_PER_MINUTE=0 CHECKOUT_LIMIT_ADDRESS_DECLINES_PER_HOUR=0 \
  STRIPE_SECRET_KEY=sk_test_benchmarkSecretKey42 STRIPE_PUBLISHABLE_KEY=pk_test_benchmarkPublishable42 \
  STRIPE_API_BASE=http://127.0.0.1:12500/ STRIPE_JS_URL=http://127.0.0.1:12500/v3/ \
    "$CHECKOUT_BIN" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return; sleep 0.1; done
  echo "server on $1 did not start" >&2; return 1
}
serve 3301
serve 3302
node end2end/bench/checkouts-per-second.js 50 8 http://127.0.0.1:3301 >/dev/null # warm-up
node end2end/bench/checkouts-per-second.js "$CHECKOUTS" "$CONCURRENCY" http://127.0.0.1:3301
node end2end/bench/checkouts-per-second.js "$CHECKOUTS" "$CONCURRENCY" http://127.0.0.1:3301 http://127.0.0.1:3302
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"); $(date -u +%Y-%m-%d)"
