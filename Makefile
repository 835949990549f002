# Two commands do all the set-up (README): `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.installed-bench
SIZE ?= S

.PHONY: help install messages demo serve test lint bench bench-growth bench-submit loadtest faulttest clean

help:
	@echo "make demo    - set up (.venv, install, migrate SQLite, demo data) and serve on http://127.0.0.1:8000"
	@echo "make test    - set up and run the whole test suite (SQLite; PostgreSQL when DATABASE_URL is set)"
	@echo "make lint    - ruff"
	@echo "make bench   - benchmark against PostgreSQL (SIZE=XS|S|M)"
	@echo "make bench-growth - S and M back to back, growth ratio per dashboard"
	@echo "make bench-submit - submits/s at 1, 4 and 16 concurrent submitters, and lock waits (SIZE=S)"
	@echo "make loadtest - Locust, 50 users for 60 s against gunicorn (LOAD_SIZE=M)"
	@echo "make faulttest - stop and restart the local PostgreSQL under gunicorn: 503 pages, recovery time (root)"

$(STAMP): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s); run make PYTHON=python3.11" % sys.version.split()[0])'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

$(BENCH_STAMP): $(STAMP) requirements-bench.txt
	$(PY) -m pip install --quiet -r requirements-bench.txt
	touch $(BENCH_STAMP)

messages: install
	DEBUG=1 $(PY) manage.py compile_translations

demo: messages
	DEBUG=1 $(PY) manage.py migrate --noinput
	DEBUG=1 $(PY) manage.py seed_demo
	@echo "Open http://127.0.0.1:8000 and log in as admin, atasan, pegawai, penilai or adminopd (password asn-demo-2026)."
	DEBUG=1 $(PY) manage.py runserver 127.0.0.1:8000

serve: messages
	DEBUG=1 $(PY) manage.py runserver 127.0.0.1:8000

test: messages
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

# Benchmarks run against the local PostgreSQL (BENCH_PG_SERVER, default postgres://postgres@127.0.0.1:5432);
# each SIZE gets its own database asn_bench_<size>, built once and reused.
bench: $(BENCH_STAMP) messages
	$(PY) bench/bench.py --size $(SIZE)

bench-growth: $(BENCH_STAMP) messages
	$(PY) bench/bench.py --size S
	$(PY) bench/bench.py --size M
	$(PY) bench/growth.py S M

bench-submit: $(BENCH_STAMP) messages
	$(PY) bench/submit.py --size $(SIZE)

loadtest: $(BENCH_STAMP) messages
	$(PY) bench/loadtest.py --size $(or $(LOAD_SIZE),M)

# Stops the local PostgreSQL for a few seconds (pg_ctlcluster: root) on its own database
# asn_faulttest; starts it again whatever happens. Only the test requirements are needed.
faulttest: messages
	scripts/faulttest.sh

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles .pytest_cache bench/results
