# Set-up, tests and the book. Everything runs inside .venv, created on first use. `make book` builds the
# report from the published records and those in results/ without training; `make smoke` fills results/
# with the offline smoke sweep; `make sweep PROFILE=...` runs any profile.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RESULTS ?= results
PROFILE ?= smoke
WORKERS ?= 2
PACK ?= 4

.PHONY: install test test-fast lint book sweep smoke clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (hetnoise)" >/dev/null
	touch $@

test: install
	$(BIN)/python -m pytest -q --durations=30

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

lint: install
	$(BIN)/ruff check hetnoise tests benchmarks notebooks

sweep: install
	$(BIN)/hetnoise sweep all --profile $(PROFILE) --results $(RESULTS) --workers $(WORKERS) --pack $(PACK)

smoke: PROFILE = smoke
smoke: sweep

book: install
	HETNOISE_RESULTS=$(abspath $(RESULTS)) $(BIN)/jupyter-book build book
	@echo "Book: $(abspath _build/html/index.html)"

clean:
	rm -rf _build
