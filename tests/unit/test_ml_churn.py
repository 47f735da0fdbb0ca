"""Churn: leakage guard, time split, separable data, output contract, min-data refusal."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from ml_assets.churn import (
    CANDIDATES,
    SCORE_COLUMNS,
    ChurnConfig,
    _Models,
    _stack,
    churn_cutoffs,
    churn_features,
    run_churn,
    validate_candidates,
)
from ml_assets.churn_data import CHURN_FEATURES
from ml_assets.churn_models import choose_model
from ml_assets.data import prepare_lines
from ml_assets.features import customer_features, label_population
from tests.synthetic_shop import simulate_shop

pytestmark = pytest.mark.component  # trains models / builds shops or Dagster runs: make test, not test-fast

START = pd.Timestamp("2023-01-02")


def _line(inv, code, cust, when, qty=2, price=3.0, country="United Kingdom"):
    return {
        "invoice": inv,
        "stock_code": code,
        "description": f"ITEM {code}",
        "customer_id": cust,
        "invoice_date": when,
        "quantity": qty,
        "unit_price": price,
        "category": "cat_a" if code < "P5" else "cat_b",
        "country": country,
    }


def separable_lines(n_loyal=80, n_oneoff=80, weeks=104) -> pd.DataFrame:
    """Loyal customers buy every week from the start and never stop; one-off customers
    buy exactly once (at a random week) and never come back."""
    rng = np.random.default_rng(7)
    rows, inv = [], 100000
    for c in range(n_loyal):
        for w in range(weeks):
            inv += 1
            when = START + pd.Timedelta(days=7 * w + int(rng.integers(0, 6)), hours=10)
            rows.append(_line(str(inv), f"P{rng.integers(1, 9)}", 1000 + c, when))
            rows.append(_line(str(inv), f"P{rng.integers(1, 9)}", 1000 + c, when))
    for c in range(n_oneoff):
        inv += 1
        when = START + pd.Timedelta(days=int(rng.integers(0, 7 * weeks)), hours=11)
        rows.append(_line(str(inv), "P1", 5000 + c, when, country="France"))
    return prepare_lines(pd.DataFrame(rows))


SMALL = dict(min_repeat_customers=10, n_estimators=50, min_child_samples=5)


def test_leakage_guard_rows_at_or_after_cutoff_change_nothing():
    shop = simulate_shop(n_customers=150, n_products=40, n_weeks=60, seed=3, with_events=True)
    lines = prepare_lines(shop.lines)
    T = pd.Timestamp("2023-09-04")
    before = customer_features(lines, T, shop.customers, shop.events)

    # 1) change every row at/after T, 2) add rows at T exactly and later (known and new
    # customers), 3) add events after T, 4) move sign-ups after T.
    future = lines["invoice_date"] >= T
    changed = lines.copy()
    changed.loc[future, "quantity"] = changed.loc[future, "quantity"] * 10
    changed.loc[future, "net_amount"] = changed.loc[future, "net_amount"] * 10
    changed.loc[future, "is_cancellation"] = True
    extra = pd.DataFrame(
        [
            _line("900001", "P9", 10001, T),
            _line("900002", "P9", 10002, T + pd.Timedelta(days=3)),
            _line("C900003", "P9", 10003, T + pd.Timedelta(hours=1), qty=-5),
            _line("900004", "P9", 99999, T + pd.Timedelta(days=30)),
        ]
    )
    changed = prepare_lines(pd.concat([changed, extra], ignore_index=True))
    ev = shop.events.copy()
    ev_extra = ev.head(50).assign(event_time=T + pd.Timedelta(minutes=5))
    ev = pd.concat([ev, ev_extra], ignore_index=True)
    cust = shop.customers.copy()
    cust.loc[cust.index[:20], "signup_date"] = T + pd.Timedelta(days=400)
    # a customer whose sign-up moved after T must not see a sign-up date: compare only
    # the others for days_since_signup, everything else must be identical
    after = customer_features(changed, T, cust, ev)

    moved = set(cust["customer_id"].iloc[:20])
    keep_cols = [c for c in before.columns if c != "days_since_signup"]
    pd.testing.assert_frame_equal(before[keep_cols], after[keep_cols])
    unaffected = ~before.index.isin(moved)
    pd.testing.assert_series_equal(
        before.loc[unaffected, "days_since_signup"], after.loc[unaffected, "days_since_signup"]
    )
    assert after.loc[after.index.isin(moved), "days_since_signup"].isna().all()


def test_leakage_guard_covers_the_churn_features():
    shop = simulate_shop(n_customers=150, n_products=40, n_weeks=60, seed=3, with_events=True)
    lines = prepare_lines(shop.lines)
    T = pd.Timestamp("2023-09-04")
    before = churn_features(lines, T, shop.customers, shop.events, 365)
    assert set(CHURN_FEATURES) <= set(before.columns)
    future = lines["invoice_date"] >= T
    changed = lines.copy()
    changed.loc[future, "quantity"] = changed.loc[future, "quantity"] * 10
    changed.loc[future, "net_amount"] = changed.loc[future, "net_amount"] * 10
    changed.loc[future, "is_cancellation"] = ~changed.loc[future, "is_cancellation"]
    changed.loc[future, "stock_code"] = "P9"
    known = int(before.index[0])
    extra = pd.DataFrame(
        [
            _line("900001", "P9", known, T),
            _line("C900002", "P9", known, T, qty=-50),
            _line("900003", "P9", known, T + pd.Timedelta(days=2)),
            _line("900004", "P9", 99999, T + pd.Timedelta(days=30)),
        ]
    )
    changed = prepare_lines(pd.concat([changed, extra], ignore_index=True))
    after = churn_features(changed, T, shop.customers, shop.events, 365)
    pd.testing.assert_frame_equal(before, after)


def test_churn_features_on_crafted_rows():
    day = pd.Timedelta(days=1)
    at = START + pd.Timedelta(hours=10)
    lines = prepare_lines(
        pd.DataFrame(
            [
                _line("1", "P1", 1, at),  # 2 x 3 = 6
                _line("2", "P2", 1, at + 10 * day, qty=4),  # 12
                _line("C3", "P2", 1, at + 20 * day, qty=-1),  # a return of 3
                _line("4", "P1", 1, at + 70 * day),  # 6 + 6 = 12
                _line("4", "P1", 1, at + 70 * day),
                _line("5", "P1", 2, at + 50 * day),  # one purchase only
                _line("6", "P3", 1, START + 100 * day),  # at the cutoff: ignored
            ]
        )
    )
    T = START + 100 * day
    f = churn_features(lines, T, horizon_days=90)
    a = f.loc[1]
    recency = 30 - 10 / 24
    assert a["recency_days"] == pytest.approx(recency)
    assert a["purchase_days"] == 3
    assert [a[f"purchase_days_{w}d"] for w in (30, 60, 90, 180)] == [1, 1, 2, 3]
    assert a["purchase_days_per_30d"] == pytest.approx(3 / 100 * 30)
    # 30-day periods back from T: ages 100, 90, 30 -> periods 3, 3, 1 of 0..3
    assert a["active_period_share"] == pytest.approx(2 / 4)
    # gaps 10 and 60 days
    assert a["recency_over_median_gap"] == pytest.approx(recency / 35)
    assert a["recency_over_max_gap"] == pytest.approx(recency / 60)
    assert a["recency_gap_z"] == pytest.approx((recency - 35) / (25 + 7))
    rate = 2 / 70
    assert a["purchase_rate"] == pytest.approx(rate)
    assert a["p_silent_since_last"] == pytest.approx(np.exp(-rate * recency))
    assert a["expected_purchases_horizon"] == pytest.approx(rate * 90)
    assert a["last_order_rel"] == pytest.approx(12 / 10)
    assert a["return_value_share"] == pytest.approx(3 / 30)
    assert a["product_repeat_share"] == pytest.approx(1 - 2 / 4)
    assert a["median_line_quantity"] == 2
    b = f.loc[2]
    assert b["purchase_days"] == 1 and b["return_value_share"] == 0
    for c in ("recency_over_median_gap", "recency_gap_z", "purchase_rate", "p_silent_since_last"):
        assert np.isnan(b[c])


def test_model_choice_never_reads_the_eval_window():
    shop = simulate_shop(n_customers=300, n_products=40, n_weeks=80, seed=11)
    lines = prepare_lines(shop.lines)
    cfg = ChurnConfig(min_child_samples=5, model_candidates=((3, 20), (7, 40)))
    cut = churn_cutoffs(lines, cfg)
    leaves, rounds, how = choose_model(lines, cut, None, None, cfg)
    assert (leaves, rounds) in cfg.model_candidates and "validation AUC" in how
    # rewrite everything from the eval cutoff on: the choice and its scores stay the same
    late = lines["invoice_date"] >= cut["eval_cutoff"]
    other = lines.loc[~late | (lines["customer_id"] % 2 == 0)]
    assert choose_model(other, cut, None, None, cfg) == (leaves, rounds, how)


def test_features_are_computed_from_the_past_only():
    lines = separable_lines(n_loyal=2, n_oneoff=0, weeks=10)
    T = START + pd.Timedelta(days=35)
    f = customer_features(lines, T)
    cust = lines[lines.customer_id == 1000]
    past = cust[cust.invoice_date < T]
    assert f.loc[1000, "frequency"] == past["invoice"].nunique()
    assert f.loc[1000, "recency_days"] == pytest.approx((T - past["invoice_date"].max()) / pd.Timedelta(days=1))
    assert f.loc[1000, "monetary"] == pytest.approx(past["net_amount"].sum())


def test_labels_use_the_window_after_the_cutoff():
    lines = separable_lines(n_loyal=3, n_oneoff=20, weeks=30)
    T = START + pd.Timedelta(days=100)
    f = customer_features(lines, T)
    y = label_population(f, lines, T, horizon_days=90)
    assert (y.loc[y.index < 5000] == 0).all()  # loyal buy again
    assert (y.loc[y.index >= 5000] == 1).all()  # one-offs never do


def test_time_split_keeps_training_labels_before_the_eval_cutoff():
    lines = separable_lines(weeks=60, n_loyal=5, n_oneoff=5)
    cfg = ChurnConfig()
    cut = churn_cutoffs(lines, cfg)
    h = pd.Timedelta(days=cfg.horizon_days)
    assert cut["eval_cutoff"] + h == cut["as_of"]
    assert all(c + h <= cut["eval_cutoff"] for c in cut["train_cutoffs"])
    assert all(c + h <= cut["as_of"] for c in cut["refit_cutoffs"])
    # the inner validation that picks the boosting rounds never reaches the eval window
    assert cut["validation_cutoff"] == cut["train_cutoffs"][0]
    assert cut["validation_cutoff"] + h <= cut["eval_cutoff"]
    assert all(c + h <= cut["validation_cutoff"] for c in cut["validation_train_cutoffs"])


def test_separable_churn_scores_near_perfect_auc():
    res = run_churn(separable_lines(), config=ChurnConfig(**SMALL))
    champion = res.run.params["champion"]
    other = next(c for c in CANDIDATES if c != champion)
    assert res.run.model == f"churn_{champion}"
    assert res.run.metrics["roc_auc"] > 0.97
    assert res.run.baselines[other]["roc_auc"] > 0.95
    # every candidate is recorded; only the naive baseline has to be beaten
    assert set(res.run.baselines) == {other, "recency_only"}
    assert res.run.required_baselines == ["recency_only"]
    assert {"roc_auc", "pr_auc", "brier", "top_decile_lift"} <= set(res.run.metrics)
    assert set(res.calibration["model"]) == {"lightgbm", "logistic_regression", "recency_only"}
    assert set(res.evaluation["model"]) == {"lightgbm", "logistic_regression", "recency_only"}


@pytest.mark.parametrize("champion", CANDIDATES)
def test_each_candidate_scores_with_drivers_that_add_up_to_its_log_odds(champion):
    """The published model is whichever candidate won; its drivers are its own log-odds
    contributions (SHAP for LightGBM, coef x standardized feature for the logistic
    regression), so contributions + intercept give back the probability."""
    shop = simulate_shop(n_customers=300, n_products=40, n_weeks=80, seed=11)
    lines = prepare_lines(shop.lines)
    cfg = ChurnConfig(**SMALL)
    cut = churn_cutoffs(lines, cfg)
    X, y = _stack(lines, cut["train_cutoffs"], None, None, cfg)
    m = _Models(cfg, only=(champion,), champion=champion).fit(X, y)
    assert set(m.predict(X)) == {champion}
    prob, contrib = m.score(X)
    assert contrib.shape == (len(X), len(m.feature_names))
    if champion == "lightgbm":
        bias = m.booster.predict(m.enc_tree.transform(X).to_numpy(), pred_contrib=True)[:, -1]
    else:
        bias = m.logreg[-1].intercept_[0]
        np.testing.assert_allclose(prob, m.predict(X)[champion], rtol=1e-9)
    np.testing.assert_allclose(np.log(prob / (1 - prob)), contrib.sum(axis=1) + bias, atol=1e-6)
    gain, split = m.importance()
    assert len(gain) == len(m.feature_names) and (gain >= 0).all() and gain.sum() > 0
    assert (split > 0).any() == (champion == "lightgbm")


def test_champion_is_chosen_on_the_inner_validation_not_the_eval_cutoff():
    shop = simulate_shop(n_customers=300, n_products=40, n_weeks=80, seed=11)
    lines = prepare_lines(shop.lines)
    cfg = ChurnConfig(min_child_samples=5, model_candidates=((3, 20), (7, 40)))
    cut = churn_cutoffs(lines, cfg)
    val = validate_candidates(lines, cut, None, None, cfg)
    assert set(val["auc"]) == set(CANDIDATES)
    late = lines["invoice_date"] >= cut["eval_cutoff"]
    other = lines.loc[~late | (lines["customer_id"] % 2 == 0)]
    assert validate_candidates(other, cut, None, None, cfg) == val
    res = run_churn(lines, config=cfg)
    assert res.run.params["champion_chosen_on"] == "validation"
    best = max(CANDIDATES, key=lambda c: (val["auc"][c], c == "logistic_regression"))
    assert res.run.params["champion"] == best
    assert f"champion {best}, chosen on the inner validation" in " ".join(res.run.notes)


def test_scores_contract_and_drivers():
    shop = simulate_shop(n_customers=400, n_products=60, n_weeks=80, seed=5, with_events=True)
    res = run_churn(shop.lines, shop.customers, shop.events, ChurnConfig(**SMALL))
    s = res.scores
    assert list(s.columns) == SCORE_COLUMNS
    assert s["customer_id"].is_unique and len(s) > 100
    assert s["churn_probability"].between(0, 1).all()
    assert set(s["risk_band"]) <= {"low", "medium", "high"}
    high = s["churn_probability"] >= 2 / 3
    assert (s.loc[high, "risk_band"] == "high").all()
    pattern = re.compile(r"^[\w=. -]+ \([+-]\d+\.\d{2}\)(, [\w=. -]+ \([+-]\d+\.\d{2}\))*$")
    assert s["top_drivers"].map(lambda d: bool(pattern.match(d))).all()
    assert res.importance["rank"].tolist() == list(range(1, len(res.importance) + 1))
    assert "ev_events_30d" in set(res.importance["feature"])  # clickstream used
    assert "income" in set(res.importance["feature"])  # profile used
    assert len(res.run.artifact_hash) == 64
    m = res.run.metrics_frame()
    other = next(c for c in CANDIDATES if c != res.run.params["champion"])
    assert set(m["baseline_name"]) == {other, "recency_only"}


def test_refuses_with_a_message_when_data_is_too_small():
    lines = separable_lines(n_loyal=3, n_oneoff=3, weeks=12)
    res = run_churn(lines)
    assert not res.run.publishable
    assert not res.check.ok
    assert "need >= 500 customers with >= 2 orders (have 3)" in res.run.reason
    assert "days of order history" in res.run.reason
    assert list(res.scores.columns) == SCORE_COLUMNS and res.scores.empty


def test_enough_data_but_trained_model_still_reports_the_check():
    res = run_churn(separable_lines(), config=ChurnConfig(n_estimators=50))
    # 80 repeat customers < 500 required: trained and scored, but not publishable
    assert len(res.scores) > 0
    assert not res.run.publishable
    assert "need >= 500 customers" in res.run.reason
