#!/usr/bin/env bash
# Run a command against throwaway PostgreSQL and Redis servers:
#
#   scripts/with-services.sh .venv/bin/pytest
#
# Both servers listen on 127.0.0.1 on free ports picked now, keep their data in a fresh
# temporary directory, and are stopped (and the directory removed) when the command ends,
# whether it passed, failed or was interrupted. The command sees DATABASE_URL,
# CELERY_BROKER_URL and CACHE_URL pointing at them; the database role may create databases
# (pytest-django makes one per xdist worker) and owns its database (so migrations may
# CREATE EXTENSION pg_trgm). Missing servers are installed from Debian's packages.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 COMMAND [ARG...]" >&2
  exit 2
fi

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo

pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
    echo "$dir"
  elif command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"
  fi
}

missing=()
[ -n "$(pg_bindir)" ] || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "Installing ${missing[*]} for the PostgreSQL and Redis test run"
  # The packages' own services may try to start; ours run on their own ports regardless.
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
PG_BIN=$(pg_bindir)

# PostgreSQL refuses to run as root: run it as the postgres system user then.
AS_PG=()
if [ "$(id -u)" = 0 ]; then
  AS_PG=(runuser -u postgres --)
fi

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/crm-services.XXXXXX")
chmod 711 "$WORK"  # the postgres user must reach its own folder inside
PG_DIR="$WORK/pg"
REDIS_DIR="$WORK/redis"
mkdir -p "$PG_DIR" "$REDIS_DIR"
[ "${#AS_PG[@]}" -eq 0 ] || chown postgres: "$PG_DIR"

PG_STARTED=""
REDIS_PID=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  if [ -n "$PG_STARTED" ]; then
    "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ -n "$REDIS_PID" ]; then
    kill "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- PostgreSQL -----------------------------------------------------------------------------
PG_PORT=$(free_port)
PG_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
"${AS_PG[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --encoding UTF8 --locale C.UTF-8 \
  --auth-local trust --auth-host scram-sha-256 --no-sync >"$WORK/initdb.log" 2>&1 \
  || { cat "$WORK/initdb.log" >&2; exit 1; }
# A test server: durability is worth nothing here, speed is.
PG_OPTIONS="-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PG_DIR"
# SERVICES_DURABLE=1 (benchmarks) keeps PostgreSQL's defaults: every commit reaches the disk.
if [ -z "${SERVICES_DURABLE:-}" ]; then
  PG_OPTIONS+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
else
  PG_OPTIONS+=" -c shared_buffers=512MB -c effective_cache_size=4GB -c work_mem=16MB"
fi
PG_OPTIONS+=" -c max_connections=200"
PG_STARTED=1
"${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -o "$PG_OPTIONS" \
  -w -t 60 start >/dev/null || { cat "$PG_DIR/server.log" >&2; exit 1; }
"${AS_PG[@]}" "$PG_BIN/psql" -h "$PG_DIR" -p "$PG_PORT" -U postgres -d postgres -q \
  -v ON_ERROR_STOP=1 -v password="$PG_PASSWORD" >/dev/null <<'SQL'
CREATE ROLE crm LOGIN CREATEDB PASSWORD :'password';
CREATE DATABASE crm OWNER crm;
SQL

# --- Redis ----------------------------------------------------------------------------------
REDIS_PORT=$(free_port)
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$REDIS_DIR" --save "" \
  --appendonly no --logfile "$REDIS_DIR/server.log" &
REDIS_PID=$!
for _ in $(seq 100); do
  if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
    break
  fi
  kill -0 "$REDIS_PID" 2>/dev/null || { cat "$REDIS_DIR/server.log" >&2; exit 1; }
  sleep 0.1
done

export DATABASE_URL="postgres://crm:$PG_PASSWORD@127.0.0.1:$PG_PORT/crm"
export CELERY_BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"
export CACHE_URL="redis://127.0.0.1:$REDIS_PORT/1"
# With a database server the settings require the secrets every process must share.
export SECRET_KEY="${SECRET_KEY:-$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')}"
export FIELD_ENCRYPTION_KEYS="${FIELD_ENCRYPTION_KEYS:-$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')}"
echo "PostgreSQL on 127.0.0.1:$PG_PORT, Redis on 127.0.0.1:$REDIS_PORT (in $WORK)"

# In the background, not exec'd: the traps must stop the servers when the command ends, and
# a TERM or INT sent to this script alone reaches the command at once (bash runs traps only
# between commands, and `wait` is one it interrupts).
"$@" <&0 &
CHILD=$!
trap 'kill -TERM "$CHILD" 2>/dev/null; wait "$CHILD"; exit 143' TERM
trap 'kill -INT "$CHILD" 2>/dev/null; wait "$CHILD"; exit 130' INT
wait "$CHILD"
