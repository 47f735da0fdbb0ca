"""ModelRun verdicts, the metrics frame, the minimum-data check and hashing."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ml_assets.common import DataCheck, ModelRun, Requirement, artifact_hash, better, min_data
from ml_assets.data import lines_from_transactions, prepare_lines


def _run(value: float, check: DataCheck | None = None) -> ModelRun:
    return ModelRun(
        model="m",
        task="t",
        params={"a": 1},
        metrics={"roc_auc": value, "brier": 0.1},
        baselines={"logreg": {"roc_auc": 0.8, "brier": 0.2}, "recency": {"roc_auc": 0.7}},
        primary_metric="roc_auc",
        data_check=check,
        data_start=pd.Timestamp("2024-01-01"),
        data_end=pd.Timestamp("2024-12-31"),
    ).decide()


def test_publishable_only_when_beating_every_baseline_and_enough_data():
    ok = min_data("x", [Requirement("n", "customers", 10, 20)])
    assert _run(0.85, ok).publishable
    assert "beats logreg (0.8000) and recency (0.7000)" in _run(0.85, ok).reason
    lose = _run(0.75, ok)
    assert not lose.publishable
    assert "does not beat baseline logreg" in lose.reason
    few = min_data("x", [Requirement("n", "customers", 10, 3)])
    starved = _run(0.9, few)
    assert not starved.publishable
    assert "need >= 10 customers (have 3)" in starved.reason


def test_metric_direction():
    assert better("roc_auc", 0.9, 0.8)
    assert better("mase", 0.9, 1.0)
    assert better("mase_units", 0.9, 1.0)
    assert better("bias", -0.05, 0.1)
    assert not better("ndcg@10", 0.1, 0.1)
    assert not better("roc_auc", float("nan"), 0.5)


def test_metrics_frame_has_one_row_per_metric_and_baseline():
    f = _run(0.85, min_data("x", [Requirement("n", "customers", 1, 1)])).metrics_frame()
    # roc_auc x 2 baselines + brier x 1 baseline
    assert len(f) == 3
    assert {
        "model",
        "metric",
        "value",
        "baseline_name",
        "baseline_value",
        "publishable",
        "reason",
        "artifact_hash",
        "params",
    } <= set(f.columns)
    row = f[(f.metric == "roc_auc") & (f.baseline_name == "recency")].iloc[0]
    assert row["value"] == 0.85 and row["baseline_value"] == 0.7 and row["beats_baseline"]
    assert row["is_primary"]
    assert json.loads(row["params"]) == {"a": 1}
    assert f["data_start"].iloc[0].startswith("2024-01-01")


def test_markdown_table_lists_model_and_baselines():
    md = _run(0.85).markdown_table()
    assert md.splitlines()[0] == "| metric | m | logreg | recency |"
    assert "| roc_auc * | 0.8500 | 0.8000 | 0.7000 |" in md
    assert "Published" in md


def test_min_data_message_says_how_much_is_needed():
    c = min_data(
        "churn prediction",
        [
            Requirement("repeat", "customers with >= 2 orders", 500, 312),
            Requirement("days", "days of order history", 180, 400),
        ],
    )
    assert not c.ok
    assert c.message == ("Not enough data for churn prediction: need >= 500 customers with >= 2 orders (have 312).")
    assert c.observed == {"repeat": 312, "days": 400}


def test_artifact_hash_is_deterministic_and_content_sensitive():
    a = {"w": np.arange(5.0), "names": ["x", "y"]}
    assert artifact_hash(a) == artifact_hash({"names": ["x", "y"], "w": np.arange(5.0)})
    assert artifact_hash(a) != artifact_hash({"w": np.arange(5.0) + 1, "names": ["x", "y"]})
    assert len(artifact_hash(a)) == 64


def test_lines_from_online_retail_layout():
    raw = pd.DataFrame(
        {
            "InvoiceNo": ["536365", "536365", "C536379", "536380", "536380"],
            "StockCode": ["85123A", "POST", "85123A", "gift_0001_10", "85123A"],
            "Description": ["HEART", "POSTAGE", "HEART", None, "HEART"],
            "Quantity": [6, 1, -2, 1, 6],
            "InvoiceDate": ["2010-12-01 08:26:00"] * 5,
            "UnitPrice": [2.55, 18.0, 2.55, 10.0, 2.55],
            "CustomerID": [17850, 17850, 17850, None, None],
            "Country": ["United Kingdom"] * 5,
        }
    )
    raw = pd.concat([raw, raw.iloc[[0]]])  # an exact duplicate
    lines = lines_from_transactions(raw)
    assert len(lines) == 5
    assert list(lines["is_merchandise"]) == [True, False, True, False, True]
    assert list(lines["is_cancellation"]) == [False, False, True, False, False]
    assert lines["customer_id"].isna().sum() == 2
    assert lines["net_amount"].iloc[2] == -5.1
    again = prepare_lines(lines)
    pd.testing.assert_frame_equal(again, lines)
