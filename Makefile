# Two entry points: `make demo` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint train bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-runtime: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# The tests run the benchmarks once with tiny counts, so they need the benchmark's peers too.
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,train,bench]"
	touch $@ $(VENV)/.installed-runtime

demo: $(VENV)/.installed-runtime
	$(BIN)/sdm-runtime demo

test: $(VENV)/.installed-test
	$(BIN)/ruff check sdmtool reference_runtime tests bench
	$(BIN)/ruff format --check sdmtool reference_runtime tests bench
	$(BIN)/python -m pytest -q

train: $(VENV)/.installed-test
	$(BIN)/sdm-runtime train

bench: $(VENV)/.installed-test
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/inference.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
