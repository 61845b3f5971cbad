# Listening Post — `make run` to try it, `make test` to check it.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test install system-deps postgres lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## make run: install, migrate, serve on http://127.0.0.1:8000 with SQLite in var/
run: install
	@mkdir -p var
	$(VENV)/bin/listening-post migrate
	LP_SERVER__DEVELOPMENT=true $(VENV)/bin/listening-post serve

## make test: install everything the tests need (Debian packages too), start PostgreSQL, check
test: install system-deps postgres lint typecheck pytest

system-deps:
	@bash scripts/system-deps.sh

postgres:
	@bash scripts/ensure-postgres.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy

pytest: install
	$(VENV)/bin/pytest

## make bench: benchmarks, figures to benchmarks/results.json
bench: install
	$(PY) benchmarks/bench_tagging.py
	$(PY) benchmarks/bench_loop_lag.py
	$(PY) benchmarks/bench_telegram.py
	$(PY) benchmarks/bench_dashboard.py
	$(PY) benchmarks/bench_updates.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache .hypothesis
