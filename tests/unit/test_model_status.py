"""ml.model_status: a model that cannot be published says why, in the warehouse, the BI copy
and the dashboard, and what would change it."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from ecom_platform.lib import model_status
from ecom_platform.lib.dashboard import build_dashboard
from ecom_platform.lib.publish import publish_bi_copy
from ml_assets.common import ModelRun, Requirement, min_data
from tests.integration.conftest_bi import make_warehouse

TABLES = ("churn_scores", "churn_feature_importance")


def churn_run(roc: float, naive: float, repeat_customers: int) -> ModelRun:
    check = min_data(
        "churn prediction", [Requirement("repeat_customers", "customers with >= 2 orders", 500, repeat_customers)]
    )
    run = ModelRun(
        model="churn_logistic_regression",
        task="churn",
        primary_metric="roc_auc",
        metrics={"roc_auc": roc},
        data_check=check,
        baselines={"recency_only": {"roc_auc": naive}, "lightgbm": {"roc_auc": roc - 0.01}},
        required_baselines=["recency_only"],
        params={"champion": "logistic_regression", "naive_baseline": "recency_only"},
        data_end=datetime(2011, 12, 9),
    )
    return run.decide()


def test_too_little_data_says_how_much_is_needed_and_what_the_shop_has():
    st = model_status.from_run("churn", churn_run(0.8, 0.7, 359), TABLES)
    assert not st.published and st.status == "not_published"
    assert st.reason == "needs at least 500 customers with >= 2 orders; this shop has 359"
    assert st.what_would_change_it == "more data: 141 more customers with >= 2 orders"


def test_no_candidate_beating_the_naive_baseline_names_both_figures():
    st = model_status.from_run("churn", churn_run(0.69, 0.71, 900), TABLES)
    assert not st.published
    assert st.reason == ("no candidate beats recency_only (0.7100): the best, logistic_regression, has roc_auc 0.6900")
    assert (st.naive_baseline, st.baseline_value, st.metric_value) == ("recency_only", 0.71, 0.69)


def test_a_published_model_names_its_champion_against_the_baseline():
    st = model_status.from_run("churn", churn_run(0.78, 0.71, 900), TABLES)
    assert st.published and st.champion == "logistic_regression"
    assert st.reason == "logistic_regression, roc_auc 0.7800 against recency_only 0.7100"
    assert st.data_end == "2011-12-09"


def test_a_training_error_is_recorded_not_raised():
    st = model_status.from_error("forecast", MemoryError("could not allocate 3 GB"), ("demand_forecast",))
    assert st.status == "failed" and not st.published
    assert st.reason == "training failed: MemoryError: could not allocate 3 GB"


def test_one_row_per_model_and_the_last_publication_is_kept(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    t1, t2 = datetime(2026, 1, 1), datetime(2026, 1, 8)
    model_status.write(con, model_status.from_run("churn", churn_run(0.78, 0.71, 900), TABLES), "r1", t1)
    model_status.write(con, model_status.from_run("churn", churn_run(0.69, 0.71, 900), TABLES), "r2", t2)
    rows = model_status.read(con)
    assert len(rows) == 1
    row = rows[0]
    assert (row["published"], row["run_id"], row["evaluated_at"], row["last_published_at"]) == (False, "r2", t2, t1)
    assert row["tables"] == "churn_scores, churn_feature_importance"
    assert "NOT published" in model_status.line(row)


@pytest.fixture()
def bi_copy_without_churn(tmp_path):
    """A BI copy of a shop whose churn model was refused and that has no events file."""
    wh = make_warehouse(tmp_path / "w.duckdb", ml_tables=["customer_segments", "segment_profiles", "model_metrics"])
    con = duckdb.connect(str(wh))
    model_status.write(con, model_status.from_run("churn", churn_run(0.8, 0.7, 359), TABLES), "r1")
    con.execute("DELETE FROM bi.category_popularity")
    con.execute("""CREATE OR REPLACE TABLE bi.data_sources AS SELECT * FROM (VALUES
        ('transactions', 'landing/transactions/', true, 2::BIGINT, 1000::BIGINT, now()::TIMESTAMP, 'sales'),
        ('events', 'landing/events/', false, 0::BIGINT, 0::BIGINT, NULL::TIMESTAMP, 'clickstream'),
        ('products', 'landing/products/', false, 1::BIGINT, 10::BIGINT, now()::TIMESTAMP, 'categories'))
        t(source, landing_folder, is_required, files_loaded, rows_loaded, last_loaded_at, fills)""")
    con.close()
    summary = publish_bi_copy(wh, tmp_path / "bi")
    return summary


def test_the_bi_copy_carries_the_status_and_the_dashboard_shows_the_reason(bi_copy_without_churn, tmp_path):
    assert "ml.model_status" in bi_copy_without_churn["tables"]
    out = build_dashboard(bi_copy_without_churn["path"], tmp_path / "dashboard.html")
    assert out["missing"]["churn_risk"] == (
        "Model churn not published: needs at least 500 customers with >= 2 orders; this shop has 359. "
        "What would change it: more data: 141 more customers with >= 2 orders."
    )
    assert out["missing"]["category_popularity"].startswith(
        "No events file has landed: drop events exports into landing/events/"
    )
    html = (tmp_path / "dashboard.html").read_text()
    assert 'data-model="churn"' in html and "this shop has 359" in html
    assert "ml_segments" in out["charts"]  # the published model's panel is still drawn


def test_a_champion_per_level_reads_as_one_line():
    from ml_assets.common import ModelRun

    run = ModelRun(
        model="forecast_per_level",
        task="forecasting",
        primary_metric="mase",
        params={"champion": {"total": "lightgbm", "product": "moving_average"}},
        required_baselines=["seasonal_naive"],
    )
    run.metrics = {"mase": 0.9}
    run.baselines = {"seasonal_naive": {"mase": 1.2}, "theta": {"mase": 0.8}}
    run.decide()
    st = model_status.from_run("forecast", run, ("demand_forecast", "forecast_backtest"))
    assert st.published and st.champion == "per level: total lightgbm, product moving_average"
    assert (
        "per level: total lightgbm, product moving_average, mase 0.9000 against seasonal_naive 1.2000"
        in model_status.line(vars(st) | {"model": "forecast"})
    )
