"""Metric functions against hand-computed values (and scikit-learn where it has them)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from ml_assets import evaluation as ev


def test_roc_auc_hand_example():
    # pairs (pos, neg): (0.35 vs 0.1 ok), (0.35 vs 0.4 no), (0.8 vs both ok) -> 3/4
    assert ev.roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)


def test_roc_auc_ties_count_half():
    assert ev.roc_auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)
    assert math.isnan(ev.roc_auc([1, 1], [0.2, 0.3]))


def test_pr_auc_hand_example():
    # ranking 0.8(+), 0.4(-), 0.35(+), 0.1(-): AP = 1/2*1 + 1/2*(2/3) = 0.8333
    assert ev.pr_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(5 / 6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_metrics_match_sklearn_with_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.random(300), 1)  # many ties
    assert ev.roc_auc(y, s) == pytest.approx(roc_auc_score(y, s))
    assert ev.pr_auc(y, s) == pytest.approx(average_precision_score(y, s))


def test_brier_and_log_loss():
    assert ev.brier([0, 1], [0.2, 0.6]) == pytest.approx((0.04 + 0.16) / 2)
    assert ev.log_loss([1, 0], [0.5, 0.5]) == pytest.approx(math.log(2))


def test_top_decile_lift():
    y = [1, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.0]
    # top 10% = 1 row (positive) -> rate 1.0 / base rate 0.2
    assert ev.top_decile_lift(y, s) == pytest.approx(5.0)


def test_calibration_table_bins():
    y = [0, 0, 1, 1, 1]
    p = [0.05, 0.15, 0.15, 0.95, 0.99]
    t = ev.calibration_table(y, p, n_bins=10)
    assert list(t["bin"]) == [0, 1, 9]
    assert list(t["n"]) == [1, 2, 2]
    row = t.set_index("bin").loc[1]
    assert row["mean_predicted"] == pytest.approx(0.15)
    assert row["observed_rate"] == pytest.approx(0.5)
    assert row["gap"] == pytest.approx(-0.35)


def test_forecast_metrics_by_hand():
    actual, forecast, history = [3, 4], [2, 4], [1, 2, 4]
    # scale = mean(|2-1|, |4-2|) = 1.5; MAE = 0.5
    assert ev.mase(actual, forecast, history) == pytest.approx(0.5 / 1.5)
    assert ev.mase(actual, forecast, scale=0.25) == pytest.approx(2.0)
    assert ev.mase_scale([1, 2, 4, 8], m=2) == pytest.approx((3 + 6) / 2)
    assert ev.wape(actual, forecast) == pytest.approx(1 / 7)
    assert ev.bias(actual, forecast) == pytest.approx(-1 / 7)
    assert math.isnan(ev.mase([1], [1], [5, 5, 5]))  # zero scale


def test_ranking_metrics_by_hand():
    recs, rel = ["a", "b", "c"], {"b", "d"}
    assert ev.hit_rate_at_k(recs, rel, 3) == 1.0
    assert ev.precision_at_k(recs, rel, 3) == pytest.approx(1 / 3)
    assert ev.recall_at_k(recs, rel, 3) == pytest.approx(1 / 2)
    dcg = 1 / math.log2(3)
    idcg = 1 + 1 / math.log2(3)
    assert ev.ndcg_at_k(recs, rel, 3) == pytest.approx(dcg / idcg)
    assert ev.ndcg_at_k(["b", "d"], rel, 3) == pytest.approx(1.0)
    assert ev.hit_rate_at_k(["x"], rel, 3) == 0.0
    assert ev.coverage([["a", "b"], ["b", "c"]], catalogue_size=10) == pytest.approx(0.3)


def test_ranking_metrics_mean_over_users_skips_empty_relevant():
    out = ev.ranking_metrics([["a", "b"], ["c", "d"], ["e"]], [{"a"}, {"x"}, set()], k=2, catalogue_size=5)
    assert out["hit_rate@2"] == pytest.approx(0.5)
    assert out["precision@2"] == pytest.approx(0.25)
    assert out["recall@2"] == pytest.approx(0.5)
    assert out["ndcg@2"] == pytest.approx(0.5)
    assert out["coverage"] == pytest.approx(1.0)
