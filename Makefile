# Every target creates and uses .venv on its own; nothing relies on what is installed globally.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PACKAGES := firmware_model emulator host_bridge slsio

.PHONY: demo test lint bench venv system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# PostgreSQL's server binaries (Debian keeps them under /usr/lib/postgresql/*/bin, off PATH), or a
# server of the developer's own named by SLSEMU_TEST_PG_URL (tests only; benchmarks start their own).
HAVE_POSTGRES = { command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
# The tests run beside a throwaway cluster (tests/pg_cluster.py: temp folder, Unix socket, fsync
# off, stopped and removed afterwards), unless SLSEMU_TEST_PG_URL names a server already.
WITH_TEST_PG = $(if $(SLSEMU_TEST_PG_URL),,$(PY) -m tests.pg_cluster --)
# The benchmarks always start their own, durable (fsync on): they measure durable commits.
WITH_BENCH_PG = $(PY) -m tests.pg_cluster --durable --env SLSEMU_BENCH_PG_URL --

# socat makes the virtual serial pairs the tests use, PostgreSQL serves the store tests, radclient
# (Debian's freeradius-utils) is the FreeRADIUS client the RADIUS tests log in with. Installed when
# we can (root + apt-get); their absence fails the run instead of skipping those tests.
system-deps:
	@missing=""; \
	command -v socat >/dev/null 2>&1 || missing="$$missing socat"; \
	command -v radclient >/dev/null 2>&1 || missing="$$missing freeradius-utils"; \
	$(HAVE_POSTGRES) || [ -n "$$SLSEMU_TEST_PG_URL" ] || missing="$$missing postgresql"; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@command -v socat >/dev/null 2>&1 || { echo "error: socat is required by the serial tests (apt-get install socat)" >&2; exit 1; }
	@command -v radclient >/dev/null 2>&1 || { echo "error: radclient is required by the RADIUS tests (apt-get install freeradius-utils)" >&2; exit 1; }
	@$(HAVE_POSTGRES) || [ -n "$$SLSEMU_TEST_PG_URL" ] || { echo "error: PostgreSQL is required by the store tests and benchmarks (apt-get install postgresql, or set SLSEMU_TEST_PG_URL to a server of your own)" >&2; exit 1; }

# In a terminal: the TUI with the built-in demo user and devices. Without one (CI, a pipe): the
# scripted DSC+ login, which prints every display step.
demo: venv
	@if [ -t 0 ] && [ -t 1 ]; then $(VENV)/bin/slsemu tui; else $(VENV)/bin/slsemu demo; fi

lint: venv
	$(VENV)/bin/ruff check $(PACKAGES) tests benchmarks examples
	$(VENV)/bin/mypy $(PACKAGES)
	$(VENV)/bin/lint-imports

test: venv system-deps lint
	$(WITH_TEST_PG) $(PY) -m pytest -q -n 2 --dist loadgroup -p no:cacheprovider

bench: venv system-deps
	$(WITH_BENCH_PG) $(PY) -m benchmarks

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
