"""The forecast's single-series candidates and naive baselines, each ``f(y, h) -> forecast``.

The statistical models come from statsforecast (Nixtla; ETS and Theta run on its compiled
C++ core, Croston SBA on numba) rather than code of our own: reference implementations of
the M-competition methods, at a few milliseconds per series (about 8 ms for AutoETS, 1.5 ms
for Theta on two years of weeks), so they run for every series at every backtest origin.

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
"""

from __future__ import annotations

import warnings

import numpy as np

NAIVE = ("naive", "seasonal_naive")
STATISTICAL = ("ets", "theta", "croston")


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


def statistical_forecast(name: str, y: np.ndarray, h: int, m: int = 52,
                         window: int = 8) -> tuple[np.ndarray, bool]:
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
