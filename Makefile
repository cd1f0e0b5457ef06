# One command to run it, one to test it. Only Python 3.11+ is needed beforehand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export PYTHONDONTWRITEBYTECODE := 1


.PHONY: test-pgbouncer
.PHONY: run test install install-dev migrate lint typecheck check stop clean squawk drift
.PHONY: bench-admin bench-services bench

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required" if sys.version_info < (3, 11) else 0)'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(BIN)/python -m apps.core.pg_contrib ensure
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	$(BIN)/python -m apps.core.pg_contrib ensure
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make run: embedded PostgreSQL (or DATABASE_URL), all migrations, then the web app.
run: install migrate
	$(BIN)/piccolo db partitions
	$(BIN)/piccolo db seed --if-empty
	$(BIN)/python -m apps.adminsite.first_login --url http://$(HOST):$(PORT)/admin/
	$(BIN)/uvicorn app:app --host $(HOST) --port $(PORT) --no-proxy-headers

migrate: install
	$(BIN)/piccolo migrations forwards all

## make test: the whole suite against a throwaway embedded PostgreSQL (installs Debian's
## chromium and pgbouncer when they are missing: apt-get as root, sudo otherwise).
test: install-dev
	scripts/ensure_test_tools.sh
	$(BIN)/pytest -p no:cacheprovider

## make test-pgbouncer: the service and admin suites again, every connection through a real
## PgBouncer in transaction pooling mode (CI runs it after make test).
test-pgbouncer: install-dev
	scripts/ensure_test_tools.sh
	TEST_VIA_PGBOUNCER=1 $(BIN)/pytest -p no:cacheprovider tests/admin tests/users tests/media \
		tests/ads tests/knowledge tests/scaling/test_pgbouncer.py \
		--deselect tests/admin/test_browser.py

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-dev
	$(BIN)/mypy .

check: lint typecheck test

## make squawk: the migration safety lint over the SQL of every migration (needs a database).
squawk: install-dev
	BIN=$(BIN) scripts/squawk.sh

## make drift: fail when a table changed without a migration.
drift: install
	$(BIN)/piccolo db drift

## make stop: stop the embedded development server (its data stays in .data/postgres).
stop: install
	$(BIN)/python -m apps.core.embedded stop

clean:
	rm -rf $(VENV) build *.egg-info

## make bench: every service workload vs the same SQL on a bare asyncpg connection (the floor),
## on COPY-loaded data (100k clips, 200k conversions, 20k x 1536 vectors); a scratch server.
bench: install-dev
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench.floor

## make bench-admin: the admin's clips list at 1,000,000 clips, ours vs stock (by hand).
bench-admin: install-dev
	$(BIN)/python -m bench.admin_list --clips 1000000

## make bench-ads: the ads services and selectors against the same SQL on raw asyncpg.
.PHONY: bench-ads
bench-ads: install-dev
	$(BIN)/python -m bench.services_ads

## make bench-services: users/media services vs the same SQL on raw asyncpg (a throwaway server).
bench-services: install
	$(BIN)/python -m bench.services_users_media

.PHONY: bench-knowledge
## make bench-knowledge: vector, full-text and hybrid search on 20,000 x 1536 (scratch server).
bench-knowledge: install-dev
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python -m bench.knowledge

.PHONY: bench-import-prisma
## make bench-import-prisma: import-prisma of a 500,000-row Prisma-era source vs pg_dump | pg_restore.
bench-import-prisma: install-dev
	$(BIN)/python -m bench.import_prisma --rows 500000
