"""Forecasting: series building, baselines, planted seasonality, backtest, intervals, reorder."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from ml_assets.data import prepare_lines
from ml_assets.forecasting import (
    BACKTEST_COLUMNS,
    CANDIDATES,
    FORECAST_COLUMNS,
    ForecastConfig,
    backtest_origins,
    moving_average_forecast,
    naive_forecast,
    reorder_points,
    run_forecasting,
    seasonal_naive_forecast,
    split_origins,
    statistical_forecast,
    weekly_series,
)

pytestmark = pytest.mark.component  # trains models / builds shops or Dagster runs: make test, not test-fast

MONDAY = pd.Timestamp("2022-01-03")


def lines_from_weekly(units: dict[str, np.ndarray], start=MONDAY, category=None) -> pd.DataFrame:
    """One line per product and week (on Wednesday), quantity = the planted units."""
    rows = []
    for code, ys in units.items():
        for w, q in enumerate(ys):
            if q <= 0:
                continue
            rows.append(
                {
                    "invoice": f"{w}-{code}",
                    "stock_code": code,
                    "customer_id": 1,
                    "invoice_date": start + pd.Timedelta(days=7 * w + 2, hours=10),
                    "quantity": int(q),
                    "unit_price": 2.0,
                    "category": category or f"cat_{code[-1]}",
                    "country": "UK",
                }
            )
    return prepare_lines(pd.DataFrame(rows))


def seasonal_units(n_weeks: int, seed: int, base: float = 40.0, amp: float = 120.0) -> np.ndarray:
    """A level plus a strong Nov-Dec peak repeating every 52 weeks, small noise."""
    rng = np.random.default_rng(seed)
    w = np.arange(n_weeks) % 52
    peak = np.exp(-0.5 * ((w - 48) / 2.5) ** 2)
    return np.round(base + amp * peak + rng.normal(0, 3, n_weeks)).clip(1)


FAST = dict(n_estimators=80, num_leaves=15, min_child_samples=10, n_origins=3, origin_step=6, min_history_weeks=52)


def test_baseline_forecasts_by_hand():
    y = np.array([1.0, 2, 3, 4, 5, 6])
    assert naive_forecast(y, 3).tolist() == [6, 6, 6]
    assert moving_average_forecast(y, 2, window=4).tolist() == [4.5, 4.5]
    f, fell = seasonal_naive_forecast(y, 3, m=4)
    assert not fell and f.tolist() == [3, 4, 5]
    f, fell = seasonal_naive_forecast(y, 2, m=52)
    assert fell and f.tolist() == [6, 6]  # less than a season: falls back to naive


def test_statistical_models_follow_trend_season_and_intermittent_demand():
    trend = 100 + 5 * np.arange(60.0)
    f, fell = statistical_forecast("ets", trend, 4)
    assert not fell and np.all(np.diff(f) > 0) and f[0] == pytest.approx(400, rel=0.05)
    full = seasonal_units(152, 1)
    season, actual = full[:144], full[144:]  # the next 8 weeks are the yearly peak
    f, fell = statistical_forecast("theta", season, 8, m=52)
    assert not fell and np.mean(np.abs(f - actual)) < 0.5 * np.mean(np.abs(season[-1] - actual))
    # intermittent: a sale of 6 every third week -> about 2 a week
    f, fell = statistical_forecast("croston", np.tile([0.0, 0.0, 6.0], 20), 8)
    assert not fell and np.allclose(f, f[0]) and 1.5 < f[0] < 2.5
    # a constant or too short history cannot be fitted: the moving average stands in
    f, fell = statistical_forecast("ets", np.full(10, 3.0), 4)
    assert fell and f.tolist() == [3.0] * 4
    with pytest.raises(ValueError, match="unknown statistical model"):
        statistical_forecast("arima", trend, 4)


def test_weekly_series_keeps_complete_weeks_and_groups_the_tail():
    units = {"A1": np.full(10, 50.0), "B2": np.full(10, 30.0), "D2": np.full(10, 5.0)}
    lines = lines_from_weekly(units)
    # a partial week at the end (Monday only) and a partial first week (starts Sunday)
    tail = lines.iloc[[0]].assign(invoice="late", invoice_date=MONDAY + pd.Timedelta(days=70, hours=9))
    head = lines.iloc[[0]].assign(invoice="early", invoice_date=MONDAY - pd.Timedelta(days=1))
    lines = prepare_lines(pd.concat([head, lines, tail], ignore_index=True))
    s = weekly_series(lines, top_n_products=1)
    assert s["week_start"].min() == MONDAY and s["week_start"].max() == MONDAY + pd.Timedelta(weeks=9)
    assert set(s["series_id"]) == {"product:A1", "category:cat_2", "total:revenue"}
    cat = s[s.series_id == "category:cat_2"]
    assert (cat["y"] == 35).all()
    rev = s[s.series_id == "total:revenue"]
    assert (rev["y"] == (50 + 35) * 2.0).all()


def test_backtest_origins_leave_a_full_horizon_to_test():
    cfg = ForecastConfig(horizon=8, n_origins=4, origin_step=8, min_train_weeks=26)
    assert backtest_origins(104, cfg) == [72, 80, 88, 96]
    assert backtest_origins(40, cfg) == [32]
    assert backtest_origins(30, cfg) == []


def test_planted_seasonal_series_beats_naive():
    # 112 weeks: the backtest origins (weeks 94-102) cover the second yearly peak
    units = {f"P{i}": seasonal_units(112, i, base=30 + 10 * i) for i in range(6)}
    res = run_forecasting(lines_from_weekly(units), ForecastConfig(**{**FAST, "top_n_products": 6, "origin_step": 4}))
    assert not any("fell back" in n for n in res.run.notes)
    b = res.run.baselines
    assert b["seasonal_naive"]["mase"] < 0.6 * b["naive"]["mase"]
    assert res.run.metrics["mase"] < 0.8 * b["naive"]["mase"]
    assert res.run.metrics["mase"] < b["moving_average"]["mase"]
    assert list(res.backtest.columns) == BACKTEST_COLUMNS
    overall = res.backtest[res.backtest.level == "overall"]
    assert set(overall["model"]) == {*CANDIDATES, "naive", "seasonal_naive", "champion"}
    # every candidate and both naive baselines are recorded; only seasonal naive must be beaten
    assert set(b) == {*CANDIDATES, "naive", "seasonal_naive"}
    assert res.run.required_baselines == ["seasonal_naive"]
    # one champion per level present (every product is in the top 6: no category series)
    assert set(res.run.params["champion"]) == {"product", "total"}


def test_the_champion_need_not_beat_the_other_candidates_only_seasonal_naive():
    """Noisy flat demand: the single-series models (moving average, ETS, Theta, Croston)
    all beat LightGBM and the far noisier seasonal naive; a statistical champion is
    published without having to beat every other candidate (the rule of old)."""
    rng = np.random.default_rng(3)
    units = {f"P{i}": np.round(rng.normal(50, 12, 110)).clip(1) for i in range(5)}
    res = run_forecasting(lines_from_weekly(units), ForecastConfig(**{**FAST, "top_n_products": 5, "n_origins": 4}))
    run = res.run
    assert run.metrics["mase"] < run.baselines["seasonal_naive"]["mase"]
    assert run.publishable, run.reason
    champions = run.params["champion"]
    assert "lightgbm" not in champions.values()
    assert run.metrics["mase"] < run.baselines["lightgbm"]["mase"]
    # the published forecast of each series is its level's champion
    used = {lv: set(g.astype(str)) for lv, g in res.forecast.groupby("series_type")["model"]}
    assert {lv: used[lv] for lv in champions} == {lv: {c} for lv, c in champions.items()}
    # the champion figure is the mix of the levels' champions on the evaluation origins
    assert run.model in {f"forecast_{champions['product']}", "forecast_per_level"}
    # per level, the champion's figures are its level champion's: 5 products, 1 total
    for lv, c in champions.items():
        assert run.metrics[f"mase_{lv}"] == pytest.approx(run.baselines[c][f"mase_{lv}"])
        assert run.metrics[f"wape_{lv}"] == pytest.approx(run.baselines[c][f"wape_{lv}"])
    for name, b in run.baselines.items():  # overall MASE = mean over every series x origin
        assert b["mase"] == pytest.approx((5 * b["mase_product"] + b["mase_total"]) / 6), name
    assert "mase_category" not in run.metrics


def test_nothing_beats_seasonal_naive_nothing_is_published():
    """A strict 52-week pattern of spikes: seasonal naive is exact, no candidate matches it."""
    rng = np.random.default_rng(5)
    pattern = rng.choice([1.0, 1.0, 1.0, 200.0], size=52)
    units = {f"P{i}": np.tile(pattern * (i + 1), 3)[:150] for i in range(3)}
    res = run_forecasting(lines_from_weekly(units), ForecastConfig(**{**FAST, "top_n_products": 3}))
    assert not res.run.publishable
    assert "seasonal_naive" in res.run.reason


def test_the_champion_is_chosen_without_the_evaluation_origins():
    assert split_origins([72, 80, 88, 96]) == ([36, 44], [88, 96], "the same weeks a season earlier")
    assert split_origins([40, 48, 56, 64]) == ([40, 48], [56, 64], "the older backtest origins")
    assert split_origins([32, 40, 48]) == ([32], [40, 48], "the older backtest origins")
    assert split_origins([96]) == ([96], [96], "the one origin")
    units = {f"P{i}": seasonal_units(112, i, base=30 + 10 * i) for i in range(4)}
    cfg = ForecastConfig(**{**FAST, "top_n_products": 4, "n_origins": 4, "origin_step": 8})
    lines = lines_from_weekly(units)
    res = run_forecasting(lines, cfg)
    assert res.run.params["champion_chosen_on"] == "the same weeks a season earlier"
    # doubling the demand in the evaluation weeks (the last 16 complete weeks) changes
    # the reported figures, not the champions
    last = res.series["week_start"].max()
    late = lines["invoice_date"] >= last - pd.Timedelta(weeks=15)
    changed = prepare_lines(lines.assign(quantity=np.where(late, lines["quantity"] * 3, lines["quantity"])))
    res2 = run_forecasting(changed, cfg)
    assert res2.run.params["champion"] == res.run.params["champion"]
    assert res2.run.metrics["mase"] != res.run.metrics["mase"]


def test_forecast_output_intervals_and_reorder_points():
    units = {f"P{i}": seasonal_units(70, i) for i in range(4)}
    res = run_forecasting(lines_from_weekly(units), ForecastConfig(**{**FAST, "top_n_products": 3, "origin_step": 12}))
    f = res.forecast
    assert list(f.columns) == FORECAST_COLUMNS
    assert len(f) == 8 * 5  # 3 products + 1 category + revenue, 8 weeks each
    assert (f["lower_80"] <= f["forecast"]).all() and (f["forecast"] <= f["upper_80"]).all()
    assert (f["lower_80"] >= 0).all()
    last = res.series["week_start"].max()
    assert f["week_start"].min() == last + pd.Timedelta(weeks=1)
    products = set(f.loc[f.series_type == "product", "series_id"])
    assert len(products) == 3 and set(res.reorder["series_id"]) == products
    assert (res.reorder["reorder_point"] >= res.reorder["lead_time_demand"]).all()
    # seasonal naive falls back for an evaluation origin with < 52 weeks: said in the notes
    assert any("fell back to naive" in n for n in res.run.notes)


def test_reorder_point_by_hand():
    fc = pd.DataFrame(
        {
            "series_id": ["product:A"] * 3,
            "series_type": ["product"] * 3,
            "horizon": [1, 2, 3],
            "forecast": [10.0, 12.0, 50.0],
        }
    )
    bt = pd.DataFrame(
        {
            "model": "champion",
            "series_id": "product:A",
            "horizon": [1, 2, 1, 2],
            "forecast": [10.0, 10, 10, 10],
            "actual": [12.0, 8, 8, 12],
            "level_scale": 10.0,
        }
    )
    r = reorder_points(fc, bt, lead_time_weeks=2, service_level=0.95).iloc[0]
    z = NormalDist().inv_cdf(0.95)
    assert r["lead_time_demand"] == pytest.approx(22.0)
    assert r["forecast_error_sd_weekly"] == pytest.approx(2.0)
    assert r["safety_stock"] == pytest.approx(z * 2.0 * np.sqrt(2))
    assert r["reorder_point"] == pytest.approx(22.0 + z * 2.0 * np.sqrt(2))
    assert r["reorder_point_units"] == 27
    with pytest.raises(ValueError):
        reorder_points(fc, bt, lead_time_weeks=0)


def test_short_history_is_refused_with_message():
    units = {"P1": seasonal_units(20, 0)}
    res = run_forecasting(lines_from_weekly(units), ForecastConfig(**FAST))
    assert not res.run.publishable
    assert "need >= 52 complete weeks of sales history (have 18)" in res.run.reason
    assert res.forecast.empty and list(res.forecast.columns) == FORECAST_COLUMNS


def test_statistical_forecast_stays_within_twice_the_peak_after_a_steep_rise():
    # 60 quiet weeks, then a product takes off: a trend would extrapolate to many times
    # anything seen; the candidates are capped at twice the peak.
    y = np.concatenate([np.full(60, 2.0), [5, 12, 30, 70, 150, 300]])
    for name in ("ets", "theta", "croston"):
        fc, _ = statistical_forecast(name, y, 8)
        assert fc.shape == (8,) and fc.max() <= 2 * y.max() and fc.min() >= 0, name
