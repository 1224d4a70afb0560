#!/usr/bin/env bash
# The dev loop, measured: under `cargo leptos watch`, how long from saving an edit to a view
# until the server serves the new HTML. Edits the shop name's paragraph (src/app.rs) a few
# times and puts it back. Not part of the test command. Usage: scripts/bench-dev-loop.sh [edits]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/setup.sh"
cd "$root"
edits=${1:-3}
file=src/app.rs
marker='<p class="shop-name">{shop_name}</p>'
grep -qF "$marker" "$file" || { echo "marker not found in $file" >&2; exit 2; }
cp "$file" "$file.bench-orig"
log=$(mktemp)
export DATABASE_URL="sqlite://$(mktemp -d)/checkout.db" STRIPE_EMULATOR_ADDR=127.0.0.1:12290 LEPTOS_SITE_ADDR=127.0.0.1:3290 LEPTOS_RELOAD_PORT=3291
cargo leptos watch > "$log" 2>&1 &
watch_pid=$!
cleanup() { kill "$watch_pid" 2>/dev/null || true; pkill -f "target/debug/checkout" 2>/dev/null || true; mv "$file.bench-orig" "$file"; }
trap cleanup EXIT
until curl -fs http://127.0.0.1:3290/healthz >/dev/null 2>&1; do sleep 0.2; done
times=()
for i in $(seq 1 "$edits"); do
  sleep 2
  started=$(date +%s.%N)
  sed -i "s|$marker|<p class=\"shop-name\">{shop_name}\" edit $i\"</p>|; s|\" edit $((i - 1))\"</p>|\" edit $i\"</p>|" "$file"
  until curl -fs http://127.0.0.1:3290/ 2>/dev/null | grep -q " edit $i<"; do sleep 0.05; done
  took=$(echo "$(date +%s.%N) - $started" | bc)
  printf 'edit %s: new HTML served after %.1f s\n' "$i" "$took"
  times+=("$took")
done
printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median %.1f s over %d edits\n", a[int((NR+1)/2)], NR}'
