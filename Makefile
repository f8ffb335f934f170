# One command runner for laptops and CI. Every target installs what it needs into .venv.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

# Some machines set PYTHONDONTWRITEBYTECODE (the development machines here do): every Python
# process, each CLI command a test runs and each server, worker and xdist process, then
# compiled unimeter's modules and the rewritten tests from source, 0.3-0.5 s of each start.
# The caches are git-ignored.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help install browser promtool focus-validator demo test lint typecheck unit fuzz bench bench-fleet bench-peer clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install unimeter with its dev tools

# Playwright cannot download browsers here: the browser tests use Debian's chromium.
browser: ## install the system chromium the browser tests drive (apt-get)
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -q chromium >/dev/null; \
	  else sudo apt-get install -y -q chromium >/dev/null; fi; }
	@chromium --version 2>/dev/null | head -1

# Optional: tests/deploy/ checks deploy/'s PromQL with a tokenizer, and with promtool too
# when it is installed (Debian's prometheus package; the daemon is not started here).
promtool: ## install promtool (apt-get prometheus), which the deploy/ asset test also runs
	@command -v promtool >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -q --no-install-recommends prometheus >/dev/null; \
	  else sudo apt-get install -y -q --no-install-recommends prometheus >/dev/null; fi; }
	@promtool --version 2>&1 | head -1

# The FinOps Foundation's FOCUS validator checks our FOCUS export (tests/exports/). It needs
# Python >= 3.12, so it gets a venv of its own: python3.12 from PATH, else pyenv's. Without
# one the target says so and the test skips. pyarrow 26 needs numpy 2, which the validator
# refuses (numpy < 2).
FOCUS_VALIDATOR_VERSION := 2.2.1
FOCUS_VENV := .venv-focus
FOCUS_STAMP := $(FOCUS_VENV)/.installed-$(FOCUS_VALIDATOR_VERSION)
PYTHON312 ?= $(firstword $(shell python3.12 -c 'import sys; print(sys.executable)' 2>/dev/null) \
  $(wildcard $(shell pyenv root 2>/dev/null)/versions/3.12*/bin/python3.12 \
             $(HOME)/.pyenv/versions/3.12*/bin/python3.12))
export UNIMETER_FOCUS_VALIDATOR := $(abspath $(FOCUS_VENV))/bin/focus-validator

$(FOCUS_STAMP):
	@if [ -z "$(PYTHON312)" ]; then \
	  echo "focus-validator: no Python 3.12 found (PATH or pyenv); its test will skip"; \
	else \
	  rm -rf $(FOCUS_VENV) && $(PYTHON312) -m venv $(FOCUS_VENV) && \
	  $(FOCUS_VENV)/bin/python -m pip install --quiet \
	    'focus-validator==$(FOCUS_VALIDATOR_VERSION)' 'pyarrow<26' && touch $@; \
	fi

focus-validator: $(FOCUS_STAMP) ## the FOCUS validator (Python 3.12, .venv-focus) the export tests run

demo: $(STAMP) ## run the product on embedded defaults against a simulated Cursor team
	$(BIN)/unimeter demo

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP) ## mypy --strict on src/ and tests/
	$(BIN)/mypy --strict src tests

# Two processes run the suite; beside them a third runs the slow tests one at a time (they
# mostly wait on subprocesses, sockets and simulated minutes), its report printed after
# theirs; then the timing tests run alone (compressed schedules a busy machine cannot keep).
SLOW_LOG := artifacts/slow-tests.log
unit: $(STAMP) browser focus-validator ## the test suite: two processes and the slow tests beside them, then the timing tests alone
	@mkdir -p $(dir $(SLOW_LOG))
	@$(BIN)/pytest -m "slow and not timing" --durations=5 >$(SLOW_LOG) 2>&1 & slow=$$!; \
	$(BIN)/pytest -n 2 --dist loadgroup -m "not slow" --durations=10; rest=$$?; \
	wait $$slow; slow=$$?; echo "--- the slow tests, which ran beside these ($(SLOW_LOG)):"; \
	cat $(SLOW_LOG); [ $$rest -eq 0 ] && [ $$slow -eq 0 ]
	$(BIN)/pytest -m timing --durations=5

test: lint typecheck unit ## everything CI runs

fuzz: $(STAMP) ## schemathesis against a real `unimeter serve`: fails on any 5xx (FUZZ_EXAMPLES=30)
	$(BIN)/python -m tests.support.fuzz

bench: $(STAMP) ## benchmarks; record the figures in BENCHMARKS.md
	$(BIN)/python bench/simulator.py
	$(BIN)/python bench/backfill.py
	$(BIN)/python bench/anthropic_backfill.py
	@command -v wrk >/dev/null || { echo "bench/api.py needs wrk: apt-get install wrk"; exit 1; }
	$(BIN)/python bench/api.py --workers 1
	$(BIN)/python bench/api.py --workers 2
	$(BIN)/python bench/analytics.py

bench-fleet: $(STAMP) ## 500 teams on hourly schedules, 1, 2 and 4 workers (needs PostgreSQL)
	$(BIN)/python bench/fleet.py

# Not part of `make bench` or CI: it pip-installs a peer (ingestr) into .bench/ on first use.
bench-peer: $(STAMP) ## ingestr against `unimeter sync` on one simulated team (SQLite and PostgreSQL)
	$(BIN)/python bench/peer.py

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) $(FOCUS_VENV) .mypy_cache .ruff_cache .pytest_cache
