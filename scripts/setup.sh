#!/usr/bin/env bash
# Idempotent setup for a fresh machine: everything comes from crates.io, npm or Debian.
# Installs only what is missing, so a second run takes seconds. Source it or run it.
set -euo pipefail

CARGO_LEPTOS_VERSION=0.3.10
# Must equal the `wasm-bindgen = "=…"` pin in Cargo.toml.
WASM_BINDGEN_VERSION=0.2.117

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH="$HOME/.cargo/bin:$root/end2end/node_modules/.bin:$PATH"

step() { printf '\n==> %s\n' "$*"; }

step "Rust target wasm32-unknown-unknown"
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi

apt_install() {
  local sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y --no-install-recommends "$@"
}

step "cargo-leptos $CARGO_LEPTOS_VERSION"
if ! cargo leptos --version 2>/dev/null | grep -q " $CARGO_LEPTOS_VERSION\$"; then
  # cargo-leptos links OpenSSL.
  if ! dpkg -s libssl-dev pkg-config >/dev/null 2>&1; then
    apt_install libssl-dev pkg-config
  fi
  # no_downloads: a missing tool is a clear error, never a download from outside the registries.
  # LTO off: the install takes ~20 min instead of ~26 on two cores.
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install cargo-leptos --locked --version "$CARGO_LEPTOS_VERSION" --features no_downloads
fi

step "wasm-bindgen-cli $WASM_BINDGEN_VERSION"
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WASM_BINDGEN_VERSION\$"; then
  cargo install wasm-bindgen-cli --locked --version "$WASM_BINDGEN_VERSION"
fi

step "Debian chromium, sqlite3 (the end-to-end tests read the order database) and postgresql (the store's tests run on it too)"
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
fi

step "end2end npm packages (Playwright, binaryen's wasm-opt)"
# Playwright must never fetch a browser of its own: tests use /usr/bin/chromium.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
# A stamp of the lockfile tells whether node_modules is current, so re-runs skip `npm ci`.
lock_stamp="$root/end2end/node_modules/.installed-lock.sha256"
lock_sum=$(sha256sum "$root/end2end/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$lock_stamp" 2>/dev/null)" != "$lock_sum" ]; then
  (cd "$root/end2end" && npm ci --no-audit --no-fund)
  echo "$lock_sum" > "$lock_stamp"
fi

step "setup done"
