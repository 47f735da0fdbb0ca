"""The forecast's candidates and naive baselines (single-series ones as ``f(y, h) ->
forecast``) and how each level's champion is chosen among them.

The statistical models come from statsforecast (Nixtla; ETS and Theta run on its compiled
C++ core, Croston SBA on numba) rather than code of our own: reference implementations of
the M-competition methods, at a few milliseconds per series, so they run for every
series at every backtest origin. Importing statsforecast and compiling Croston's numba
functions on first use cost a few seconds a process; statsforecast's on-disk numba cache
(env ``NIXTLA_NUMBA_CACHE=1``) saves too little of that to be worth it (figures:
docs/benchmarks.md, Measured choices).

- ``naive``: the last value; ``seasonal_naive``: the value a season earlier (naive when
  the history is shorter than a season) — the naive baselines;
- ``moving_average``: mean of the last ``window`` weeks;
- ``ets``: AutoETS with additive errors (weekly product demand has zero weeks), the trend
  (none, additive or damped) chosen by AICc; non-seasonal: 52 seasonal states on weekly
  data are more than these histories can estimate;
- ``theta``: the standard Theta method, with a classical multiplicative seasonal
  adjustment at period ``m`` when two seasons of history are there and its seasonality
  test passes;
- ``croston``: Croston's method with the Syntetos–Boylan correction, for the intermittent
  weekly demand of single products (many zero weeks).

Forecasts are finite and never negative; a model that cannot fit a series (too short,
constant) falls back to the moving average, and the caller counts those fallbacks.

Champion (:func:`split_origins`, :func:`choose_champions`): per level (total, category,
product) the candidate (:data:`CANDIDATES`, with ``lightgbm`` from ml_assets.forecasting)
with the lowest MASE on selection origins that do not overlap the evaluated weeks.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

NAIVE = ("naive", "seasonal_naive")
STATISTICAL = ("ets", "theta", "croston")
# Candidates, simplest first (an exact tie goes to the simpler one); the champion of each
# level must beat NAIVE_BASELINE. ``naive`` is recorded beside them.
CANDIDATES = ("moving_average", "croston", "ets", "theta", "lightgbm")
NAIVE_BASELINE = "seasonal_naive"
LEVELS = ("total", "category", "product")


def naive_forecast(y: np.ndarray, h: int) -> np.ndarray:
    return np.repeat(y[-1], h).astype(float)


def seasonal_naive_forecast(y: np.ndarray, h: int, m: int = 52) -> tuple[np.ndarray, bool]:
    """(forecast, fell_back): y[t+h-m], or naive when the history is shorter than m."""
    n = len(y)
    if n < m:
        return naive_forecast(y, h), True
    idx = n + np.arange(h) - m
    # horizons beyond a season reuse the last season
    idx = np.where(idx >= n, idx - m, idx)
    return y[idx].astype(float), False


def moving_average_forecast(y: np.ndarray, h: int, window: int = 8) -> np.ndarray:
    return np.repeat(float(np.mean(y[-window:])), h)


def statistical_forecast(name: str, y: np.ndarray, h: int, m: int = 52, window: int = 8) -> tuple[np.ndarray, bool]:
    """(forecast, fell_back) of the statsforecast model ``name`` (see :data:`STATISTICAL`)
    on history ``y``; ``fell_back`` when it could not fit and the moving average stood in."""
    from statsforecast.models import AutoETS, CrostonSBA, Theta

    y = np.asarray(y, dtype=float)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if name == "ets":
                model = AutoETS(season_length=1, model="AZN")
            elif name == "theta":
                model = Theta(season_length=m if len(y) >= 2 * m else 1)
            elif name == "croston":
                model = CrostonSBA()
            else:
                raise ValueError(f"unknown statistical model {name!r}; one of {STATISTICAL}")
            if len(y) < 4 or np.all(y == y[0]):
                raise ValueError("too short or constant")
            fc = np.asarray(model.forecast(y=y, h=h)["mean"], dtype=float)
        if fc.shape != (h,) or not np.all(np.isfinite(fc)):
            raise ValueError("non-finite forecast")
    except ValueError as exc:
        if str(exc).startswith("unknown statistical model"):
            raise
        return moving_average_forecast(y, h, window), True
    except Exception:  # noqa: BLE001 - a numerical failure of one series' fit
        return moving_average_forecast(y, h, window), True
    # A trend extrapolated over 8 weeks after a steep rise can reach many times anything
    # seen; cap at twice the series' peak so one series cannot dominate the error.
    return np.clip(fc, 0, 2 * max(float(y.max()), 0.0)), False


# --------------------------------------------------------------------------- champion


def split_origins(
    origins: list[int], season_length: int = 52, min_train_weeks: int = 26
) -> tuple[list[int], list[int], str]:
    """(selection, evaluation, how): the figures are those of the newer half of the
    backtest ``origins``; the champion is chosen on the same weeks a season earlier when
    the history reaches back that far (retail demand is seasonal: a model chosen in
    summer need not be the one for Christmas), else on the older half of the origins.
    With one origin, both are that origin."""
    if len(origins) < 2:
        return list(origins), list(origins), "the one origin"
    k = len(origins) // 2
    evaluation = list(origins[k:])
    earlier = [o - season_length for o in evaluation]
    if all(o >= min_train_weeks for o in earlier):
        return earlier, evaluation, "the same weeks a season earlier"
    return list(origins[:k]), evaluation, "the older backtest origins"


def series_origin_mase(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per ``keys`` + series + origin of ``frame`` (columns ``abs_err``, ``mase_scale``,
    ``series_id``, ``origin``): ``mae`` over the horizon and ``mase`` = mae / the series'
    in-sample scale (NaN without one). The overall MASE of a group is their mean."""
    so = frame.groupby([*keys, "series_id", "origin"], sort=True).agg(
        mae=("abs_err", "mean"), scale=("mase_scale", "first")
    )
    so["mase"] = so["mae"] / so["scale"].where(so["scale"] > 0)
    return so


def level_figures(detail: pd.DataFrame, series_type: pd.Series) -> pd.DataFrame:
    """Per (model, level) of ``detail`` rows: ``mase`` (mean of the series-origin MASEs, as
    the overall figure) and ``wape`` (pooled); ``series_type`` maps series_id to level."""
    frame = pd.DataFrame(
        {
            "model": detail["model"].astype(str).to_numpy(),
            "series_id": detail["series_id"].astype(str).to_numpy(),
            "origin": detail["origin"].to_numpy(),
            "abs_err": (detail["actual"] - detail["forecast"]).abs().to_numpy(dtype=float),
            "act": detail["actual"].abs().to_numpy(dtype=float),
            "mase_scale": detail["mase_scale"].to_numpy(dtype=float),
        }
    )
    frame["level"] = frame["series_id"].map(series_type)
    so = series_origin_mase(frame, ["level", "model"])
    sums = frame.groupby(["level", "model"], sort=True)[["abs_err", "act"]].sum()
    return pd.DataFrame(
        {
            "mase": so.groupby(level=["level", "model"])["mase"].mean(),
            "wape": sums["abs_err"] / sums["act"].where(sums["act"] > 0),
        }
    )


def choose_champions(detail: pd.DataFrame, series_type: pd.Series) -> dict[str, str]:
    """Per level (series type), the candidate with the lowest mean series-origin MASE in
    ``detail`` (the selection origins); ties go to the simpler candidate (CANDIDATES order)."""
    d = detail.loc[detail["model"].isin(CANDIDATES)]
    if d.empty:
        return {}
    by = level_figures(d, series_type)["mase"]
    out = {}
    for level in by.index.get_level_values(0).unique():
        m = by.loc[level]
        m = m[np.isfinite(m)]
        if len(m):
            out[str(level)] = min(m.index, key=lambda c: (round(float(m[c]), 12), CANDIDATES.index(c)))
    return out
