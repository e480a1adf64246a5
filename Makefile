# Pristan: `make run` starts the whole product on this machine, `make test` runs the tests.
# GNU make; works as root on a fresh Debian 12 machine (installs what is missing with apt-get).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
.NOTPARALLEL:

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
# Set to give every demo user this password instead of a generated one.
DEMO_PASSWORD ?=
# Settings for commands that must work without a .env (fresh clone, CI): the test settings
# supply a throwaway secret key and are otherwise the real settings.
TOOL_SETTINGS := config.settings_test

.PHONY: help run test lint typecheck lock migrations-check system-deps system-deps-test venv dotenv \
	compilemessages node-deps clean distclean bench-pages bench-letters bench-load bench-backup \
	bench-accesslog

help:
	@echo "make run               start Pristan at http://$(HOST):$(PORT)/ (SQLite + local worker, demo data)"
	@echo "make test              run the test suite (extra pytest args: PYTEST_ARGS='-k foo -x')"
	@echo "make lint              ruff check + ruff format --check + lint-imports (app layers)"
	@echo "make typecheck         mypy with django-stubs"
	@echo "make lock              re-pin the dependencies (requirements/*.lock) from pyproject.toml"
	@echo "make migrations-check  fail if models changed without a migration"
	@echo "make bench-pages       page times and SQL queries at 100,000 cases (PostgreSQL)"
	@echo "make bench-letters     letter pipeline vs raw WeasyPrint, 1,362 letters (PostgreSQL + Redis)"
	@echo "make bench-load        50 caseworkers (locust) against gunicorn + PostgreSQL + Redis + a worker"
	@echo "make bench-backup      backup and restore of 10,000 cases and 500 files"
	@echo "make bench-accesslog   access-log appends/s with 1, 2, 4, 8 writers (PostgreSQL)"
	@echo "make system-deps       apt-get install the missing Debian packages (root only)"
	@echo "make clean             remove caches, build outputs and var/test (keeps .venv and your data in var/)"
	@echo "make distclean         clean, and remove .venv too (var/ with your data is kept)"

# --- Debian packages ---------------------------------------------------------------------

system-deps:
	@scripts/system-deps.sh

system-deps-test:
	@scripts/system-deps.sh --with-chromium

# --- Virtualenv --------------------------------------------------------------------------
# `venv` (re)creates .venv when it is missing or its Python is older than 3.12, then lets the
# stamp rule install the locked dependencies again only when the lock file is newer than the
# stamp. requirements/dev.lock pins every package with its hashes (pip refuses anything else);
# the project itself is then installed editable without dependencies (so that `celery -A config`
# finds it from anywhere). After changing dependencies in pyproject.toml: `make lock`.

venv:
	@if ! $(PY) -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1; then \
		python=$$(scripts/find-python.sh); \
		echo "venv: creating $(VENV) with $$python"; \
		rm -rf $(VENV); \
		"$$python" -m venv $(VENV); \
	fi
	@$(MAKE) --no-print-directory --silent $(STAMP)

$(STAMP): requirements/dev.lock pyproject.toml
	@echo "venv: pip install --require-hashes -r requirements/dev.lock (new venv, or the lock changed)"
	@$(PY) -m pip install --disable-pip-version-check --quiet --require-hashes -r requirements/dev.lock
	@$(PY) -m pip install --disable-pip-version-check --quiet --no-deps -e .
	@touch $@

# Re-pin every dependency (with hashes) from pyproject.toml: base.lock for the image,
# dev.lock (with the test and lint tools) for make run / make test / CI.
LOCK := $(PY) -m piptools compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links
lock: venv
	@$(PY) -m pip install --disable-pip-version-check --quiet pip-tools
	$(LOCK) --output-file requirements/base.lock pyproject.toml
	$(LOCK) --extra dev --output-file requirements/dev.lock pyproject.toml

# --- Node packages (test tools only) -----------------------------------------------------
# axe-core, pinned in package-lock.json, injected by the browser tests' accessibility checks.

node-deps:
	@if [ ! -f node_modules/axe-core/axe.min.js ]; then \
		if ! command -v npm >/dev/null 2>&1; then \
			echo "node-deps: npm is missing (apt-get install npm): it installs axe-core for the accessibility tests" >&2; \
			exit 1; \
		fi; \
		echo "node-deps: npm ci (axe-core for the accessibility tests)"; \
		npm ci --no-audit --no-fund; \
	fi

# --- Running -----------------------------------------------------------------------------

# A .env for the embedded mode: debug on, and a secret key and encryption keys generated once
# for this checkout (an older .env without encryption keys gets them added).
dotenv:
	@if [ ! -f .env ]; then \
		umask 077; \
		key=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))'); \
		printf 'DJANGO_DEBUG=1\nDJANGO_SECRET_KEY=%s\n' "$$key" > .env; \
		echo "run: wrote .env (DJANGO_DEBUG=1 and a new DJANGO_SECRET_KEY)"; \
	fi
	@if ! grep -q '^FIELD_ENCRYPTION_KEYS=' .env; then \
		$(PY) scripts/generate-keys.py >> .env; \
		echo "run: added FIELD_ENCRYPTION_KEYS and SEARCH_INDEX_KEY to .env (back them up: without them the data cannot be read)"; \
	fi
	@if ! grep -q '^ACCESS_LOG_KEY=' .env; then \
		$(PY) scripts/generate-keys.py --access-log-key >> .env; \
		echo "run: added ACCESS_LOG_KEY to .env (it keys the access log: keep it with the other keys)"; \
	fi

# compilemessages fails when there is no locale directory at all, so only run it when there
# is a catalogue to compile.
compilemessages:
	@if find . -path ./$(VENV) -prune -o -name '*.po' -print -quit | grep -q .; then \
		DJANGO_SETTINGS_MODULE=$(TOOL_SETTINGS) $(PY) manage.py compilemessages \
			--ignore=$(VENV) --verbosity 0; \
	else \
		echo "compilemessages: no .po files yet, nothing to compile"; \
	fi

# Letters print PRISTAN_PUBLIC_URL (QR code, verification link): unless the environment or .env
# sets it, it is the address this server answers at, for the demo seeded here and the worker.
run: system-deps venv dotenv compilemessages
	umask 077 && $(PY) manage.py migrate --noinput
	@umask 077; url=$$(sed -n 's/^PRISTAN_PUBLIC_URL=//p' .env | tail -n 1 | tr -d "\"'"); \
	export PRISTAN_PUBLIC_URL="$${PRISTAN_PUBLIC_URL:-$${url:-http://$(HOST):$(PORT)}}"; \
	if $(PY) manage.py help seed_demo >/dev/null 2>&1; then \
		$(PY) manage.py seed_demo $(if $(DEMO_PASSWORD),--password '$(DEMO_PASSWORD)'); \
	else \
		echo "run: warning: no seed_demo command yet, starting without demo data" >&2; \
	fi; \
	scripts/run-dev.sh $(HOST) $(PORT)

# --- Checks ------------------------------------------------------------------------------

# pytest's own exit code is printed and passed on (make itself then exits 2); exit code 5,
# "no tests collected", counts as a failure.
test: system-deps-test venv node-deps compilemessages
	@status=0; $(PY) -m pytest $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then \
		echo "test: pytest collected no tests (exit code 5): failing" >&2; \
	elif [ $$status -ne 0 ]; then \
		echo "test: pytest failed (exit code $$status)" >&2; \
	fi; \
	exit $$status

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

# Types: the whole project non-strict, the access, selectors and services modules and core/
# strict (pyproject.toml, [tool.mypy]).
typecheck: venv
	$(VENV)/bin/mypy .

migrations-check: venv
	DJANGO_SETTINGS_MODULE=$(TOOL_SETTINGS) $(PY) manage.py makemigrations --check --dry-run

# --- Benchmarks ------------------------------------------------------------------------
# Each prints its figures and writes bench/results/<name>.json. They use the shared PostgreSQL
# (127.0.0.1:5432, user postgres) and Redis (127.0.0.1:6379) and databases of their own; extra
# arguments: BENCH_ARGS='--cases 10000'. See each script's docstring.
BENCH_ARGS ?=
BENCH_PG := postgres://postgres@127.0.0.1:5432
# Create a benchmark's own PostgreSQL database when it does not exist yet (the bench empties it).
bench_db = psql "$(BENCH_PG)/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$(1)'" \
	| grep -q 1 || psql "$(BENCH_PG)/postgres" -qc 'CREATE DATABASE $(1)'

bench-pages: venv
	@if [ -z "$${DATABASE_URL:-}" ]; then $(call bench_db,pristan_bench); fi
	DATABASE_URL=$${DATABASE_URL:-$(BENCH_PG)/pristan_bench} $(PY) bench/pages.py $(BENCH_ARGS)

bench-letters: venv
	@if [ -z "$${DATABASE_URL:-}" ]; then $(call bench_db,pristan_lbench); fi
	DATABASE_URL=$${DATABASE_URL:-$(BENCH_PG)/pristan_lbench} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/15} \
	$(PY) bench/letters.py --n 1362 $(BENCH_ARGS)

bench-load: venv
	@$(PY) -c 'import locust' 2>/dev/null || $(PY) -m pip install --disable-pip-version-check --quiet -e '.[dev,bench]'
	$(PY) bench/load.py --users 50 --duration 120 --think 1-3 $(BENCH_ARGS)

bench-backup: venv
	DATABASE_URL=$${DATABASE_URL:-$(BENCH_PG)/pristan_backup_bench} $(PY) bench/backup.py $(BENCH_ARGS)

bench-accesslog: venv
	DATABASE_URL=$${DATABASE_URL:-$(BENCH_PG)/pristan_accesslog_bench} $(PY) bench/accesslog.py $(BENCH_ARGS)

# --- Cleaning ----------------------------------------------------------------------------

clean:
	rm -rf .pytest_cache .ruff_cache .hypothesis test-artifacts *.egg-info build dist
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -path ./$(VENV) -prune -o -name '*.mo' -type f -exec rm -f {} +
	rm -rf var/staticfiles var/test var/test.sqlite3*

distclean: clean
	rm -rf $(VENV)
