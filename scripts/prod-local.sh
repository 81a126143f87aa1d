#!/usr/bin/env bash
# The processes of docker/compose.yaml, for real, without Docker: migrations, gunicorn with
# several workers, the job worker and the outbox deliverer, in production mode, on the
# PostgreSQL and Redis servers of 127.0.0.1. Runs in the foreground; Ctrl+C (or SIGTERM)
# stops every process it started. The job worker and the outbox deliverer are started again
# when they stop (compose: restart: unless-stopped); gunicorn replaces its own workers.
#
# The service is served over plain HTTP on 127.0.0.1:$PROD_LOCAL_PORT as it would be behind
# a TLS-terminating proxy (nginx, Caddy, a load balancer): FORMS_BASE_URL is https, the
# session cookie is Secure, and FORMS_TRUSTED_PROXIES=1 makes the service trust that
# proxy's X-Forwarded-Proto/Host/For. A client talking to it directly must send those
# headers (as the proxy would); a browser needs the real proxy in front.
#
# Settings (environment):
#   PROD_LOCAL_VAR        state directory (env file with the secrets, files, logs)  [var/prod-local]
#   PROD_LOCAL_PORT       port of gunicorn on 127.0.0.1                              [8000]
#   PROD_LOCAL_WORKERS    gunicorn worker processes                                  [3]
#   PROD_LOCAL_POSTGRES   admin URL of the PostgreSQL server   [postgresql://postgres@127.0.0.1:5432/postgres]
#   PROD_LOCAL_DB         database name (created when missing; the demo CRM is "<name>_crm") [forms_prod_local]
#   PROD_LOCAL_REDIS      Redis URL (broker and rate-limit storage)                  [redis://127.0.0.1:6379/0]
#   PROD_LOCAL_PREFIX     key prefix in Redis, so that several stacks can share it   [forms-prod-local:]
#   PROD_LOCAL_BASE_URL   the public https origin                                    [https://forms.localhost]
#   PROD_LOCAL_CUSTOMERS  demo CRM size (0: no demo data, accounts or links)         [200]
#   PROD_LOCAL_JOB_PROCESSES  pool processes of the job worker                       [1]
# Other FORMS_* settings of the environment reach every process, e.g.
# FORMS_OUTBOX_FIRST_DELAY_SECONDS [5 here], FORMS_JOBS_VISIBILITY_TIMEOUT_SECONDS [600] or
# FORMS_SWEEP_INTERVAL_SECONDS / FORMS_SWEEP_AFTER_SECONDS [60 / 600: the job worker's sweep of
# pages whose job message was lost].
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bin="$root/.venv/bin"
state="$(mkdir -p "${PROD_LOCAL_VAR:-var/prod-local}" && cd "${PROD_LOCAL_VAR:-var/prod-local}" && pwd)"
port="${PROD_LOCAL_PORT:-8000}"
workers="${PROD_LOCAL_WORKERS:-3}"
admin_url="${PROD_LOCAL_POSTGRES:-postgresql://postgres@127.0.0.1:5432/postgres}"
db="${PROD_LOCAL_DB:-forms_prod_local}"
redis="${PROD_LOCAL_REDIS:-redis://127.0.0.1:6379/0}"
prefix="${PROD_LOCAL_PREFIX:-forms-prod-local:}"
base_url="${PROD_LOCAL_BASE_URL:-https://forms.localhost}"
customers="${PROD_LOCAL_CUSTOMERS:-200}"
mkdir -p "$state/logs" "$state/files"
rm -f "$state/ready"

say() { echo "prod-local: $*" >&2; }

# -- secrets: generated once into a 0600 env file, passed as FORMS_* variables -------------
env_file="$state/prod.env"
if [ ! -s "$env_file" ]; then
  (umask 077 && "$bin/python" - >"$env_file" <<'PY'
import json, secrets, shlex
print("FORMS_SECRET_KEY=" + shlex.quote(secrets.token_urlsafe(48)))
print("FORMS_LINK_SIGNING_KEYS=" + shlex.quote(json.dumps([f"k1:{secrets.token_urlsafe(48)}"])))
print("FORMS_IDENTITY_ANSWER_KEY=" + shlex.quote(secrets.token_urlsafe(48)))
PY
  )
  say "secrets generated into $env_file (mode 0600)"
fi
if ! grep -q '^FORMS_IDENTITY_ANSWER_KEY=' "$env_file"; then  # a state made before that key
  (umask 077 && "$bin/python" -c 'import secrets; print("FORMS_IDENTITY_ANSWER_KEY=" + secrets.token_urlsafe(48))' >>"$env_file")
fi
chmod 600 "$env_file"
set -a
# shellcheck disable=SC1090
. "$env_file"
set +a

# -- databases ------------------------------------------------------------------------------
"$bin/python" - "$admin_url" "$db" "${db}_crm" <<'PY'
import sys
import psycopg
admin, *names = sys.argv[1:]
with psycopg.connect(admin, autocommit=True) as connection:
    for name in names:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not found:
            connection.execute(f'CREATE DATABASE "{name}"')
PY
server="${admin_url#postgresql://}"
server="${server%/*}"
crm_url="postgresql+psycopg://$server/${db}_crm"

export FORMS_ENV=production
export FORMS_VAR_DIR="$state"
export FORMS_FILE_STORE_DIR="$state/files"
export FORMS_DEFINITIONS_DIR="$root/form_definitions"
export FORMS_DATABASE_URL="postgresql+psycopg://$server/$db"
export FORMS_BASE_URL="$base_url"
export FORMS_TRUSTED_PROXIES=1
export FORMS_PROCESSES="$workers"
export FORMS_JOBS_BROKER_URL="$redis"
export FORMS_JOBS_REDIS_PREFIX="$prefix"
export FORMS_RATELIMIT_STORAGE_URI="$redis"
export FORMS_RATELIMIT_KEY_PREFIX="$prefix"
# The outbox is delivered right after approval; the deliverer below retries what failed.
export FORMS_OUTBOX_DELIVER_IMMEDIATELY=true
export FORMS_OUTBOX_FIRST_DELAY_SECONDS="${FORMS_OUTBOX_FIRST_DELAY_SECONDS:-5}"
export FORMS_CONNECTORS
FORMS_CONNECTORS="$("$bin/python" -c '
import json, sys
from forms_service.config import DEMO_CRM_RECORD_TYPES
print(json.dumps({"crm": {"type": "sql", "url": sys.argv[1], "record_types": DEMO_CRM_RECORD_TYPES}}))
' "$crm_url")"
export OMP_THREAD_LIMIT=1
export OPENBLAS_NUM_THREADS=1
unset FLASK_DEBUG FORMS_DEBUG

# -- the one-off steps (compose: migrate), then the long-running processes ------------------
"$bin/forms-service" db upgrade >&2
if [ "$customers" -gt 0 ]; then  # builds the app: settings and definitions are checked here
  (umask 077 && "$bin/forms-service" demo init --customers "$customers" >"$state/demo.txt")
  say "demo CRM, accounts and links: $state/demo.txt and $state/demo-credentials.json (0600)"
else
  "$bin/forms-service" definitions check >/dev/null
fi

pids=()
stop() {
  trap - INT TERM EXIT
  say "stopping"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 100); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}" $(cat "$state/worker.pid" "$state/outbox.pid" 2>/dev/null); do
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
}
trap 'stop; exit 0' INT TERM
trap stop EXIT

# Runs "$@" (logs in logs/$name.log, pid in $name.pid, replaced by a rename so that a reader
# never sees it empty) and starts it again whenever it stops, as compose's
# `restart: unless-stopped` does: a job worker killed mid-batch is replaced and its
# unacknowledged jobs come back to the new one. One that stops before the stack is ready is
# not restarted: that is a start-up failure, reported below. SIGTERM stops the process.
supervise() {
  local name="$1" child="" status
  shift
  trap '[ -z "$child" ] || kill -TERM "$child" 2>/dev/null; wait 2>/dev/null; exit 0' TERM
  while true; do
    "$@" >>"$state/logs/$name.log" 2>&1 &
    child=$!
    echo "$child" >"$state/$name.pid.new" && mv -f "$state/$name.pid.new" "$state/$name.pid"
    status=0
    wait "$child" || status=$?
    [ -f "$state/ready" ] || exit "$status"
    say "$name stopped (status $status): starting it again"
    sleep 1
  done
}

"$bin/gunicorn" -c python:forms_service.web.gunicorn_conf --bind "127.0.0.1:$port" \
  --workers "$workers" --no-control-socket --pid "$state/gunicorn.pid" forms_service.wsgi:app \
  >>"$state/logs/web.log" 2>&1 &
pids+=($!)
supervise worker "$bin/forms-service" worker --concurrency "${PROD_LOCAL_JOB_PROCESSES:-1}" \
  --loglevel WARNING &
pids+=($!)
supervise outbox "$bin/forms-service" outbox run --poll 2 &
pids+=($!)

for _ in $(seq 1 300); do
  if "$bin/python" -c '
import sys, urllib.request
try:
    sys.exit(urllib.request.urlopen(sys.argv[1], timeout=2).status != 200)
except OSError:
    sys.exit(1)
' "http://127.0.0.1:$port/readyz" 2>/dev/null; then
    say "ready: gunicorn ($workers workers) on http://127.0.0.1:$port for $base_url, job worker, outbox deliverer; logs in $state/logs"
    echo "ready" >"$state/ready"
    break
  fi
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { say "a process stopped during start-up: see $state/logs"; exit 1; }
  done
  sleep 0.2
done
[ -f "$state/ready" ] || { say "not ready after 60 s: see $state/logs"; exit 1; }

# gunicorn replaces its own workers; if gunicorn itself stops, the stack ends.
wait -n "${pids[@]}" || true
say "a process stopped: see $state/logs"
exit 1
