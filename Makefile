# Two commands on a fresh clone: `make demo` (the main job) and `make test` (the test suite).
# Both create .venv and install the pinned PyPI packages of pyproject.toml when missing.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: all demo test test-all bench clean distclean

all: test

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/plasticore demo

# The suite runs on every core (pytest-xdist): Verilator builds, synthesis and the Amaranth
# simulations are independent; workers that need the same simulator model wait for one build
# (cosim.runner.model_lock). TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= auto

test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" -n $(TEST_WORKERS)

# Everything, including the long runs behind the `slow` marker.
test-all: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

bench: $(STAMP)
	$(BIN)/python -m pytest -m slow
	$(BIN)/python -m plasticore.bench

clean:
	rm -rf build out reports .pytest_cache .hypothesis

distclean: clean
	rm -rf $(VENV) *.egg-info
