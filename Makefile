# The two commands: `make demo` (set up, generate the sample territory, materialize everything,
# serve the Dagster UI and the viewer) and `make test` (set up, run the whole test suite).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-stamp
VIEWER := jnft/viewer/static/index.html

.PHONY: install system demo test bench lint ui duckdb clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	touch $(STAMP)

# The viewer's front-end, from the npm registry (package-lock.json), built into the package.
$(VIEWER): viewer/package-lock.json viewer/index.html viewer/vite.config.js $(wildcard viewer/src/*)
	cd viewer && npm ci --no-audit --no-fund --loglevel=error && npm run build --silent

install: $(STAMP) $(VIEWER)

# What the tests and benchmarks run for real, from Debian's packages where missing: a
# PostgreSQL server with PostGIS, and Chromium (driven by Playwright).
MISSING := $(if $(wildcard /usr/bin/chromium),,chromium) \
	$(if $(shell command -v initdb || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null),,postgresql) \
	$(if $(wildcard /usr/share/postgresql/*/extension/postgis.control),,postgresql-15-postgis-3)
system:
	@if [ -n "$(strip $(MISSING))" ]; then \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(MISSING); \
	fi

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev,bench]'
	touch $(BENCH_STAMP)

demo: install
	$(BIN)/jnft demo

# Lint, format and types first: a change that fails them fails the tests.
test: install system
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
