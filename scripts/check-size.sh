#!/usr/bin/env bash
# Fails when the release hydrate WASM + JS (gzip -9, what a browser downloads besides
# Stripe.js) exceed their budget. Run after `cargo leptos build --release`, which leaves only
# the release files in target/site/pkg.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
budget=${SIZE_BUDGET_BYTES:-150000}
pkg="$root/target/site/pkg"
shopt -s nullglob
wasm=("$pkg"/*.wasm)
js=("$pkg"/checkout*.js)
if [ ${#wasm[@]} -ne 1 ] || [ ${#js[@]} -ne 1 ]; then
  echo "expected one .wasm and one .js in $pkg (run cargo leptos build --release first)" >&2
  exit 2
fi
gz() { gzip -9 -c "$1" | wc -c; }
wasm_gz=$(gz "${wasm[0]}")
js_gz=$(gz "${js[0]}")
total=$((wasm_gz + js_gz))
printf 'hydrate WASM %s B + JS %s B (gzip -9) = %s B; budget %s B\n' "$wasm_gz" "$js_gz" "$total" "$budget"
if [ "$total" -gt "$budget" ]; then
  echo "over budget by $((total - budget)) B" >&2
  exit 1
fi
