"""The forecast's LightGBM candidate: lag and calendar features per series week, training and prediction."""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from ml_assets.forecast_data import WEEK, ForecastConfig

# --------------------------------------------------------------------------- baselines


# --------------------------------------------------------------------------- LightGBM

_LAGS = 12


def _xmas_weeks(weeks: pd.DatetimeIndex) -> np.ndarray:
    """Signed weeks from the week to the nearest Christmas (Dec 25)."""
    out = []
    for w in weeks:
        best = None
        for yr in (w.year - 1, w.year, w.year + 1):
            d = (pd.Timestamp(yr, 12, 25) - w) / WEEK
            if best is None or abs(d) < abs(best):
                best = d
        out.append(best)
    return np.asarray(out, dtype=float)


@dataclass
class _Panel:
    """Series as a dense matrix (series x weeks) with NaN before each series' start."""

    ids: list[str]
    weeks: pd.DatetimeIndex
    Y: np.ndarray
    start: np.ndarray  # first index per series
    stype: np.ndarray  # 0 product, 1 category, 2 total

    @classmethod
    def from_long(cls, series: pd.DataFrame) -> _Panel:
        wide = series.pivot(index="series_id", columns="week_start", values="y")
        wide = wide.sort_index()
        weeks = pd.DatetimeIndex(wide.columns)
        Y = wide.to_numpy(dtype=float)
        start = np.argmax(~np.isnan(Y), axis=1)
        types = series.drop_duplicates("series_id").set_index("series_id")["series_type"]
        code = {"product": 0, "category": 1, "total": 2}
        stype = np.array([code.get(str(types[i]), 1) for i in wide.index])
        return cls(list(wide.index), weeks, Y, start, stype)


def _feature_rows(
    panel: _Panel,
    origin_t: np.ndarray,
    series_idx: np.ndarray,
    hz: np.ndarray,
    scale: np.ndarray,
    m: int,
    normalize: str = "recent",
) -> tuple[np.ndarray, np.ndarray]:
    """Features for rows (series i, last observed week t, horizon h): target week t+h.

    Returns (X, row_scale): values are divided by ``row_scale``, the series' mean over
    the 13 weeks up to t (``normalize='recent'``; the series scale when that is 0) or
    the series scale (``'series'``); the model predicts y[t+h] / row_scale.
    """
    Y = panel.Y
    nW = Y.shape[1]

    def val(i, t):
        ok = (t >= 0) & (t < nW)
        out = np.full(len(i), np.nan)
        out[ok] = Y[i[ok], t[ok]]
        return out

    def mean_window(i, t_end, w):
        # mean of y[t_end-w+1 .. t_end], ignoring NaN
        acc = np.zeros(len(i))
        cnt = np.zeros(len(i))
        for d in range(w):
            v = val(i, t_end - d)
            ok = ~np.isnan(v)
            acc[ok] += v[ok]
            cnt[ok] += 1
        return np.where(cnt > 0, acc / np.maximum(cnt, 1), np.nan)

    i, t = series_idx, origin_t
    rm4 = mean_window(i, t, 4)
    rm8 = mean_window(i, t, 8)
    rm13 = mean_window(i, t, 13)
    rm26 = mean_window(i, t, 26)
    sc = scale[series_idx]
    if normalize == "recent":
        sc = np.where(np.isfinite(rm13) & (rm13 > 0), rm13, sc)
    feats = []
    for lag in range(_LAGS):
        feats.append(val(i, t - lag) / sc)
    feats += [rm4 / sc, rm8 / sc, rm13 / sc, rm26 / sc]
    sq = np.zeros(len(i))
    cnt = np.zeros(len(i))
    for d in range(8):
        v = val(i, t - d)
        ok = ~np.isnan(v)
        sq[ok] += (v[ok] - rm8[ok]) ** 2
        cnt[ok] += 1
    feats.append(np.sqrt(sq / np.maximum(cnt, 1)) / sc)
    target = t + hz
    s0 = val(i, target - m)
    feats += [s0 / sc, val(i, target - m - 1) / sc, val(i, target - m + 1) / sc, mean_window(i, target - m + 2, 5) / sc]
    ly13 = mean_window(i, t - m, 13)
    growth = rm13 / np.where(ly13 > 0, ly13, np.nan)
    feats += [growth, s0 * growth / sc]
    # calendar of the target week (may lie beyond the panel)
    cal = _calendar(panel.weeks, extra=60)
    tix = np.clip(target, 0, len(cal) - 1)
    feats += [cal[tix, 0], cal[tix, 1], cal[tix, 2]]
    feats += [hz.astype(float), panel.stype[i].astype(float), (t - panel.start[i]).astype(float), np.log1p(sc)]
    return np.column_stack(feats), sc


def _calendar(weeks: pd.DatetimeIndex, extra: int = 60) -> np.ndarray:
    """(week of year, month, weeks to Christmas) for the panel weeks and ``extra`` more."""
    allw = weeks.append(pd.date_range(weeks[-1] + WEEK, periods=extra, freq="7D"))
    return np.column_stack(
        [allw.isocalendar().week.to_numpy(dtype=float), allw.month.to_numpy(dtype=float), _xmas_weeks(allw)]
    )


FEATURE_NAMES = [f"lag_{k}" for k in range(_LAGS)] + [
    "rmean_4",
    "rmean_8",
    "rmean_13",
    "rmean_26",
    "rstd_8",
    "ly_same_week",
    "ly_week_before",
    "ly_week_after",
    "ly_5wk_mean",
    "yoy_growth",
    "seasonal_naive_trend_adj",
    "week_of_year",
    "month",
    "weeks_to_christmas",
    "horizon",
    "series_type",
    "series_age",
    "log_level",
]


def _scales(panel: _Panel, origin: int) -> np.ndarray:
    hist = np.abs(panel.Y[:, max(0, origin - 52) : origin])
    cnt = (~np.isnan(hist)).sum(axis=1)
    sc = np.where(cnt > 0, np.nansum(hist, axis=1) / np.maximum(cnt, 1), np.nan)
    sc = np.where(np.isfinite(sc) & (sc > 0), sc, 1.0)
    return sc


def _lgb_params(cfg: ForecastConfig) -> dict:
    return {
        "objective": cfg.objective,
        "learning_rate": cfg.learning_rate,
        "num_leaves": cfg.num_leaves,
        "min_data_in_leaf": cfg.min_child_samples,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.9,
        "bagging_freq": 1,
        "lambda_l2": 1.0,
        "max_bin": 63,
        "num_threads": cfg.num_threads,
        "seed": cfg.random_state,
        "deterministic": True,
        "force_row_wise": True,
        "verbose": -1,
    }


def _train_lgb(panel: _Panel, origin: int, cfg: ForecastConfig) -> tuple[lgb.Booster, np.ndarray]:
    """Train on all (series, t, h) with t + h < origin; returns (booster, scales)."""
    scale = _scales(panel, origin)
    H = cfg.horizon
    n_s = len(panel.ids)
    rows_i, rows_t, rows_h = [], [], []
    for i in range(n_s):
        t0 = panel.start[i] + 3
        for h in range(1, H + 1):
            ts = np.arange(t0, origin - h)
            if len(ts) == 0:
                continue
            rows_i.append(np.full(len(ts), i))
            rows_t.append(ts)
            rows_h.append(np.full(len(ts), h))
    if not rows_i:
        raise ValueError("not enough history to train the forecasting model")
    ii, tt, hh = (np.concatenate(a) for a in (rows_i, rows_t, rows_h))
    X, row_scale = _feature_rows(panel, tt, ii, hh, scale, cfg.season_length, cfg.normalize)
    y = panel.Y[ii, tt + hh] / row_scale
    ok = ~np.isnan(y)
    ds = lgb.Dataset(X[ok], y[ok], feature_name=FEATURE_NAMES, params={"verbose": -1})
    booster = lgb.train(_lgb_params(cfg), ds, num_boost_round=cfg.n_estimators)
    return booster, scale


def _predict_lgb(
    booster, panel: _Panel, origin: int, scale: np.ndarray, cfg: ForecastConfig, series: np.ndarray
) -> np.ndarray:
    """Forecasts (len(series) x H) from origin (last observed week = origin-1)."""
    H = cfg.horizon
    ii = np.repeat(series, H)
    hh = np.tile(np.arange(1, H + 1), len(series))
    tt = np.full(len(ii), origin - 1)
    X, row_scale = _feature_rows(panel, tt, ii, hh, scale, cfg.season_length, cfg.normalize)
    pred = booster.predict(X, num_threads=cfg.num_threads) * row_scale
    return np.clip(pred, 0, None).reshape(len(series), H)
