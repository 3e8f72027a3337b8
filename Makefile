# Lockdesk — `make run` serves a seeded demo on 127.0.0.1:5000, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app app
PYTEST_WORKERS ?= 2
export LOCKDESK_INSTANCE_PATH ?= $(CURDIR)/instance

.PHONY: run test test-fast bench install clean anvil browser translations lock lint stack

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Every dependency comes from the lock, pinned with its hashes; the project itself goes on top without any.
$(VENV)/.installed: requirements/dev.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements/dev.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# Re-resolve the locks from pyproject.toml (after adding or bumping a dependency), for every platform and
# Python from 3.11 on: requirements/app.lock is what the image installs, requirements/dev.lock adds the tests'.
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --quiet
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet 'uv>=0.5,<1'
	$(UV_COMPILE) -o requirements/app.lock
	$(UV_COMPILE) --extra test -o requirements/dev.lock

# The production topology on this machine's PostgreSQL and Redis (deploy/stack.py); Ctrl-C stops it.
stack: install
	$(BIN)/python -m deploy.stack $(if $(PORT),--port $(PORT))

lint: install
	$(BIN)/ruff check .

install: $(VENV)/.installed

# The demo runs in development mode (production refuses its embedded exchange, SMS and mail logs, SQLite),
# writes the SMS codes and emails it would send to files in instance/ instead, waits 2 minutes
# (not production's 2 hours) before an approved unfreeze, and serves on PORT (5000 unless given).
PORT ?= 5000
run: export LOCKDESK_ENV = development
run: export SMS_LOG_PATH ?= $(LOCKDESK_INSTANCE_PATH)/sms.jsonl
run: export MAIL_LOG_PATH ?= $(LOCKDESK_INSTANCE_PATH)/mail.jsonl
run: export UNFREEZE_MIN_WAIT_MINUTES ?= 2
run: export PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)
run: install
	$(FLASK) db upgrade
	$(FLASK) demo seed
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

test: install anvil
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadgroup

# The EVM node the chain tests run against, from the npm registry (skipped where npm is missing).
ANVIL := node_modules/.anvil/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
anvil:
	@if [ ! -x $(ANVIL) ] && command -v npm >/dev/null; then \
		npm install --silent --prefix node_modules/.anvil @foundry-rs/anvil-linux-amd64; \
	fi

test-fast: install
	$(BIN)/python -m pytest -m "not slow" -x -q

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) instance .pytest_cache

# Debian's Chromium (and CJK fonts for the Chinese pages) for the browser tests; Playwright never downloads one.
# WeasyPrint draws the evidence bundle's case.pdf with Pango and the same CJK fonts.
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/opentype/noto ] \
			|| ! ldconfig -p | grep -q libpangoft2-1.0.so.0; then \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium \
			fonts-noto-cjk libpango-1.0-0 libpangoft2-1.0-0; \
	fi

# Re-extract the pages' messages, merge them into the catalogues and compile the .mo files (committed).
translations: install
	$(BIN)/pybabel extract --width 100 -F babel.cfg -k _l -o app/translations/messages.pot .
	$(BIN)/pybabel update --width 100 -i app/translations/messages.pot -d app/translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d app/translations
