# A throwaway PostgreSQL cluster (Debian's postgresql package) for the tests: created in a
# temporary directory, listening on a loopback port only, removed by postgres_stop (and on
# exit). Source it, then `postgres_start`; it sets POSTGRES_URL (user postgres, trusted).
# initdb refuses to run as root: as root the cluster belongs to the `postgres` user the
# package creates.

POSTGRES_PORT=${POSTGRES_PORT:-54329}

postgres_as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

postgres_start() {
  local bin
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  if [ -z "$bin" ]; then
    echo "PostgreSQL is not installed (Debian package postgresql; scripts/setup.sh installs it)" >&2
    return 1
  fi
  POSTGRES_BIN=$bin
  POSTGRES_DIR=$(mktemp -d /tmp/checkout-postgres.XXXXXX)
  [ "$(id -u)" = 0 ] && chown postgres "$POSTGRES_DIR"
  postgres_as_owner "$bin/initdb" -D "$POSTGRES_DIR/data" -U postgres -A trust --no-sync >/dev/null
  postgres_start_server
  POSTGRES_URL="postgres://postgres@127.0.0.1:$POSTGRES_PORT/postgres"
  # The specs that stop and start the server (scale-out.spec.ts) read these.
  export POSTGRES_URL POSTGRES_BIN POSTGRES_DIR POSTGRES_PORT
  trap postgres_stop EXIT
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$POSTGRES_PORT ($POSTGRES_DIR)"
}

# Stops the cluster's server, keeping its data (an outage); postgres_start_server brings it back.
postgres_stop_server() {
  postgres_as_owner "$POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DIR/data" -m fast -w stop >/dev/null
}

postgres_start_server() {
  postgres_as_owner "$POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DIR/data" -l "$POSTGRES_DIR/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $POSTGRES_PORT -k $POSTGRES_DIR -c max_connections=300" start >/dev/null
}

postgres_stop() {
  [ -n "${POSTGRES_DIR:-}" ] || return 0
  postgres_as_owner "$POSTGRES_BIN/pg_ctl" -D "$POSTGRES_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$POSTGRES_DIR"
  POSTGRES_DIR=
}
