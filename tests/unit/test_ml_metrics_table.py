import duckdb
import pandas as pd

from ecom_platform.lib import ml_io
from ml_assets.common import ModelRun


def _rows(n_eval, baseline=None):
    return pd.DataFrame(
        [
            {
                "run_at": "2026-01-01T00:00:00",
                "task": "segmentation",
                "model": "kmeans",
                "metric": "silhouette",
                "value": 0.2,
                "baseline_name": baseline,
                "baseline_value": None if baseline is None else 0.1,
                "higher_is_better": True,
                "beats_baseline": None if baseline is None else True,
                "is_primary": True,
                "publishable": True,
                "reason": None,
                "data_start": None,
                "data_end": None,
                "n_train": None,
                "n_eval": n_eval,
                "artifact_hash": None,
                "params": "{}",
            }
        ]
    )


def test_a_first_run_with_empty_columns_does_not_fix_their_type_to_null():
    con = duckdb.connect()
    assert ml_io.append_metrics(con, _rows(None), "run-1") == 1  # e.g. segmentation first: no n_eval
    assert ml_io.append_metrics(con, _rows(1234, baseline="popularity"), "run-2") == 1
    types = dict(
        con.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'model_metrics'"
        ).fetchall()
    )
    assert (types["n_eval"], types["baseline_value"], types["beats_baseline"]) == ("BIGINT", "DOUBLE", "BOOLEAN")
    assert con.execute("SELECT dagster_run_id, n_eval, baseline_name FROM ml.model_metrics ORDER BY 1").fetchall() == [
        ("run-1", None, None),
        ("run-2", 1234, "popularity"),
    ]


def test_a_first_run_without_any_metric_leaves_a_table_the_next_runs_fill():
    # a model the data cannot support writes no metric row; when it writes first (a small
    # shop: churn not trained), the next model's row must still fit every column
    con = duckdb.connect()
    assert ml_io.append_metrics(con, ModelRun(model="churn", task="churn").metrics_frame(), "run-1") == 0
    assert ml_io.append_metrics(con, _rows(1234, baseline="popularity"), "run-2") == 1
    assert con.execute("SELECT dagster_run_id, run_at, metric, value, n_eval FROM ml.model_metrics").fetchall() == [
        ("run-2", "2026-01-01T00:00:00", "silhouette", 0.2, 1234)
    ]
