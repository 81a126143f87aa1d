#!/usr/bin/env bash
# Make sure the test suite has a PostgreSQL and a Redis server on 127.0.0.1.
# Uses the machine's own when they answer; otherwise starts private instances under
# var/test-services/ (trust auth, loopback only). Prints FORMS_TEST_* settings for the shell.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
state="$root/var/test-services"
mkdir -p "$state"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pg_port=5432
if ! port_open 5432; then
  pg_port=55432
  if ! port_open "$pg_port"; then
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$bindir" ] || { echo "error: PostgreSQL is not installed (apt-get install postgresql)" >&2; exit 1; }
    data="$state/pg"
    run_as=()
    if [ "$(id -u)" -eq 0 ]; then
      chown -R postgres:postgres "$state" 2>/dev/null || true
      run_as=(runuser -u postgres --)
    fi
    if [ ! -f "$data/PG_VERSION" ]; then
      "${run_as[@]}" "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >"$state/initdb.log"
    fi
    "${run_as[@]}" "$bindir/pg_ctl" -D "$data" -l "$state/pg.log" -w \
      -o "-p $pg_port -k $data -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
  fi
fi

redis_port=6379
if ! port_open 6379; then
  redis_port=56379
  if ! port_open "$redis_port"; then
    command -v redis-server >/dev/null || { echo "error: redis-server is not installed" >&2; exit 1; }
    redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save "" \
      --appendonly no --dir "$state" --logfile "$state/redis.log" >/dev/null
  fi
fi

echo "FORMS_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:$pg_port/postgres"
echo "FORMS_TEST_REDIS_URL=redis://127.0.0.1:$redis_port/0"
