#!/bin/sh
# The host linker for cargo (.cargo/config.toml): the system C compiler driving mold, which
# links the debug server in a fraction of GNU ld's time; plain `cc` where mold is missing.
if command -v mold >/dev/null 2>&1; then exec cc -fuse-ld=mold "$@"; fi
exec cc "$@"
