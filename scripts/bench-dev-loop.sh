#!/usr/bin/env bash
# The dev loop, measured: under `cargo leptos watch`, how long from saving an edit to a view
# until the server serves the new HTML. Two kinds of edit, taken in turn:
#  - the page around the island (the shop name's paragraph, app/src/page/checkout_page.rs):
#    the server's build only;
#  - the island (the payment form's wrapper, island/src/checkout_form.rs): the island's crate,
#    then the server and the WASM are linked again.
# Every file is put back at the end. Not part of the test command.
# Usage: scripts/bench-dev-loop.sh [edits of each kind]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/setup.sh"
cd "$root"
edits=${1:-3}
# kind | file | marker | its edited form (EDIT is the edit's number) | what the new HTML contains
kinds=(
  'page|app/src/page/checkout_page.rs|<p class="shop-name">{shop_name}</p>|<p class="shop-name">{shop_name}" edit EDIT"</p>| edit EDIT<'
  'island|island/src/checkout_form.rs|<div class="checkout-steps"|<div class="checkout-steps edit-EDIT"|checkout-steps edit-EDIT"'
)
for kind in "${kinds[@]}"; do
  IFS='|' read -r _ file marker _ _ <<<"$kind"
  grep -qF "$marker" "$file" || { echo "marker not found in $file" >&2; exit 2; }
  cp "$file" "$file.bench-orig"
done
log=$(mktemp)
export DATABASE_URL="sqlite://$(mktemp -d)/checkout.db" STRIPE_EMULATOR_ADDR=127.0.0.1:12290 LEPTOS_SITE_ADDR=127.0.0.1:3290 LEPTOS_RELOAD_PORT=3291
# In a process group of its own: the watcher and the server it starts end together, and
# nothing else on the machine is touched.
setsid cargo leptos watch > "$log" 2>&1 &
watch_group=$!
cleanup() {
  kill -TERM -- "-$watch_group" 2>/dev/null || true
  for kind in "${kinds[@]}"; do
    IFS='|' read -r _ file _ _ _ <<<"$kind"
    [[ -f "$file.bench-orig" ]] && mv "$file.bench-orig" "$file"
  done
}
trap cleanup EXIT
until curl -fs http://127.0.0.1:3290/healthz >/dev/null 2>&1; do sleep 0.2; done
# The server answers before the file watcher has walked the project (target/ included, which
# takes minutes when it is large): an edit made before then is never seen.
until grep -q "ignore list from" "$log"; do sleep 0.2; done
sleep 1
edit_file="$root/target/bench-dev-loop.edit"
for kind in "${kinds[@]}"; do
  IFS='|' read -r name file marker edited expected <<<"$kind"
  times=()
  for i in $(seq 1 "$edits"); do
    sleep 2
    sed "s|$marker|${edited//EDIT/$i}|" "$file.bench-orig" > "$edit_file"
    started=$(date +%s.%N)
    # One rename: the watcher sees a whole file, as an editor saving it.
    mv "$edit_file" "$file"
    until curl -fs http://127.0.0.1:3290/ 2>/dev/null | grep -qF "${expected//EDIT/$i}"; do
      if (($(echo "$(date +%s.%N) - $started > 180" | bc))); then echo "$name edit $i: not served after 3 min; see $log" >&2; exit 1; fi
      sleep 0.05
    done
    took=$(echo "$(date +%s.%N) - $started" | bc)
    printf '%s edit %s: new HTML served after %.1f s\n' "$name" "$i" "$took"
    times+=("$took")
  done
  printf '%s\n' "${times[@]}" | sort -n | awk -v name="$name" '{a[NR]=$1} END {printf "%s edits: median %.1f s over %d\n", name, a[int((NR+1)/2)], NR}'
done
