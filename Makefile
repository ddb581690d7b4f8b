# Two commands do all the set-up on a fresh machine:
#   make synth   install what is missing, then synthesize every stack into cdktf.out/
#   make test    install what is missing, then run the whole test suite
SHELL := /bin/bash
.DEFAULT_GOAL := synth

PIPENV_VERSION := 2026.10.3
export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_VERBOSITY := -1
export PIPENV_NOSPIN := 1
export PIPENV_YES := 1

PYTHON := .venv/bin/python
INSTALLED := .venv/.installed

.PHONY: install synth test lint format bench clean

# The virtualenv is rebuilt whenever Pipfile.lock changes.
$(INSTALLED): Pipfile.lock
	@python3 -m pipenv --version >/dev/null 2>&1 || python3 -m pip install --quiet "pipenv==$(PIPENV_VERSION)" \
		|| python3 -m pip install --quiet --user "pipenv==$(PIPENV_VERSION)"
	python3 -m pipenv sync --dev
	@touch $@

install: $(INSTALLED)

synth: $(INSTALLED)
	rm -rf cdktf.out
	$(PYTHON) -O main.py
	@echo "Synthesized: $$(ls cdktf.out/stacks | tr '\n' ' ')"

test: $(INSTALLED) lint
	$(PYTHON) -m pytest

lint: $(INSTALLED)
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy

format: $(INSTALLED)
	$(PYTHON) -m ruff format .
	$(PYTHON) -m ruff check --fix .

# Synth time and memory, fast path vs eager import, scaling with pipelines, app vs `cdktf synth`.
bench/node_modules/.package-lock.json: bench/package-lock.json
	cd bench && npm ci --no-audit --no-fund
bench: $(INSTALLED) bench/node_modules/.package-lock.json
	$(PYTHON) bench/run.py

clean:
	rm -rf cdktf.out .pytest_cache .mypy_cache .ruff_cache
