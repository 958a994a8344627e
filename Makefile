# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# What is installed, by the content of the requirement files: runtime (make run) and, on top
# of it, what the tests, the linters and the benchmarks need (make test, lint, bench).
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)
DEV_STAMP := $(VENV)/.installed-dev-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run run-scaled setup test test-sqlite test-pg lint bench bench-compare bench-paired clean browser wrk

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-[0-9]*
	@touch $(STAMP)

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-dev-*
	@touch $(DEV_STAMP)

setup: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py ensureadmin

## Serve the app, a Celery worker and beat at http://127.0.0.1:8000 (Ctrl-C stops all three).
run: setup
	$(BIN)/honcho start

## The scaled-out layout on this machine: two web processes (http://127.0.0.1:8001 and :8002),
## two Celery workers and one beat on throwaway PostgreSQL and Redis (apt-get installs them when
## missing); migrates, collects static files and creates the first admin first. Ctrl-C stops
## everything, servers included (docs/deploy.md).
SCALED_PORT ?= 8001
run-scaled: $(STAMP)
	SCALED_PORT=$(SCALED_PORT) scripts/with-services.sh scripts/run-scaled.sh

## Debian's wrk for the load figures of make bench (requests/s with 32 clients).
wrk:
	@command -v wrk >/dev/null 2>&1 || { echo "Installing Debian's wrk for the load figures"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }

## Debian's Chromium for the browser tests (Playwright cannot download browsers here).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

## Run the whole suite on a fresh machine: on the embedded SQLite default, then again on
## PostgreSQL and Redis. PYTEST_ARGS narrows either run, e.g. PYTEST_ARGS="leads -k cursor".
PYTEST_ARGS ?=
test: test-sqlite test-pg

## The suite on the embedded default (SQLite, in-memory broker), whatever the shell exports.
test-sqlite: $(DEV_STAMP) lint browser
	$(BIN)/python manage.py makemigrations --check --dry-run
	env -u DATABASE_URL -u CACHE_URL -u CELERY_BROKER_URL $(BIN)/pytest $(PYTEST_ARGS)

## The suite on throwaway PostgreSQL and Redis servers (installed with apt-get when missing).
test-pg: $(DEV_STAMP) browser
	scripts/with-services.sh $(BIN)/pytest $(PYTEST_ARGS)

## SQLite and PostgreSQL at 10k, 100k and 1M leads: latency beside a raw baseline, requests/s
## with 32 clients, import and export throughput; one table (see bench/README.md). ~30 min.
## Then the shared vendor rate limit on the SQLite file and on Redis (about a minute each).
BENCH_ARGS ?=
bench: $(DEV_STAMP) wrk
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python bench/matrix.py $(BENCH_ARGS)
	$(BIN)/python bench/bench_ratelimit.py
	scripts/with-services.sh $(BIN)/python bench/bench_ratelimit.py

## `make bench` of this checkout and another one, OTHER=path (say a git worktree of the commit
## before a change, with this .venv linked in), their parts run in turn so that both see the
## machine alike, and every figure's ratio (bench/compare.py). About twice `make bench`.
OTHER ?=
bench-compare: $(DEV_STAMP) wrk
	@test -n "$(OTHER)" || { echo "Say which checkout to compare with: make bench-compare OTHER=path"; exit 2; }
	$(BIN)/python bench/compare.py $(OTHER) $(BENCH_ARGS)

## The same comparison with both checkouts set up side by side and taking turns every 30
## requests, 2 s of wrk and import run (bench/paired.py): for differences of a few percent.
bench-paired: $(DEV_STAMP) wrk
	@test -n "$(OTHER)" || { echo "Say which checkout to compare with: make bench-paired OTHER=path"; exit 2; }
	$(BIN)/python bench/paired.py $(OTHER) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) staticfiles
