# Netarium: `make app` starts the app, `make test` runs the whole suite. Both set up .venv first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0
CHROMIUM ?= /usr/bin/chromium
PORT ?= 8501

.PHONY: app test test-fast bench lint venv chromium clean

venv: $(STAMP)

# torch first, pinned to the local CPU build, so that `torch>=2.4` in pyproject is already met.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

chromium:
	@test -x $(CHROMIUM) || { echo "installing Debian chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || { echo "could not install chromium (need root and Debian's apt)"; exit 1; }; }

app: venv
	$(BIN)/netarium app --port $(PORT)

test: venv chromium
	NETARIUM_CHROMIUM=$(CHROMIUM) $(BIN)/python -m pytest

test-fast: venv
	$(BIN)/python -m pytest -m "not e2e and not slow"

bench: venv
	$(BIN)/netarium bench engine

lint: venv
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
