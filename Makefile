# Two commands for a newcomer (Python 3.11+):
#   make run    install what is missing, then start the app on its built-in data
#   make test   install what is missing (Python packages and Debian's chromium), then run every test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test test-fast bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed"' || \
		{ echo "MRI Recon Lab needs Python 3.11 or newer (set PYTHON=python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "creating the virtual environment failed; on Debian/Ubuntu: sudo apt-get install python3-venv"; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.app-installed: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.app-installed

$(VENV)/.bench-installed: requirements.txt requirements-bench.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-bench.txt
	touch $@

run: $(VENV)/.app-installed
	$(BIN)/python -m streamlit run streamlit_app.py --server.port $(PORT)

test: $(VENV)/.dev-installed
	bash scripts/ensure_system_deps.sh
	$(BIN)/python -m pytest

test-fast: $(VENV)/.dev-installed
	$(BIN)/python -m pytest -m "not slow and not e2e"

bench: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/tv_vs_peers.py

clean:
	rm -rf $(VENV) .pytest_cache artifacts
