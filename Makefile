# The two commands: `make run` and `make test` (plus `make lint`, `make bench`).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
FLASK := FLASK_APP=wsgi $(VENV)/bin/flask
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: run test lint format bench translations install install-dev sysdeps-run sysdeps-test clean

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

translations: $(VENV)/.installed
	@$(PY) scripts/i18n.py compile

run: install sysdeps-run translations
	$(FLASK) db upgrade
	@echo "== demo logins (role email password) =="
	@$(FLASK) odr seed-demo --if-empty
	@echo "== serving on http://127.0.0.1:5000 =="
	$(FLASK) run --host 127.0.0.1 --port 5000

test: install-dev sysdeps-test translations
	ODR_TEST_DB=sqlite $(VENV)/bin/pytest
	scripts/postgres-up.sh
	ODR_TEST_DB=postgres ODR_TEST_DATABASE_URL=$${ODR_TEST_DATABASE_URL:-$(PG_URL)} $(VENV)/bin/pytest -m "not browser"

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: install-dev sysdeps-test translations
	$(PY) -m bench.run

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache
