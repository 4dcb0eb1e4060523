# fundraiser: `make run` serves the demo on http://127.0.0.1:5000, `make test` runs every test.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
SEED ?= $(firstword $(wildcard ../shared/seed/000_aef70841e1f31376.txt) content/seed-article.txt)
SIM_PORT ?= 12111
PAYPAL_SIM_PORT ?= 12112
PATREON_SIM_PORT ?= 12113
PORT ?= 5000
export FLASK_APP := app

.PHONY: run serve test install install-test browser-deps bench-deps migrate seed simulator lint audit bench lighthouse clean messages translations

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed translations

install-test: $(VENV)/.installed-test translations browser-deps tests/a11y/node_modules/.package-lock.json

# Catalogues: translations/<lang>/LC_MESSAGES/messages.po is the source (committed); the .mo
# beside it is compiled here, whenever the .po is newer. A fuzzy catalogue is not compiled.
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard translations/*/LC_MESSAGES/messages.po))
translations: $(CATALOGUES)

translations/%.mo: translations/%.po | $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -i $< -o $@

# After wrapping new strings: extract them and merge them into every catalogue.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 -k lazy_ngettext:1,2 --sort-output -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete

# axe-core for the accessibility tests, pinned by tests/a11y/package-lock.json.
tests/a11y/node_modules/.package-lock.json: tests/a11y/package-lock.json
	cd tests/a11y && npm ci --no-audit --no-fund --loglevel=error

# Debian's Chromium for the browser tests (Playwright's own browser download is not used).
browser-deps:
	@test -x /usr/bin/chromium || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; }

migrate: install
	$(FLASK) db upgrade

seed: migrate
	$(FLASK) campaign seed --path "$(SEED)"
	$(FLASK) rates import

# Demo mode (no STRIPE_SECRET_KEY): start the bundled Stripe simulator beside the app; with
# no PayPal receiver or Patreon token configured, the PayPal and Patreon stand-ins as well.
run: seed
	@if [ -z "$$STRIPE_SECRET_KEY" ]; then \
	  echo "Demo mode: Stripe simulator on http://127.0.0.1:$(SIM_PORT)"; \
	  $(FLASK) stripe simulator --port $(SIM_PORT) --webhook-url http://127.0.0.1:$(PORT)/stripe/webhook & \
	  pids="$$!"; \
	  if [ -z "$$PAYPAL_RECEIVER_EMAIL$$PAYPAL_RECEIVER_ID" ]; then \
	    echo "Demo mode: PayPal simulator on http://127.0.0.1:$(PAYPAL_SIM_PORT)"; \
	    $(FLASK) paypal simulator --port $(PAYPAL_SIM_PORT) --ipn-url http://127.0.0.1:$(PORT)/paypal/ipn & \
	    pids="$$pids $$!"; \
	  fi; \
	  if [ -z "$$PATREON_ACCESS_TOKEN" ]; then \
	    echo "Demo mode: Patreon simulator on http://127.0.0.1:$(PATREON_SIM_PORT)"; \
	    $(FLASK) patreon simulator --port $(PATREON_SIM_PORT) --webhook-url http://127.0.0.1:$(PORT)/patreon/webhook & \
	    pids="$$pids $$!"; \
	  fi; \
	  trap "kill $$pids 2>/dev/null" EXIT INT TERM; \
	  STRIPE_API_BASE=http://127.0.0.1:$(SIM_PORT) BASE_URL=http://127.0.0.1:$(PORT) \
	  PAYPAL_SIMULATOR_URL=http://127.0.0.1:$(PAYPAL_SIM_PORT) \
	  PATREON_SIMULATOR_URL=http://127.0.0.1:$(PATREON_SIM_PORT) \
	    $(FLASK) run --host 127.0.0.1 --port $(PORT); \
	else \
	  $(FLASK) run --host 127.0.0.1 --port $(PORT); \
	fi

serve: migrate
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

test: install-test
	$(BIN)/ruff check fundraiser simulators tests
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check fundraiser simulators tests bench
	$(BIN)/ruff format --check fundraiser simulators tests

# Known vulnerabilities in the installed dependencies (our own package is not on PyPI).
audit: install-test
	$(BIN)/pip-audit --skip-editable --progress-spinner off

# Every case, ~25 min (the renewal storm is most of it), 127.0.0.1 only; BENCH_ARGS="landing --quick" for one case, briefly.
bench: install bench-deps
	$(BIN)/python -m bench $(BENCH_ARGS)

# Debian's wrk and nginx for the landing, nginx and webhooks cases (bench/README.md).
bench-deps:
	@command -v wrk >/dev/null && command -v nginx >/dev/null || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk nginx-light >/dev/null; }

# Lighthouse on a phone for the landing page, the embed and the thank-you page (a fresh demo on
# 127.0.0.1; npm's lighthouse pinned in tools/lighthouse, Debian's Chromium); prints the table.
tools/lighthouse/node_modules/.package-lock.json: tools/lighthouse/package-lock.json
	cd tools/lighthouse && npm ci --no-audit --no-fund --loglevel=error

lighthouse: install browser-deps tools/lighthouse/node_modules/.package-lock.json
	$(BIN)/python tools/lighthouse/run.py

clean:
	rm -rf $(VENV) instance .pytest_cache tests/artifacts
