# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# CesiumJS for the globe viewer (`bmdsim serve`), installed from package-lock.json
NODE_STAMP := node_modules/.installed
# the browser the viewer's end-to-end test drives (Debian's package; never a downloaded one)
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test test-quick bench setup chromium serve clean

setup: $(STAMP) $(NODE_STAMP)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,plot,campaign,viewer]'
	touch $(STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

chromium: $(CHROMIUM)

$(CHROMIUM):
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium

demo: $(STAMP)
	$(BIN)/bmdsim demo

# BMDSIM_REQUIRE_BROWSER: the browser test fails instead of skipping when it cannot run
test: $(STAMP) $(NODE_STAMP) $(CHROMIUM)
	BMDSIM_REQUIRE_BROWSER=1 $(BIN)/python -m pytest -q

test-quick: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

serve: $(STAMP) $(NODE_STAMP)
	$(BIN)/bmdsim serve

bench: $(STAMP)
	@for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache node_modules
