"""The generated shop end to end on a temporary warehouse: counts match the generator's."""

from __future__ import annotations

import re

import dagster as dg
import duckdb
import pytest

from devtools.generator import generate
from tests.conftest import check_results, materialize_everything, planned_checks, step_failures, use_environment

pytestmark = pytest.mark.integration

SCALE = 0.02
MARTS = [
    "dim_dates",
    "dim_customers",
    "dim_products",
    "dim_countries",
    "fct_order_lines",
    "fct_orders",
    "fct_events",
    "fct_sessions",
    "kpi_sales_daily",
    "product_sales_weekly",
    "product_trending",
    "product_bestsellers",
    "cohort_retention",
    "customer_rfm",
    "rfm_segment_summary",
    "category_price_stats",
    "category_popularity",
    "user_top_category_brand",
    "user_engagement",
    "funnel_conversion",
    "reconciliation_order_lines",
]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, dbt_manifest):
    root = tmp_path_factory.mktemp("generated")
    manifest = generate(root / "landing", scale=SCALE, seed=7, progress=None)
    mp = pytest.MonkeyPatch()
    settings = use_environment(mp, root)
    instance = dg.DagsterInstance.ephemeral()
    first = materialize_everything(settings, selection="not group:ml", instance=instance)
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        counts_first = snapshot(con)
    # the second run is everything, ML and BI included: a shop of about 100 customers, below
    # three models' minimums, still gets its BI copy and dashboard
    second = materialize_everything(settings, instance=instance)
    mp.undo()
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    yield manifest, first, second, counts_first, con, instance
    con.close()


def snapshot(con) -> dict[str, int]:
    tables = [("raw", t) for t in ("transactions", "events", "customers", "products", "quarantine", "ingest_log")]
    tables += [("marts", t) for t in MARTS]
    return {f"{s}.{t}": con.execute(f"SELECT count(*) FROM {s}.{t}").fetchone()[0] for s, t in tables}


def test_every_step_and_check_passes(pipeline):
    _, first, second, _, _, _ = pipeline
    for result in (first, second):
        assert step_failures(result) == []
        failed = [k for k, ok in check_results(result).items() if not ok]
        # a model below its minimum only warns (its reason is in ml.model_status)
        assert [k for k in failed if not k.endswith("_model:publishable")] == []
    assert second.success


def test_a_small_shop_gets_its_bi_copy_and_each_model_says_why(pipeline):
    _, _, second, _, con, _ = pipeline
    status = {
        r[0]: r[1:]
        for r in con.execute("SELECT model, published, reason, what_would_change_it FROM ml.model_status").fetchall()
    }
    assert set(status) == {"churn", "forecast", "recommendations", "segmentation"}
    # each model's minimum, stated with what this shop has, and how much more it needs
    for model, minimum, what in (
        ("churn", 500, "customers with >= 2 orders"),
        ("recommendations", 100, "customers with >= 2 baskets"),
        ("segmentation", 200, "customers with a purchase"),
    ):
        published, reason, change = status[model]
        m = re.fullmatch(rf"needs at least {minimum} {what}; this shop has (\d+)", reason)
        assert not published and m, (model, reason)
        assert 50 <= int(m[1]) < minimum
        assert change == f"more data: {minimum - int(m[1])} more {what}"
    unpublished_tables = {
        "churn_scores",
        "churn_feature_importance",
        "product_recommendations",
        "frequently_bought_together",
        "customer_segments",
        "segment_profiles",
    }
    ml_tables = {
        r[0]
        for r in con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'ml'").fetchall()
    }
    assert not unpublished_tables & ml_tables
    materialized = {
        e.event_specific_data.materialization.asset_key.to_user_string()
        for e in second.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }
    assert {"bi_copy/warehouse", "bi_copy/dashboard", "ml/churn_model", "ml/model_metrics"} <= materialized
    assert "ml/churn_scores" not in materialized
    # descriptions travel with the data: every table and column of the marts, bi and ml has a
    # comment in the warehouse (dbt's persist_docs, whose YAML must list every column the SQL
    # makes; the ML writers, from ecom_platform.lib.ml_tables), and the BI copy carries them
    assert uncommented(con, ("marts", "bi", "ml")) == []
    bi_path = next(
        e.event_specific_data.materialization.metadata["path"].value
        for e in second.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
        and e.event_specific_data.materialization.asset_key.to_user_string() == "bi_copy/warehouse"
    )
    bi = duckdb.connect(bi_path, read_only=True)
    try:
        assert bi.execute("SELECT count(*) FROM bi.sales_daily").fetchone()[0] > 300
        assert bi.execute("SELECT count(*) FROM ml.model_status WHERE NOT published").fetchone()[0] == 3
        assert uncommented(bi, ("bi", "ml")) == []
    finally:
        bi.close()


def uncommented(con, schemas: tuple[str, ...]) -> list[str]:
    """Every table (``schema.table``) and column (``schema.table.column``) of ``schemas``
    without a comment in ``con``'s database."""
    where = "database_name = current_database() AND schema_name IN (SELECT unnest(?))"
    tables = con.execute(
        f"SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE {where} AND coalesce(comment, '') = ''",
        [list(schemas)],
    ).fetchall()
    columns = con.execute(
        f"SELECT schema_name || '.' || table_name || '.' || column_name FROM duckdb_columns() "
        f"WHERE {where} AND coalesce(comment, '') = ''",
        [list(schemas)],
    ).fetchall()
    return sorted(r[0] for r in tables + columns)


def test_every_planned_check_is_evaluated(pipeline):
    """No check is left PLANNED: each run evaluates exactly the checks it planned, and those
    include every dbt test of the manifest (every one is an asset check of the selection)."""
    _, first, second, _, _, instance = pipeline
    for result in (first, second):
        planned = planned_checks(instance, result)
        evaluated = set(check_results(result))
        assert sorted(planned - evaluated) == [], "planned but never evaluated"
        assert sorted(evaluated - planned) == [], "evaluated without being planned"
    dbt_checks = {k.to_user_string() for k in dbt_test_check_keys().values()}
    assert sorted(dbt_checks - planned_checks(instance, first)) == []


def dbt_test_check_keys() -> dict:
    """``{dbt test unique_id: AssetCheckKey}`` for every test node of the manifest."""
    import json

    from dagster_dbt.asset_utils import get_asset_check_key_for_test

    from ecom_platform.defs.dbt import dbt_project, translator

    manifest = json.loads(dbt_project.manifest_path.read_text())
    return {
        uid: get_asset_check_key_for_test(manifest, translator, uid, dbt_project)
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "test"
    }


def test_raw_counts_match_the_generator(pipeline):
    manifest, _, _, _, con, _ = pipeline
    for source in ("transactions", "events", "customers", "products"):
        files = [f for f in manifest["files"] if f["source"] == source]
        written = sum(f["rows_written"] for f in files)
        bad = sum(f["bad_rows"] for f in files)
        accepted = con.execute(f"SELECT count(*) FROM raw.{source}").fetchone()[0]
        quarantined = con.execute("SELECT count(*) FROM raw.quarantine WHERE source = ?", [source]).fetchone()[0]
        assert (accepted, quarantined) == (written - bad, bad), source
        log = con.execute(
            "SELECT count(*), sum(rows_read), sum(rows_rejected) FROM raw.ingest_log WHERE source = ? AND status = 'loaded'",
            [source],
        ).fetchone()
        assert log == (len(files), written, bad), source


def test_products_workbook_loaded_from_both_sheets(pipeline):
    _, _, _, _, con, _ = pipeline
    sheets = con.execute("SELECT DISTINCT _source_sheet FROM raw.products ORDER BY 1").fetchall()
    assert sheets == [("Catalogue",), ("Discontinued",)]


def test_every_mart_is_populated(pipeline):
    _, _, _, counts, _, _ = pipeline
    empty = [t for t, n in counts.items() if n == 0 and t != "raw.quarantine"]
    assert empty == []


def test_second_run_changes_nothing(pipeline):
    _, _, _, counts_first, con, _ = pipeline
    assert snapshot(con) == counts_first


def test_quirks_survive_into_the_marts(pipeline):
    manifest, _, _, _, con, _ = pipeline
    q = manifest["quirks"] if "quirks" in manifest else manifest
    dupes = con.execute(
        "SELECT n_lines FROM marts.reconciliation_order_lines WHERE step = 'exact duplicate lines'"
    ).fetchone()[0]
    assert dupes == q["duplicate_lines"]
    anonymous = con.execute("SELECT count(*) FROM marts.fct_order_lines WHERE customer_key = -1").fetchone()[0]
    cancels = con.execute("SELECT count(*) FROM marts.fct_order_lines WHERE is_cancellation").fetchone()[0]
    assert anonymous > 0 and cancels > 0
