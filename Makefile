# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean postgres chromium record

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/tuiapp

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

# The PostgreSQL tests need a server binary: install Debian's package when it is missing and
# this user may (CI runs as root). Without it those tests are skipped, saying why.
postgres:
	@ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	       && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql) >/dev/null 2>&1; } \
	  || echo "PostgreSQL is not installed and could not be: its tests will be skipped"

# The web page's tests drive Debian's chromium through Playwright (never a browser of its own):
# installed like PostgreSQL when missing and this user may; otherwise those tests are skipped.
chromium:
	@command -v chromium >/dev/null 2>&1 \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	       && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1; } \
	  || echo "chromium is not installed and could not be: the web page's browser tests will be skipped"

test: lint postgres chromium
	$(BIN)/pytest -q

# nginx (the fast origin) and aria2c (a reference) are installed when root and apt-get allow;
# otherwise the bench says at the top of its output what it falls back to and what is missing.
bench: $(STAMP)
	@{ { command -v nginx || [ -x /usr/sbin/nginx ]; } && command -v aria2c; } >/dev/null 2>&1 \
	  || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	       && (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx aria2) >/dev/null 2>&1; } \
	  || echo "nginx or aria2c is missing and could not be installed (as root: apt-get install nginx aria2)"
	$(BIN)/python -m bench

# Needs internet (and API keys in the environment or .env): one real answer per scraper and API,
# saved byte for byte with its provenance into tests/fixtures/recorded/. `make record ONLY=pexels`
RECORD_ONLY ?= $(ONLY)
record: $(STAMP)
	$(BIN)/python -m tests.record $(RECORD_ONLY)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
