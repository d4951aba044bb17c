# Two commands for a newcomer: `make run` (the demo) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TOOLS := .nextoria/tools
# A bun installed here from npm is used when none is on the PATH (Reflex 0.10 needs it).
export PATH := $(CURDIR)/$(TOOLS)/node_modules/.bin:$(PATH)

.PHONY: run dev test install bun lint format bench

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

install: $(VENV)/.installed

bun:
	@command -v bun >/dev/null 2>&1 || { \
	  echo "Installing bun from npm into $(TOOLS)..."; \
	  npm install --prefix $(TOOLS) --no-save --no-audit --no-fund bun@1.4 >/dev/null; }

run: install bun
	./scripts/run-demo.sh

dev: install bun
	$(BIN)/nextoria db upgrade
	$(BIN)/nextoria demo seed
	$(BIN)/reflex run

test: install bun
	./scripts/ensure-chromium.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Benchmarks against floors measured in the same run; writes docs/performance.md.
bench: install bun
	./scripts/ensure-chromium.sh
	$(BIN)/python -m benchmarks $(BENCH_ARGS)
