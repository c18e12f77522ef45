# Studio: the commands the README promises. Everything installs itself into .venv.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: install install-dev run test test-postgres lint typecheck bench clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Set up and run Studio: web on :$(PORT) and the task cluster, SQLite, offline engine, demo login.
run: export STUDIO_DEBUG = 1
run: export STUDIO_BASE_URL ?= http://localhost:$(PORT)
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py seed_demo
	$(PY) manage.py run_studio --port $(PORT)

## Set up and run the whole test suite (SQLite by default; DATABASE_URL/REDIS_URL switch).
test: install-dev
	$(PY) tests/check_browser.py
	$(PY) -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install-dev
	STUDIO_DEBUG=1 $(VENV)/bin/mypy studio generations catalog

bench: install-dev
	$(PY) bench/run_all.py

clean:
	rm -rf var/ $(VENV)
