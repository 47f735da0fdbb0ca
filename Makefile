# ecom-platform — every command a user needs. Run `make help`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# `make run LANDING=path/to/exports`: your own files, never the generator; everything of
# that shop (warehouse, BI copy, dashboard, Dagster runs) under data/shops/<folder name>/.
ifdef LANDING
export ECOM_LANDING := $(abspath $(LANDING))
export ECOM_DATA_DIR ?= $(CURDIR)/data/shops/$(notdir $(abspath $(LANDING)))
export DAGSTER_HOME := $(ECOM_DATA_DIR)/dagster_home
RUN_ARGS := --no-generate
endif
export DAGSTER_HOME ?= $(CURDIR)/data/dagster_home

.PHONY: help install prepare generate run dev test test-fast lint browser bench bench-refresh snapshot summary models lock clean

help:
	@echo "make run      create .venv, install, generate the default shop, materialize every asset, print a summary"
	@echo "make run LANDING=path/to/exports   the same on your own files (no generator; state in data/shops/<name>/)"
	@echo "make dev      open the Dagster UI on http://127.0.0.1:3000"
	@echo "make run ECOM_ENGINE=spark   the same with dbt building on local Spark (docs/spark.md)"
	@echo "make test     install what tests need (the Spark engine too) and run the whole test suite"
	@echo "make test-fast  the unit tests only (no model training, no shop or Dagster run built)"
	@echo "make lint     ruff check and ruff format --check (Python), sqlfluff lint (the dbt models)"
	@echo "make browser  install Debian's chromium (root or sudo) for the dashboard browser test"
	@echo "make summary  print tables, row counts and paths"
	@echo "make models   each model: published or not and why, champion and candidates against the naive baseline"
	@echo "make bench    generate scales $(BENCH_SCALES) (BENCH_SCALES=1,10,50), run the pipeline on engines $(BENCH_ENGINES) (BENCH_ENGINES=duckdb,spark), a plain-DuckDB floor and pandas; write bench_results/"
	@echo "make bench-refresh  full build vs one new day dropped in the landing folder, scales $(BENCH_REFRESH_SCALES) (BENCH_REFRESH_SCALES=1,10); writes bench_results/refresh-latest.json"
	@echo "make snapshot build a scale-0.2 shop and compare every table with devtools/snapshots/ (refactors)"
	@echo "make lock     re-resolve constraints.txt from pyproject.toml"
	@echo "make clean    remove .venv, data/ and dbt artefacts"

$(VENV)/.installed: pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	@touch $@

# The Spark engine's packages (pyspark is ~450 MB): for ECOM_ENGINE=spark and for `make test`.
$(VENV)/.installed-spark: $(VENV)/.installed
	@echo "installing the Spark engine (dbt-spark, pyspark): a few minutes the first time"
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,spark]'
	@touch $@

ifeq ($(ECOM_ENGINE),spark)
install: $(VENV)/.installed-spark
else
install: $(VENV)/.installed
endif

prepare: install
	$(PY) -m ecom_platform.cli prepare

generate: install
	$(PY) -m ecom_platform.cli generate

run: install
	$(PY) -m ecom_platform.cli run $(RUN_ARGS)

summary: install
	@$(PY) -m ecom_platform.cli summary

# Each model's verdict, champion and candidates; EVALUATE=1 retrains read-only and checks the figures.
models: install
	@$(PY) -m ecom_platform.cli models $(if $(EVALUATE),--evaluate)

dev: prepare
	$(PY) -m ecom_platform.cli init-home
	$(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

# The dashboard browser test drives Debian's headless Chromium: installing it needs root or
# sudo, so it is a target of its own (`make test` skips that test, saying so, without it).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the dashboard browser test"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

# Two workers, one test file each at a time (--dist loadfile keeps a file's module fixtures together),
# in collection order, the longest files first (tests/conftest.py, LONGEST_FIRST);
# then the Spark engine's equality test alone (marked spark): its JVM beside the other worker's
# DuckDB and ML slowed both several-fold. The Spark engine is installed first.
test: $(VENV)/.installed-spark prepare
	$(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder -m "not spark" --durations=15
	$(PY) -m pytest -m spark --durations=5

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	cd dbt_project && ../$(VENV)/bin/sqlfluff lint models

# The unit tests: no model training, no shop or Dagster run built (those are marked
# component), both cores; a test that needs the dbt manifest prepares it when stale.
test-fast: install
	$(PY) -m pytest -n 2 -m "not integration and not realdata and not component"

BENCH_SCALES ?= 1,10,50
BENCH_ENGINES ?= duckdb
# Sensor-triggered refresh: full build vs one new day, per scale (takes minutes each).
BENCH_REFRESH_SCALES ?= 1
bench: prepare
	$(PY) -m benchmarks.bench --scales $(BENCH_SCALES) --engines $(BENCH_ENGINES) --out bench_results $(BENCH_ARGS)

bench-refresh: prepare
	$(PY) -m benchmarks.refresh --scales $(BENCH_REFRESH_SCALES) --out bench_results

# Before and after a refactor: a fresh scale-0.2 build, every table's row count and column
# checksums compared with devtools/snapshots/scale-0.2.json (SNAPSHOT_ARGS="--out FILE" keeps it).
snapshot: prepare
	$(PY) -m devtools.snapshot build $(SNAPSHOT_ARGS)

lock:
	rm -rf /tmp/ecom-lock-venv && $(PYTHON) -m venv /tmp/ecom-lock-venv
	/tmp/ecom-lock-venv/bin/pip install --quiet --disable-pip-version-check '.[dev,spark]'
	/tmp/ecom-lock-venv/bin/pip freeze --exclude ecom-platform | grep -v '^-e ' > constraints.txt
	rm -rf /tmp/ecom-lock-venv

clean:
	rm -rf $(VENV) data dbt_project/target dbt_project/logs
