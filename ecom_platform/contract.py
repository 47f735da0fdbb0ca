"""The names other code relies on, in one place: asset keys, run tags, defaults.

A run tag changes what a run does; the landing sensor sets most of them on the runs it
starts. An asset key here is one that more than one module refers to. Defaults are the
values a setting takes when its environment variable is unset (``config.py`` reads the
environment; the resources in ``defs/resources.py`` carry the values into the assets).
"""

import dagster as dg

# ---------------------------------------------------------------------------- defaults
DUCKDB_MEMORY_DEFAULT = "4GB"  # ECOM_DUCKDB_MEMORY: DuckDB memory_limit
SPARK_MEMORY_DEFAULT = "4g"  # ECOM_SPARK_MEMORY: local Spark's driver memory (the Spark engine)
ML_MAX_CUSTOMERS_DEFAULT = 50_000  # ECOM_ML_MAX_CUSTOMERS: customers a model trains on

# ---------------------------------------------------------------------------- run tags
# Set by the landing sensor: what started the run, which files, sources and days it covers.
TRIGGER_TAG = "ecom/trigger"
FILES_TAG = "ecom/files"
SOURCES_TAG = "ecom/sources"
DAYS_TAG = "ecom/days"
LANDING_TRIGGER = "landing_sensor"  # the value of TRIGGER_TAG on its runs
# "check": a rejected landing file fails the no_rejected_files check instead of the run.
ON_REJECTED_TAG = "ecom/on_rejected_file"
# "off" skips the column schema / lineage metadata of the dbt models.
COLUMN_METADATA_TAG = "ecom/column_metadata"
# "off" leaves dbt's unit tests out. They test the SQL on fixed inputs, so new data cannot
# change their result; every other run still runs them.
UNIT_TESTS_TAG = "ecom/dbt_unit_tests"
# "new_rows" makes the tests of the staging views (models tagged `new_rows_tests`) check
# only the rows this run ingested: those views only rename and cast raw rows, every older
# row passed them when it arrived, and a full build still checks every row. See
# dbt_project/macros/new_rows.sql.
TESTS_SCOPE_TAG = "ecom/dbt_tests_scope"
# The run's day window: its first and last day (ISO, inclusive), set by the landing sensor
# when it knows every day the files change (also the days of a replaced version) or by hand
# to rebuild a range. The daily facts, int_retail__order_lines and the clickstream kept by
# key then recompute only that window (delete+insert); a run without them rebuilds every
# dbt model in full (--full-refresh).
WINDOW_START_TAG = "ecom/window_start"
WINDOW_END_TAG = "ecom/window_end"
# "on" (with the day window, when every file of the run carries days: transactions,
# events) lets the incremental marts recompute only the days and weeks of that window (see
# dbt_project/macros/mart_window.sql). A products or customers file can move every day's
# figures, so its run rebuilds them over every day.
WINDOWED_MARTS_TAG = "ecom/dbt_windowed_marts"
# On a record_failures run: the failed run it records.
FAILED_RUN_TAG = "ecom/failed_run"

# ---------------------------------------------------------------------------- asset keys
BI_COPY_KEY = dg.AssetKey(["bi_copy", "warehouse"])
DASHBOARD_KEY = dg.AssetKey(["bi_copy", "dashboard"])
MODEL_METRICS_KEY = dg.AssetKey(["ml", "model_metrics"])
RUN_FAILURES_KEY = dg.AssetKey(["ops", "run_failures"])
CHURN_KEYS = [
    dg.AssetKey(["ml", "churn_model"]),
    dg.AssetKey(["ml", "churn_scores"]),
    dg.AssetKey(["ml", "churn_feature_importance"]),
]
BI_FACING_MARTS = [dg.AssetKey(["marts", "kpi_sales_daily"]), dg.AssetKey(["marts", "customer_rfm"])]


def landing_key(source: str) -> dg.AssetKey:
    """The external asset of a landing folder, ``landing/<source>``."""
    return dg.AssetKey(["landing", source])


def raw_key(source: str) -> dg.AssetKey:
    """The raw table of a source, ``raw/<source>``."""
    return dg.AssetKey(["raw", source])
