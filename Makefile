# allied-c2: every target sets itself up from scratch; see README "Quick start".
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
STATIC := src/allied_c2/web/static/index.html
FRONTEND_SRC := $(shell find frontend/src frontend/index.html frontend/package.json frontend/package-lock.json frontend/tsconfig.json frontend/vite.config.* -type f 2>/dev/null)

.PHONY: setup demo serve test test-deep lint bench soak fuzz clean frontend browser services

ENGINE := src/allied_c2/analysis/engine.sha256

setup: $(STAMP) $(STATIC) $(ENGINE)

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

# The simulator's fast path compiled with mypyc (same code, same results, ~1.4× faster);
# without a C compiler it says so and the source runs (analysis/engine_build.py).
$(ENGINE): src/allied_c2/analysis/engine.py $(STAMP)
	@$(BIN)/python scripts/compile_engine.py

# The web COP is built from frontend/ into the Python package (never hand-edited).
$(STATIC): $(FRONTEND_SRC)
	@if [ -f frontend/package.json ]; then \
	  cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build; \
	fi

frontend: $(STATIC)

demo: setup
	$(BIN)/allied-c2 demo --data-dir var/demo

serve: setup
	$(BIN)/allied-c2 serve --data-dir var

# Installs Debian chromium for the browser tests and starts local services
# (PostgreSQL) where this machine has them; both are no-ops when already there.
services:
	@bash scripts/ensure-test-services.sh

browser:
	@bash scripts/ensure-chromium.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy src bench

# Two workers (one per core of the 2-core reference machine; most tests wait on sockets
# and browsers), whole files per worker so module fixtures start once; then the tests
# marked `serial` (they measure latency and loss under load, or change the host network) alone.
TEST_WORKERS ?= 2
test: setup services browser lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile -m "not serial" --durations=15
	$(BIN)/pytest -p no:xdist -m serial

# The exit-matrix property test at depth: 100,000 random cases through every exit, live
# and after a restart (tens of minutes); it prints "exit matrix: N cases, M observations".
test-deep: setup
	ALLIED_C2_DEEP=1 $(BIN)/pytest -q tests/security/test_exit_matrix.py

bench: setup
	$(BIN)/python -m bench.run --out var/bench

# Issue 14 (docs/reliability.md). An hour of medium load over TLS with reconnects,
# WebSocket viewers and API polling (var/soak/soak.json and soak.png), then the fault
# tests that take over a minute each (marked `soak`). SOAK_SECONDS shortens the hour;
# SOAK_NICE=-10 (root) keeps a shared machine's other work from being what it measures.
SOAK_SECONDS ?= 3600
SOAK_NICE ?= 0
soak: setup services
	$(BIN)/python -m bench.soak --out var/soak --duration $(SOAK_SECONDS) --nice $(SOAK_NICE)
	ALLIED_C2_SOAK=1 $(BIN)/pytest -q -m soak tests/reliability

# Coverage-guided fuzzing (atheris) of each parser for FUZZ_SECONDS (default 600) each,
# one after another at nice 19; findings in var/fuzz/summary.json (docs/reliability.md).
FUZZ_SECONDS ?= 600
fuzz: setup
	FUZZ_SECONDS=$(FUZZ_SECONDS) $(BIN)/python -m fuzz.run --out var/fuzz

clean:
	rm -rf $(VENV) var src/allied_c2/web/static src/allied_c2/analysis/engine*.so $(ENGINE) frontend/node_modules .mypy_cache .pytest_cache .ruff_cache
