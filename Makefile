# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run setup test test-sqlite test-pg lint bench clean browser

$(STAMP): requirements.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

setup: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py createcachetable
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py ensureadmin

## Serve the app, a Celery worker and beat at http://127.0.0.1:8000 (Ctrl-C stops all three).
run: setup
	$(BIN)/honcho start

## Debian's Chromium for the browser tests (Playwright cannot download browsers here).
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## Run the whole suite on a fresh machine: on the embedded SQLite default, then again on
## PostgreSQL and Redis. PYTEST_ARGS narrows either run, e.g. PYTEST_ARGS="leads -k cursor".
PYTEST_ARGS ?=
test: test-sqlite test-pg

## The suite on the embedded default (SQLite, in-memory broker), whatever the shell exports.
test-sqlite: $(STAMP) lint browser
	$(BIN)/python manage.py makemigrations --check --dry-run
	env -u DATABASE_URL -u CACHE_URL -u CELERY_BROKER_URL $(BIN)/pytest $(PYTEST_ARGS)

## The suite on throwaway PostgreSQL and Redis servers (installed with apt-get when missing).
test-pg: $(STAMP) browser
	scripts/with-services.sh $(BIN)/pytest $(PYTEST_ARGS)

## Load 1,000,000 leads into BENCH_DATA_DIR and time the API; then time import and export.
BENCH_DATA_DIR ?= /tmp/crm-bench
bench: $(STAMP)
	DATA_DIR=$(BENCH_DATA_DIR) $(BIN)/python manage.py migrate --noinput --verbosity 0
	DATA_DIR=$(BENCH_DATA_DIR) $(BIN)/python manage.py createcachetable
	DATA_DIR=$(BENCH_DATA_DIR) $(BIN)/python manage.py seedleads --leads 1000000 --users 10 --companies 20000 --reset
	DATA_DIR=$(BENCH_DATA_DIR) $(BIN)/python bench/bench_leads.py
	$(BIN)/python bench/bench_sync.py --leads 100000

clean:
	rm -rf $(VENV) staticfiles
