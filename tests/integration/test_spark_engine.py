"""The same warehouse on Spark: the whole Dagster graph with ``ECOM_ENGINE=spark`` on a small
generated shop, every mart and BI table compared with DuckDB's build of the same raw rows.

Needs the `spark` extra (`make test` installs it) and Java 17+. Without them the module is
skipped, saying why, unless ``ECOM_REQUIRE_SPARK=1`` (CI), where it fails instead.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from devtools.engine_parity import compare
from devtools.generator import generate
from ecom_platform.config import DBT_PROJECT_DIR
from ecom_platform.lib.schemas import SOURCES
from tests.conftest import (
    check_results,
    dbt_data_tests,
    materialize_everything,
    planned_checks,
    step_failures,
    use_environment,
)

pytestmark = [pytest.mark.integration, pytest.mark.spark]

SCALE = 0.02


def _spark_missing() -> str | None:
    if importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("dbt.adapters.spark") is None:
        return "the spark extra is not installed (make test installs it: pip install -e '.[spark]')"
    if shutil.which("java") is None:
        return "no Java on PATH (local Spark needs Java 17 or newer)"
    return None


@pytest.fixture(scope="module")
def builds(tmp_path_factory, dbt_manifest):
    missing = _spark_missing()
    if missing:
        if os.environ.get("ECOM_REQUIRE_SPARK") == "1":
            pytest.fail(f"ECOM_REQUIRE_SPARK=1 but {missing}")
        pytest.skip(missing)
    root = tmp_path_factory.mktemp("spark_engine")
    generate(root / "landing", scale=SCALE, seed=11, progress=None)
    mp = pytest.MonkeyPatch()
    settings = use_environment(mp, root, ECOM_ENGINE="spark")
    instance = dg.DagsterInstance.ephemeral()
    try:
        # dbt's unit tests check the SQL on fixed inputs and run on DuckDB in every other
        # build; on Spark they would add about a minute to CI (the tables are compared below)
        run = materialize_everything(settings, instance=instance, tags={"ecom/dbt_unit_tests": "off"})
    finally:
        mp.undo()
    # DuckDB's build of the same raw rows: a copy of the file (ledger, raw.*), rebuilt by dbt on DuckDB
    duck = root / "duckdb_build" / "warehouse.duckdb"
    duck.parent.mkdir()
    shutil.copyfile(settings.warehouse_path, duck)
    env = {**os.environ, "ECOM_WAREHOUSE": str(duck), "ECOM_DBT_TARGET": "dev"}
    dbt = Path(sys.executable).with_name("dbt")
    built = subprocess.run(
        # the tables only: the data and unit tests ran on Spark's build above
        [str(dbt), "build", "--full-refresh", "--exclude-resource-type", "test", "--exclude-resource-type",
         "unit_test", "--target", "dev", "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(root / "dbt_target"),
         "--log-path", str(root / "dbt_logs")],
        env=env, capture_output=True, text=True, cwd=root,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-4000:]
    return settings, run, instance, duck


def test_the_whole_graph_runs_on_spark_with_every_check(builds, dbt_manifest):
    settings, run, instance, _ = builds
    assert step_failures(run) == []
    results = check_results(run)
    # the dbt tests ran on Spark and surfaced as the same checks as on DuckDB
    assert planned_checks(instance, run) == set(results)
    # every dbt test and Python data check passes; the ML models' publishable checks warn, as on
    # DuckDB: a shop of about 100 customers is below three models' minimums
    failed = sorted(k for k, passed in results.items() if not passed)
    assert failed == ["ml/churn_model:publishable", "ml/recommendations_model:publishable",
                      "ml/segmentation_model:publishable"]  # fmt: skip
    # every dbt data test of the project among them
    assert dbt_data_tests(dbt_manifest) <= {key.split(":", 1)[1] for key in results}
    # Spark built the tables in its own folder; the DuckDB file holds the copies ML and BI read
    assert (settings.spark_root / "warehouse" / "marts.db" / "customer_rfm").is_dir()
    assert (settings.bi_dir / "current").exists()


def test_spark_reads_the_same_raw_rows_one_parquet_file_per_landing_file(builds):
    settings, *_ = builds
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    for source in SOURCES.values():
        folder = settings.spark_root / "raw" / source.name
        files = con.execute(f"SELECT count(DISTINCT (_source_file, _file_sha256)) FROM {source.table}").fetchone()[0]
        assert len(list(folder.glob("*.parquet"))) == max(files, 1), source.name
        parquet = f"read_parquet('{folder}/*.parquet')"
        for a, b in ((source.table, parquet), (parquet, source.table)):
            extra = con.execute(f"SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})").fetchone()[0]
            assert extra == 0, f"{source.name}: {extra} row(s) of {a} not in {b}"
    con.close()


def test_every_mart_and_bi_table_equals_duckdbs_build(builds):
    settings, _, _, duck = builds
    results = compare(duck, settings.warehouse_path)
    different = [r.describe() for r in results if not r.equal]
    assert different == []
    names = {f"{r.schema}.{r.name}" for r in results}
    assert {"marts.customer_rfm", "marts.kpi_sales_daily", "marts.fct_order_lines", "bi.sales_daily"} <= names
    assert len(results) >= 38
    assert all(r.rows_left > 0 for r in results if r.name in ("fct_order_lines", "customer_rfm", "kpi_sales_daily"))


def test_money_to_the_cent_and_rfm_codes_equal(builds):
    """The headline figures, spelled out (the table comparison above already covers them)."""
    settings, _, _, duck = builds
    con = duckdb.connect()
    con.execute(f"ATTACH '{duck}' AS d (READ_ONLY)")
    con.execute(f"ATTACH '{settings.warehouse_path}' AS s (READ_ONLY)")
    totals = "SELECT sum(revenue), sum(gross_revenue), sum(aov), count(*) FROM {}.marts.kpi_sales_daily"
    assert con.execute(totals.format("d")).fetchall() == con.execute(totals.format("s")).fetchall()
    codes = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE d.rfm_code = s.rfm_code AND d.monetary = s.monetary) "
        "FROM d.marts.customer_rfm d JOIN s.marts.customer_rfm s USING (customer_id)"
    ).fetchone()
    assert codes[0] > 0 and codes[0] == codes[1]


def test_the_bi_copy_keeps_its_descriptions_on_spark(builds):
    """Spark keeps no column comments on Parquet tables: the copy gets them from the dbt project."""
    settings, *_ = builds
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    missing = con.execute(
        "SELECT schema_name || '.' || table_name || '.' || column_name FROM duckdb_columns() "
        "WHERE schema_name IN ('marts', 'bi') AND (comment IS NULL OR comment = '')"
    ).fetchall()
    con.close()
    assert missing == []
