"""Descriptions travel with the data: every marts and BI model and column has a dbt
description (which persist_docs writes as DuckDB comments and Dagster shows as column
metadata), and every ml.* table the Python writers produce is commented from
ecom_platform.lib.ml_tables. That the SQL produces exactly the YAML's columns is held by
the contracts for bi and, for the marts, by the comments read back from a built warehouse
in tests/integration/test_pipeline_generated.py."""

from __future__ import annotations

import json
from types import SimpleNamespace

import duckdb
import numpy as np
import pandas as pd
import pytest

from ecom_platform.lib import ml_io, ml_runner, ml_tables, model_status

DESCRIBED_FOLDERS = ("marts", "bi")


def _models(manifest: dict) -> list[dict]:
    return [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and len(n["fqn"]) > 2 and n["fqn"][1] in DESCRIBED_FOLDERS
    ]


@pytest.fixture(scope="module")
def manifest(dbt_manifest) -> dict:
    return json.loads(dbt_manifest.read_text())


# --------------------------------------------------------------------------- dbt


def test_every_marts_and_bi_model_and_column_has_a_description(manifest):
    models = _models(manifest)
    assert {n["fqn"][1] for n in models} == set(DESCRIBED_FOLDERS)
    missing = []
    for node in sorted(models, key=lambda n: n["unique_id"]):
        where = f"{node['fqn'][1]} model {node['name']} ({node['original_file_path']})"
        if not (node.get("description") or "").strip():
            missing.append(f"{where}: no description")
        if not node["columns"]:
            missing.append(f"{where}: no columns listed in its YAML")
        for column, props in node["columns"].items():
            if not (props.get("description") or "").strip():
                missing.append(f"{where}: column {column} has no description")
    assert missing == [], "\n".join(missing)


def test_bi_models_list_every_column_they_produce(manifest):
    """An enforced contract makes dbt fail the build when the SQL's columns differ from the
    YAML's, so for the bi models the YAML (and with it the descriptions above) is complete."""
    loose = [
        n["name"]
        for n in _models(manifest)
        if n["fqn"][1] == "bi" and not (n["config"].get("contract") or {}).get("enforced")
    ]
    assert loose == []


def test_persist_docs_is_on_for_marts_and_bi(manifest):
    off = [
        f"{n['name']}: persist_docs {n['config'].get('persist_docs')}"
        for n in _models(manifest)
        if not (n["config"].get("persist_docs") or {}).get("relation")
        or not (n["config"].get("persist_docs") or {}).get("columns")
    ]
    assert off == []


# --------------------------------------------------------------------------- Dagster


def test_dagster_column_schema_of_every_marts_and_bi_asset_has_the_descriptions(manifest):
    """dagster-dbt's default translator puts the YAML's columns, with their descriptions, in
    each asset's ``dagster/column_schema``; ours must keep doing so."""
    from ecom_platform.defs.dbt.assets import dbt_models

    by_name = {(n["schema"], n.get("alias") or n["name"]): n for n in _models(manifest)}
    seen, problems = set(), []
    for assets_def in (dbt_models,):
        for spec in assets_def.specs:
            key = tuple(spec.key.path)
            if key[0] not in DESCRIBED_FOLDERS:
                continue
            seen.add(key)
            name = "/".join(key)
            if not (spec.description or "").strip():
                problems.append(f"{name}: no asset description")
            schema = (spec.metadata or {}).get("dagster/column_schema")
            if schema is None:
                problems.append(f"{name}: no dagster/column_schema metadata")
                continue
            columns = schema.schema.columns if hasattr(schema, "schema") else schema.columns
            if key in by_name and [c.name for c in columns] != list(by_name[key]["columns"]):
                problems.append(f"{name}: column_schema columns differ from the YAML's")
            problems += [
                f"{name}: column {c.name} has no description" for c in columns if not (c.description or "").strip()
            ]
    assert seen == set(by_name), "assets missing for some marts/bi models"
    assert problems == [], "\n".join(problems)


# --------------------------------------------------------------------------- ml.*


def _comments(con: duckdb.DuckDBPyConnection, table: str) -> tuple[str | None, dict[str, str | None]]:
    (table_comment,) = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE schema_name = 'ml' AND table_name = ?", [table]
    ).fetchone()
    columns = dict(
        con.execute(
            "SELECT column_name, comment FROM duckdb_columns() WHERE schema_name = 'ml' AND table_name = ? "
            "ORDER BY column_index",
            [table],
        ).fetchall()
    )
    return table_comment, columns


def _assert_commented(con: duckdb.DuckDBPyConnection, table: str) -> None:
    doc = ml_tables.TABLE_DOCS[table]
    table_comment, columns = _comments(con, table)
    assert table_comment == doc.description, table
    assert columns, table
    wrong = {c: got for c, got in columns.items() if not got or got != doc.columns.get(c)}
    assert wrong == {}, f"ml.{table}: columns without their description: {sorted(wrong)}"


def _segmentation_frames() -> dict[str, pd.DataFrame]:
    """customer_segments and segment_profiles as the segmentation writes them, from a small
    shop whose profiles give age, income and household size (so every optional column is there)."""
    from ml_assets.segmentation import run_segmentation

    rng = np.random.default_rng(3)
    start = pd.Timestamp("2023-01-02")
    rows = []
    for cust in range(1, 41):
        for k in range(1 + cust % 4):
            day = start + pd.Timedelta(days=int(rng.integers(0, 360)))
            for _ in range(1 + cust % 3):
                rows.append(
                    {
                        "invoice": f"{cust}-{k}",
                        "stock_code": f"S{rng.integers(0, 30)}",
                        "customer_id": cust,
                        "invoice_date": day,
                        "quantity": int(rng.integers(1, 10)),
                        "unit_price": float(rng.choice([0.85, 2.5, 4.95, 12.0])),
                        "country": "United Kingdom",
                    }
                )
    customers = pd.DataFrame(
        {
            "customer_id": range(1, 41),
            "birth_year": rng.integers(1950, 2000, 40),
            "income": rng.normal(40000, 8000, 40),
            "household_size": rng.integers(1, 5, 40),
        }
    )
    result = run_segmentation(pd.DataFrame(rows), customers)
    assert len(result.profiles), "the small shop must be segmented"
    return {"customer_segments": result.segments, "segment_profiles": result.profiles}


def _forecast_columns() -> list[str]:
    """ml.demand_forecast's columns: the forecast with the reorder columns joined as the
    forecast model's writer does (ml_runner._forecast_with_reorder)."""
    from ml_assets.forecast_data import FORECAST_COLUMNS
    from ml_assets.forecasting import reorder_points

    forecast = pd.DataFrame(
        {
            "series_id": ["product:A"] * 3,
            "series_type": ["product"] * 3,
            "stock_code": ["A"] * 3,
            "category": [None] * 3,
            "measure": ["units"] * 3,
            "week_start": pd.date_range("2024-01-01", periods=3, freq="7D"),
            "horizon": [1, 2, 3],
            "forecast": [10.0, 11.0, 12.0],
            "lower_80": [8.0, 9.0, 10.0],
            "upper_80": [12.0, 13.0, 14.0],
            "seasonal_naive": [9.0, 9.0, 9.0],
            "model": ["ets"] * 3,
        }
    )[FORECAST_COLUMNS]
    detail = pd.DataFrame(
        {
            "model": ["champion"] * 2,
            "horizon": [1, 2],
            "series_id": ["product:A"] * 2,
            "forecast": [10.0, 12.0],
            "actual": [11.0, 10.0],
            "level_scale": [10.0, 10.0],
        }
    )
    result = SimpleNamespace(forecast=forecast, reorder=reorder_points(forecast, detail))
    return list(ml_runner._forecast_with_reorder(result).columns)


def _written_columns() -> dict[str, list[str]]:
    """Every ml.* table the Python writers produce, with the columns they write."""
    from ml_assets.churn_data import IMPORTANCE_COLUMNS, SCORE_COLUMNS
    from ml_assets.common import ModelRun
    from ml_assets.forecast_data import BACKTEST_COLUMNS
    from ml_assets.recommendations import FBT_COLUMNS, REC_COLUMNS

    con = duckdb.connect()
    ml_io.append_metrics(con, ModelRun(model="m", task="t").metrics_frame(), "run")
    model_status.write(con, model_status.from_error("churn", RuntimeError("x"), ("churn_scores",)), "run")
    written = {t: [r[0] for r in con.execute(f"DESCRIBE ml.{t}").fetchall()] for t in ("model_metrics", "model_status")}
    con.close()
    return {
        "churn_scores": SCORE_COLUMNS,
        "churn_feature_importance": IMPORTANCE_COLUMNS,
        **{t: list(f.columns) for t, f in _segmentation_frames().items()},
        "demand_forecast": _forecast_columns(),
        "forecast_backtest": BACKTEST_COLUMNS,
        "product_recommendations": REC_COLUMNS,
        "frequently_bought_together": FBT_COLUMNS,
        **written,
    }


def test_every_ml_table_and_column_the_models_write_has_a_description():
    written = _written_columns()
    model_tables = {t for m in ml_runner.MODELS for t in m.outputs}
    assert set(written) == model_tables | {"model_metrics", "model_status"}
    from ecom_platform.lib.publish import ML_TABLES as PUBLISHED

    assert set(PUBLISHED) <= set(written)
    problems = []
    for table, columns in sorted(written.items()):
        doc = ml_tables.TABLE_DOCS.get(table)
        if doc is None or not doc.description.strip():
            problems.append(f"ml.{table}: no table description")
            continue
        problems += [f"ml.{table}.{c}: no description" for c in columns if not doc.columns.get(c, "").strip()]
        problems += [f"ml.{table}.{c}: described but never written" for c in doc.columns if c not in columns]
    assert set(ml_tables.TABLE_DOCS) <= set(written), "descriptions of tables nothing writes"
    assert problems == [], "\n".join(problems)


def test_writing_an_ml_table_leaves_its_comments_in_the_warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    frames = _segmentation_frames()
    con = duckdb.connect(str(path))
    for table, frame in frames.items():
        assert ml_io.write_table(con, table, frame) == len(frame)
    # a rewrite (CREATE OR REPLACE) is described again
    ml_io.write_table(con, "customer_segments", frames["customer_segments"])
    con.close()
    with duckdb.connect(str(path), read_only=True) as ro:
        for table in frames:
            _assert_commented(ro, table)


def test_metrics_and_status_writers_comment_their_tables_even_when_made_before(tmp_path):
    from ml_assets.common import ModelRun

    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    # tables as an older version wrote them: no comments
    con.execute("CREATE SCHEMA ml")
    con.execute(model_status.DDL)
    run = ModelRun(model="kmeans", task="segmentation", primary_metric="silhouette")
    run.metrics = {"silhouette": 0.2}
    run.baselines = {"rfm_segments": {"silhouette": 0.1}}
    frame = run.decide().metrics_frame()
    con.execute(
        "CREATE TABLE ml.model_metrics AS SELECT 'old' AS dagster_run_id, now()::TIMESTAMP AS recorded_at, * FROM frame"
    )
    ml_io.append_metrics(con, frame, "run-2")
    model_status.write(con, model_status.from_run("segmentation", run, ("customer_segments",)), "run-2")
    con.close()
    with duckdb.connect(str(path), read_only=True) as ro:
        _assert_commented(ro, "model_metrics")
        _assert_commented(ro, "model_status")


def test_a_materialization_column_schema_gets_the_declared_descriptions():
    """dagster-dbt's fetch_column_metadata records names and types read from the warehouse;
    the dbt assets add each column's description from the asset's declared schema."""
    import dagster as dg

    from ecom_platform.defs.dbt.assets import with_descriptions

    fetched = dg.MetadataValue.table_schema(
        dg.TableSchema(columns=[dg.TableColumn("sales_date", "DATE"), dg.TableColumn("extra", "INTEGER")])
    )
    # as the asset spec holds it: a plain TableSchema
    declared = dg.TableSchema(columns=[dg.TableColumn("SALES_DATE", "date", "The invoice day.")])
    described = with_descriptions(fetched, declared)
    assert [(c.name, c.type, c.description) for c in described.schema.columns] == [
        ("sales_date", "DATE", "The invoice day."),
        ("extra", "INTEGER", None),
    ]
    assert with_descriptions(described, declared) is None  # nothing to add
    assert with_descriptions(None, declared) is None
    # and the real specs: every dbt asset's declared schema goes through it
    from ecom_platform.defs.dbt import dbt_models

    spec = dbt_models.specs_by_key[dg.AssetKey(["bi", "sales_country_daily"])]
    bare = dg.MetadataValue.table_schema(dg.TableSchema(columns=[dg.TableColumn("net_revenue", "DECIMAL(18,2)")]))
    (col,) = with_descriptions(bare, spec.metadata["dagster/column_schema"]).schema.columns
    assert col.description.startswith("Merchandise sales net of cancellations")
