# The two commands: `make run` and `make test` (plus `make lint`, `make bench`).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
FLASK := FLASK_APP=wsgi $(VENV)/bin/flask
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test lint format bench translations translations-update install install-dev sysdeps-run sysdeps-test sysdeps-bench clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.dev-installed

sysdeps-run:
	@scripts/system-deps.sh run

sysdeps-test:
	@scripts/system-deps.sh test

sysdeps-bench:
	@scripts/system-deps.sh bench

# The catalog: odr/translations/zh_CN/LC_MESSAGES/messages.po is the source (in git), the
# compiled .mo is built here. After changing a message, run `make translations-update` and
# translate what it marks new or fuzzy (tests/test_translations.py fails until then).
BABEL_POT := odr/translations/messages.pot

translations: $(VENV)/.installed
	@$(VENV)/bin/pybabel compile -d odr/translations

translations-update: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F babel.cfg --no-location --sort-output -o $(BABEL_POT) .
	$(VENV)/bin/pybabel update -i $(BABEL_POT) -d odr/translations -l zh_CN \
	  --no-wrap --ignore-obsolete --ignore-pot-creation-date

run: install sysdeps-run translations
	$(FLASK) db upgrade
	@echo "== demo logins (role email password) =="
	@$(FLASK) odr seed-demo --if-empty
	@FLASK_BIN=$(VENV)/bin/flask scripts/run.sh

# Both databases run at once (each pytest is one process; the machine has two cores), the
# PostgreSQL run's output is printed when it ends; fails if either did (CI shows every failure).
test: install-dev sysdeps-test translations
	@status=0; \
	export ODR_TEST_DATABASE_URL="$${ODR_TEST_DATABASE_URL:-$(PG_URL)}"; \
	pg_log=$$(mktemp); \
	if scripts/postgres-up.sh; then \
	  ( ODR_TEST_DB=postgres $(VENV)/bin/pytest -m "not browser" -p no:cacheprovider \
	      > $$pg_log 2>&1; echo $$? > $$pg_log.rc ) & \
	else echo 1 > $$pg_log.rc; fi; \
	echo "== tests on SQLite (with the browser tests) =="; \
	ODR_TEST_DB=sqlite $(VENV)/bin/pytest || status=1; \
	wait; \
	echo "== tests on PostgreSQL ($$ODR_TEST_DATABASE_URL) =="; \
	cat $$pg_log; \
	[ "$$(cat $$pg_log.rc)" = 0 ] || status=1; \
	rm -f $$pg_log $$pg_log.rc; \
	exit $$status

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install-dev sysdeps-bench translations
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
