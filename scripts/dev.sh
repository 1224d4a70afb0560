#!/usr/bin/env bash
# Sets everything up, then runs the dev loop: http://127.0.0.1:3000, rebuilt on change.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$root/scripts/setup.sh"
cd "$root"
exec cargo leptos watch "$@"
