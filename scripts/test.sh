#!/usr/bin/env bash
# Sets everything up, then runs every test: formatting and lints, the Rust tests (the store,
# the in-process server through every money guarantee, the emulator) on SQLite and on
# PostgreSQL, then one release build (the server and the WASM), whose payload is checked
# against its budget, whose binary the process tests run, and against which the Playwright
# specs run in Debian chromium.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/setup.sh"
cd "$root"

step "cargo fmt --check (rustfmt.toml)"
cargo fmt --all --check

step "cargo clippy (warnings are errors)"
# The toolchain's own clippy: rustup cannot fetch components here, so a machine without it
# says so and goes on to the tests.
if cargo clippy --version >/dev/null 2>&1; then
  cargo clippy --workspace --all-targets --features checkout-app/embedded-emulator -- -D warnings
  # The browser's code too (hydrate, the island with it), in cargo-leptos's WASM target directory.
  cargo clippy --package=checkout --package=checkout-island --package=checkout-front --lib --target-dir=target/front \
    --target=wasm32-unknown-unknown --no-default-features --features=checkout-front/hydrate -- -D warnings
else
  echo "cargo clippy is not installed with this toolchain: lint step skipped"
fi

step "Rust tests (those that run the server as a process come after the release build)"
cargo test --workspace

step "the store's tests and the in-process money suite again, on PostgreSQL (a throwaway local cluster)"
source "$root/scripts/postgres.sh"
postgres_start
CHECKOUT_TEST_POSTGRES="$POSTGRES_URL" cargo test -p checkout --lib -- server::store server::merchant::store
CHECKOUT_TEST_POSTGRES="$POSTGRES_URL" cargo test -p checkout --test safety_net

step "the release build, once: the server, and the WASM within its budget"
# What a shopper downloads besides Stripe.js: the release hydrate WASM + JS, gzipped, within
# issue #10's 150,000 B (see docs/performance.md).
cargo leptos build --release --precompress
SIZE_BUDGET_BYTES=150000 "$root/scripts/check-size.sh"

step "the server as a process (SIGTERM, kill -9): that release build's binary, on SQLite and PostgreSQL"
export CHECKOUT_SERVER_BIN="$root/target/release/checkout"
cargo test -p checkout --test process -- --ignored
CHECKOUT_TEST_POSTGRES="$POSTGRES_URL" cargo test -p checkout --test process -- --ignored

step "Playwright end-to-end, against that release build"
# The stand-in spec runs a standalone emulator (end2end/playwright.config.ts webServer).
cargo build --release -p stripe-emulator --bin stripe-emulator
# A fresh order database for the run; the specs read it with sqlite3.
mkdir -p "$root/target/e2e"
rm -f "$root"/target/e2e/checkout.db*
export DATABASE_URL="sqlite://$root/target/e2e/checkout.db"
# Short Stripe timeouts so the fault specs (hang) finish quickly.
export STRIPE_TIMEOUT_MS=2000
# A reconciler pass every second, so the processing spec settles without waiting a minute.
export CHECKOUT_RECONCILE_SECONDS=1
# The specs' own servers are this build's binary: a release build, on the embedded emulator.
export E2E_BUILD=release CHECKOUT_USE_EMULATOR=true
# Every spec runs from 127.0.0.1: the address limits are card-testing.spec.ts's, on servers of
# its own. The main server logs JSON; every server's log is kept for the scan below.
export CHECKOUT_LIMIT_ADDRESS_ATTEMPTS_PER_MINUTE=0 CHECKOUT_LIMIT_ADDRESS_DECLINES_PER_HOUR=0
export CHECKOUT_LOG_FORMAT=json
logs="$root/target/e2e/logs"
rm -rf "$logs" && mkdir -p "$logs"
export E2E_SERVER_LOGS="$logs"
cargo leptos end-to-end --release 2>&1 | tee "$logs/run.out"

step "the safety suite again, on PostgreSQL"
# Concurrency, faults at each Stripe step, restarts, bad input and load, with every server's
# orders in PostgreSQL: the main server's database, and one per spawned server (E2E_POSTGRES).
e2e_database="checkout_e2e_$(date +%s)"
psql "$POSTGRES_URL" -v ON_ERROR_STOP=1 -qc "CREATE DATABASE $e2e_database"
DATABASE_URL="${POSTGRES_URL%/*}/$e2e_database" E2E_POSTGRES="$POSTGRES_URL" \
  E2E_SPECS='(safety|restart|load|money-integrity|scale-out|card-testing)\.spec\.ts$' \
  cargo leptos end-to-end --release 2>&1 | tee "$logs/run-postgres.out"

step "no log line of those runs holds a card number, a client secret or a key"
# The main servers' lines (JSON) out of the runs' output, which also holds Playwright's (whose
# test titles name test cards); the spawned servers' logs whole.
grep -h '^{"timestamp"' "$logs"/run*.out > "$logs/main-servers.log"
CHECKOUT_LOGS=$(find "$logs" -name '*.log' -printf '%p:') \
CHECKOUT_LOG_SECRETS="merchant-token-for-the-end-to-end-specs,sk_test_spawnedServerSecret42" \
  cargo test -p checkout --test logs -- --ignored --nocapture
