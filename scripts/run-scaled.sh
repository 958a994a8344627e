#!/usr/bin/env bash
# The scaled-out layout on one machine, for trying it: two web processes, two Celery workers
# and one beat on PostgreSQL and Redis. `make run-scaled` runs it inside
# scripts/with-services.sh, which supplies DATABASE_URL, CELERY_BROKER_URL and CACHE_URL.
#
# Web processes listen on SCALED_PORT and SCALED_PORT+1 (honcho gives each web.N its own
# $PORT); workers are told apart by honcho's process name (worker.1@host, worker.2@host).
set -euo pipefail
cd "$(dirname "$0")/.."

: "${DATABASE_URL:?run me through scripts/with-services.sh (or set DATABASE_URL, CELERY_BROKER_URL and CACHE_URL)}"
: "${CELERY_BROKER_URL:?}" "${CACHE_URL:?}"
# Its own folder for generated secrets and beat's schedule file, so it never shares them
# with a `make run` going on beside it.
export DATA_DIR=${DATA_DIR:-$PWD/var/scaled}
PORT_BASE=${SCALED_PORT:-8001}
BIN=.venv/bin
# The Procfile names gunicorn and celery bare, as `make run` finds them.
export PATH="$PWD/$BIN:$PATH"

$BIN/python manage.py migrate --noinput
$BIN/python manage.py collectstatic --noinput --verbosity 0
$BIN/python manage.py ensureadmin

cat <<INFO

 Web processes:  web.1 http://127.0.0.1:$PORT_BASE/   web.2 http://127.0.0.1:$((PORT_BASE + 1))/
 Workers: worker.1, worker.2; one beat. Ctrl-C stops them all and the servers under them.
 manage.py against this stack, from another shell (e.g. createapitoken admin):
   env DATABASE_URL='$DATABASE_URL' CELERY_BROKER_URL='$CELERY_BROKER_URL' \\
       CACHE_URL='$CACHE_URL' DATA_DIR='$DATA_DIR' $BIN/python manage.py …

INFO

# exec: honcho itself receives the TERM or INT that scripts/with-services.sh passes on.
exec $BIN/honcho --procfile Procfile.scaled start --port "$PORT_BASE" --concurrency web=2,worker=2
