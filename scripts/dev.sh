#!/usr/bin/env bash
# Sets everything up, then runs the dev loop: http://127.0.0.1:3000, rebuilt on change.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/setup.sh"
cd "$root"
# The back office (/merchant) needs MERCHANT_TOKEN: give the dev loop a fresh one unless set.
if [ -z "${MERCHANT_TOKEN:-}" ]; then
  MERCHANT_TOKEN=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
  export MERCHANT_TOKEN
  printf '\nBack office: http://127.0.0.1:3000/merchant  token: %s\n\n' "$MERCHANT_TOKEN"
fi
exec cargo leptos watch "$@"
