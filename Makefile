# Two commands matter: `make run` serves the app, `make test` checks it.
# Set-up steps are file targets with stamps, so re-running reinstalls nothing
# unless a lock file changed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NODE_DIR := service_worker
NODE_STAMP := $(NODE_DIR)/node_modules/.installed
CHROMIUM ?= /usr/bin/chromium
# Workbox's runtime is copied from node_modules under a versioned path, so a
# Workbox upgrade changes every URL that loads it.
VENDOR_DIR := static/vendor
VENDOR_STAMP := $(VENDOR_DIR)/.installed
WORKBOX_FILES := workbox-sw/build/workbox-sw.js \
	workbox-core/build/workbox-core.prod.js \
	workbox-precaching/build/workbox-precaching.prod.js \
	workbox-routing/build/workbox-routing.prod.js \
	workbox-strategies/build/workbox-strategies.prod.js \
	workbox-background-sync/build/workbox-background-sync.prod.js \
	workbox-window/build/workbox-window.prod.mjs

# The page scripts, bundled by esbuild: each entry (today-app.js, app.js) and the chunks
# they share or load later, with content-hashed names and source maps.  Rebuilt when any
# source changes; meta.json tells the app the names (pwa/shell/app_shell.py).
BUILD_DIR := static/build
BUILD_META := $(BUILD_DIR)/meta.json
JS_SOURCES := $(shell find static/js -name '*.js' 2>/dev/null)

HOST ?= 127.0.0.1
PORT ?= 8000
DATA_DIR ?= instance
WORKERS ?= 3
THREADS ?= 4

.PHONY: run db-upgrade test lint setup setup-test browser lock clean images bench bench-tools soak

run: setup
	HOST=$(HOST) PORT=$(PORT) DATA_DIR=$(DATA_DIR) WORKERS=$(WORKERS) THREADS=$(THREADS) \
		exec $(BIN)/gunicorn -c gunicorn.conf.py

# The PostgreSQL schema at DATABASE_URL brought to this code's version (once per deployment).
db-upgrade: setup
	@test -n "$${DATABASE_URL:-}" || { echo "DATABASE_URL is not set (postgresql://user@host/database)"; exit 1; }
	DATA_DIR=$(DATA_DIR) $(BIN)/flask --app pwa db upgrade

test: setup-test browser lint
	$(BIN)/pytest

lint: setup-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

setup: $(VENV)/.run-deps $(NODE_STAMP) $(VENDOR_STAMP) $(BUILD_META)

setup-test: setup $(VENV)/.test-deps

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=python3.x")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-deps: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.test-deps: requirements-test.txt $(VENV)/.run-deps
	$(BIN)/pip install --quiet -r requirements-test.txt
	touch $@

$(NODE_STAMP): $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js 20 or newer) is needed: apt-get install nodejs npm"; exit 1; }
	# No install scripts: none is needed, and vnu-jar's (the HTML checker the tests run)
	# would fetch a Java runtime from the internet; Java comes from Debian (make browser).
	npm ci --prefix $(NODE_DIR) --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

$(VENDOR_STAMP): $(NODE_STAMP) Makefile
	rm -rf $(VENDOR_DIR)
	version=$$(node -p "require('./$(NODE_DIR)/node_modules/workbox-sw/package.json').version"); \
	target=$(VENDOR_DIR)/workbox-v$$version; mkdir -p $$target; \
	for file in $(WORKBOX_FILES); do \
		cp $(NODE_DIR)/node_modules/$$file $$target/; \
		if [ -f $(NODE_DIR)/node_modules/$$file.map ]; then cp $(NODE_DIR)/node_modules/$$file.map $$target/; fi; \
	done
	version=$$(node -p "require('./$(NODE_DIR)/node_modules/idb/package.json').version"); \
	mkdir -p $(VENDOR_DIR)/idb-v$$version; \
	cp $(NODE_DIR)/node_modules/idb/build/index.js $(VENDOR_DIR)/idb-v$$version/index.js
	touch $@

$(BUILD_META): $(NODE_STAMP) $(VENDOR_STAMP) $(JS_SOURCES)
	rm -rf $(BUILD_DIR)
	$(NODE_DIR)/node_modules/.bin/esbuild static/js/today-app.js static/js/app.js \
		--bundle --splitting --format=esm --target=es2022 --minify --sourcemap \
		--outdir=$(BUILD_DIR) --entry-names='[name]-[hash]' --chunk-names='chunks/[name]-[hash]' \
		--metafile=$(BUILD_META) --log-level=warning
	# Today's first paint: one classic script the page carries inline (pwa/shell/app_shell.py).
	$(NODE_DIR)/node_modules/.bin/esbuild static/js/today-first-paint.js \
		--bundle --format=iife --target=es2022 --minify --charset=utf8 \
		--outfile=$(BUILD_DIR)/inline/today-first-paint.js --log-level=warning

# Browser tests drive Debian's Chromium: Playwright's own browser download
# fails offline, so it is never used.  zbarimg (zbar-tools) decodes the
# device-link QR code in the tests; Java runs the Nu HTML Checker (vnu-jar) on every page.
SYSTEM_TOOLS := $(CHROMIUM) /usr/bin/zbarimg /usr/bin/java
browser:
	@missing=""; for tool in $(SYSTEM_TOOLS); do [ -x "$$tool" ] || missing="$$missing $$tool"; done; \
	if [ -z "$$missing" ]; then \
		true; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium, zbar-tools and a Java runtime (the HTML checker) for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium zbar-tools default-jre-headless >/dev/null; \
	else \
		echo "!!! Missing$$missing and cannot install (needs root and apt-get)."; \
		echo "!!! Browser tests will be skipped (a failure when CI is set): sudo apt-get install chromium zbar-tools default-jre-headless"; \
	fi

# Lighthouse 12 (pinned in bench/package-lock.json; 13 needs a newer Node), only for make bench.
# Defined above the rule that needs it: make expands a rule's prerequisites as it reads it.
BENCH_NODE_STAMP := bench/node_modules/.installed

# Speed and size budgets, measured against a real server (not part of make test):
# every bench/ script runs, then one table with each target and PASS/FAIL, and the
# machine it ran on (also in bench/results/summary.md for the README).  The target
# fails if any budget did.  bench/checklist.py also measures the old client (commit
# 66c185f, built once in bench/.baseline/ by bench/baseline.py) in the same run, beside it.
bench: setup-test browser bench-tools $(BENCH_NODE_STAMP)
	$(BIN)/python bench/run.py

$(BENCH_NODE_STAMP): bench/package.json bench/package-lock.json
	npm ci --prefix bench --no-audit --no-fund --loglevel=error
	touch $@

# Apache Bench (the load tool of bench/server_load.py), from Debian's apache2-utils.
bench-tools:
	@if ! command -v ab >/dev/null; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing Debian's apache2-utils (ab) for the load benchmark"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq apache2-utils >/dev/null; \
		else \
			echo "!!! ab is missing: sudo apt-get install apache2-utils"; exit 1; \
		fi; \
	fi

# The long reliability runs: 1000 SIGKILLs of a writer, >= 10,000 hostile payloads, and
# floods of plan creation, sync and login against `make run` (loopback only, bounded).
soak: setup-test
	SOAK_KILLS=1000 $(BIN)/pytest -q tests/test_storage_crash.py
	SOAK=1 $(BIN)/pytest -q tests/test_hostile_input.py
	SOAK=1 $(BIN)/pytest -q -s tests/test_abuse.py

# Regenerate the Python lock files after changing dependencies in pyproject.toml.
lock: setup-test
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile -q --no-emit-index-url --no-emit-find-links --strip-extras --no-header \
		-o requirements.txt pyproject.toml
	$(BIN)/pip-compile -q --extra test --no-emit-index-url --no-emit-find-links --strip-extras \
		--no-header -o requirements-test.txt pyproject.toml

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules bench/node_modules bench/.baseline .pytest_cache \
		.ruff_cache

# Icons from their SVG sources, the manifest screenshot and the README's
# screenshots, all rendered by headless Chromium.
images: setup-test browser
	$(BIN)/python tools/render_images.py
