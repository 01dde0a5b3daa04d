# Two commands matter on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PO := $(wildcard locale/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

CHROMIUM := /usr/bin/chromium

.PHONY: run test test-fast lint i18n check eval bench load lock audit clean

run: $(STAMP) $(MO)
	$(BIN)/orienta chat

# One test worker per core (pytest-xdist): the suite is CPU-bound. The first worker to need the
# shipped content's models fits them; the others wait for its lock and read them. (Measured:
# `--dist loadgroup`, to keep a module on one worker, cost 60% more CPU than plain `load`.)
test: $(STAMP) $(MO) $(CHROMIUM) postgresql
	$(BIN)/python -m pytest -n auto

# The in-process tier only (engine, matcher, content, i18n, fuzz, architecture): no servers, no
# model fitting; seconds once the models are cached in var/cache.
test-fast: $(STAMP) $(MO)
	$(BIN)/python -m pytest -m "not e2e and not slow"

lint: $(STAMP)
	$(BIN)/ruff check bot tests benchmarks
	$(BIN)/mypy

check: $(STAMP) $(MO)
	$(BIN)/orienta content check

# How well the matcher understands: cross-validation per topic, confusions, held-out score.
eval: $(STAMP) $(MO)
	$(BIN)/orienta content eval

bench: $(STAMP) $(MO)
	$(BIN)/python benchmarks/bench_quality.py
	$(BIN)/python benchmarks/bench_stats.py
	$(BIN)/python benchmarks/bench_e2e.py
	$(BIN)/python benchmarks/bench_lexical.py
	$(BIN)/python benchmarks/bench_workers.py
	$(BIN)/python benchmarks/bench_workers.py --no-pin --workers 1 2 --rounds 1
	$(BIN)/python benchmarks/bench_places.py

# Many simulated users at once against the fake Telegram and WhatsApp APIs (loopback only).
load: $(STAMP) $(MO)
	$(BIN)/python benchmarks/load.py

# Extract UI strings from the code, merge them into every language, compile.
i18n: $(STAMP)
	$(BIN)/pybabel extract --no-location --sort-output -k _ -k _t -k N_ -o locale/messages.pot bot
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -i locale/messages.pot -d locale
	$(BIN)/pybabel compile --use-fuzzy -d locale --statistics

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# With requirements.lock (every dependency pinned with its hashes) pip installs exactly those
# files and refuses any other; without it, the ranges in pyproject.toml.
$(STAMP): pyproject.toml $(wildcard requirements.lock) | $(VENV)/bin/python
	@if [ -f requirements.lock ]; then \
		echo "installing the locked dependencies (requirements.lock, hashes checked)"; \
		$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock \
			&& $(BIN)/python -m pip install --quiet --no-deps -e .; \
	else \
		$(BIN)/python -m pip install --quiet -e '.[dev]'; \
	fi
	touch $@

# The tools below need the network beyond the package registries' files; they live in their own
# environment so they never change what the tests run with.
TOOLS := .tools
$(TOOLS)/bin/python:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --upgrade pip uv pip-audit

# Re-pin every dependency (all platforms, Python 3.11+) after changing pyproject.toml; commit it.
lock: | $(TOOLS)/bin/python
	$(TOOLS)/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --universal \
		--python-version 3.11 --no-header --quiet -o requirements.lock

# Known vulnerabilities in the locked dependencies (a release step: it asks PyPI's and OSV's
# advisory services, so it is not part of `make test`). --strict: a package that could not be
# checked fails the audit instead of passing silently.
audit: | $(TOOLS)/bin/python
	$(TOOLS)/bin/pip-audit --strict --require-hashes --disable-pip -r requirements.lock

locale/%/LC_MESSAGES/messages.mo: locale/%/LC_MESSAGES/messages.po | $(STAMP)
	$(BIN)/pybabel compile -d locale -l $* -i $< -o $@

# The admin-page test drives Debian's Chromium with Playwright. Installed here when missing and we
# are root (CI is); otherwise the test says how to install it and is skipped (failed under CI).
$(CHROMIUM):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser test"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
			|| echo "could not install chromium"; \
	else \
		echo "chromium is missing: sudo apt-get install chromium (for the admin-page browser test)"; \
	fi

# The PostgreSQL tests start a throwaway cluster of their own (tests/fakes/postgres.py). Debian's
# server is installed here when missing and we are root (CI is); otherwise those tests say how
# and are skipped (failed under CI).
.PHONY: postgresql
postgresql:
	@if ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || command -v pg_ctl >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's postgresql for the PostgreSQL tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null) \
			|| echo "could not install postgresql"; \
	else \
		echo "postgresql is missing: sudo apt-get install postgresql (for the PostgreSQL tests)"; \
	fi

clean:
	rm -rf $(VENV) $(TOOLS) *.egg-info .pytest_cache .mypy_cache .ruff_cache
	find locale -name '*.mo' -delete
