# The two commands: `make demo` (set up, generate the sample territory, materialize everything,
# serve the Dagster UI) and `make test` (set up, run the whole test suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-stamp

.PHONY: install demo test bench lint ui duckdb clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev,bench]'
	touch $(BENCH_STAMP)

demo: install
	$(BIN)/jnft demo

# Lint, format and types first: a change that fails them fails the tests.
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(BENCH_STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# Fix what ruff can fix, format, then report what is left (and the type errors).
lint: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .
	$(BIN)/ruff check .
	$(BIN)/mypy

# The Dagster UI over what is already materialized.
ui: install
	DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/.jnft/dagster_home} $(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# The plain DuckDB shell on the lakehouse, read-only, with the spatial extension loaded.
duckdb: install
	$(BIN)/duckdb -readonly $${JNFT_LAKEHOUSE:-.jnft/lakehouse}/lakehouse.duckdb -cmd "LOAD spatial"

clean:
	rm -rf .jnft
