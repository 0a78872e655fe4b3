#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite: `start` makes one in a temp dir (as
# the `postgres` user when run as root: PostgreSQL refuses to run as root), on a free port,
# and prints the lines to eval: SWITCHBOARD_TEST_POSTGRES (the admin URL; each test makes
# a database of its own) and SWITCHBOARD_TEST_POSTGRES_DIR. `stop DIR` stops it and
# removes the dir. fsync is off: the cluster lives as long as the suite.
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "PostgreSQL is not installed (scripts/install-tools.sh test installs it)" >&2; exit 1; }
as_owner() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case "${1:-}" in
  start)
    dir=$(mktemp -d /tmp/switchboard-pg.XXXXXX)
    [ "$(id -u)" -ne 0 ] || chown postgres "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; exit 1; }
    # A free port: the kernel picks one for a socket bound to port 0.
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
      >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "export SWITCHBOARD_TEST_POSTGRES=postgres://postgres@127.0.0.1:$port/postgres"
    echo "export SWITCHBOARD_TEST_POSTGRES_DIR=$dir"
    ;;
  stop)
    dir=${2:?usage: test-postgres.sh stop DIR}
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *)
    echo "usage: scripts/test-postgres.sh start | stop DIR" >&2
    exit 2
    ;;
esac
