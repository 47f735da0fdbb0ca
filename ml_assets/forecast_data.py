"""The forecast's data: weekly demand per product, category and total, the series, the backtest origins, the minimum."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml_assets.common import DataCheck, ModelRun, Requirement, min_data
from ml_assets.features import text_as_categories

WEEK = pd.Timedelta(days=7)


FORECAST_COLUMNS = [
    "series_id",
    "series_type",
    "stock_code",
    "category",
    "measure",
    "week_start",
    "horizon",
    "forecast",
    "lower_80",
    "upper_80",
    "seasonal_naive",
    "model",
]


BACKTEST_COLUMNS = ["model", "level", "series_id", "measure", "n_origins", "n_points", "mase", "wape", "bias"]


@dataclass
class ForecastConfig:
    horizon: int = 8
    top_n_products: int = 100
    n_origins: int = 4
    origin_step: int = 8
    season_length: int = 52
    ma_window: int = 8
    interval: float = 0.8
    min_train_weeks: int = 26  # an origin needs this much history
    min_history_weeks: int = 52  # to be publishable (one yearly cycle)
    min_series: int = 1
    # LightGBM
    n_estimators: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_child_samples: int = 20
    objective: str = "l1"
    normalize: str = "recent"  # or "series": see _feature_rows
    num_threads: int = 2
    random_state: int = 42
    # reorder helper
    lead_time_weeks: int = 2
    service_level: float = 0.95


@dataclass
class ForecastResult:
    """``forecast`` -> ml.demand_forecast; ``backtest`` -> ml.forecast_backtest;
    ``reorder`` -> reorder points (product series); ``backtest_detail``: one row per
    model, series, origin and week; ``run`` -> ml.model_metrics."""

    forecast: pd.DataFrame
    backtest: pd.DataFrame
    backtest_detail: pd.DataFrame
    reorder: pd.DataFrame
    series: pd.DataFrame
    run: ModelRun
    check: DataCheck
    timings: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- series


def week_start(ts: pd.Series) -> pd.Series:
    d = ts.dt.normalize()
    return d - pd.to_timedelta(d.dt.day_of_week, unit="D")


@dataclass
class WeeklyDemand:
    """What :func:`weekly_series` needs of the order lines, whose size does not grow with
    them: demand (non-cancelled merchandise lines with quantity > 0) summed per product,
    category and week, the demand revenue per week, and the first and last day of all
    lines (not only demand: a partial week is judged against the data's edges).

    ``units``: stock_code, category, week_start (Monday), units (float), n (lines);
    ``revenue``: net_amount per week_start. Built from lines by :func:`weekly_demand`, or
    read already aggregated (ecom_platform.lib.ml_io.read_weekly_demand)."""

    units: pd.DataFrame
    revenue: pd.Series
    first_day: pd.Timestamp
    last_day: pd.Timestamp


def weekly_demand(lines: pd.DataFrame) -> WeeklyDemand:
    """:class:`WeeklyDemand` of a ``lines`` frame (prepared: see data.prepare_lines)."""
    demand = ~lines["is_cancellation"] & lines["is_merchandise"] & (lines["quantity"] > 0)
    # product and category as codes while the lines are filtered and grouped (at scale 10,
    # 9.6M lines): their text is restored on the per-week totals below
    text_dtypes = {c: lines[c].dtype for c in ("stock_code", "category")}
    ln = text_as_categories(
        lines[["stock_code", "category", "invoice_date", "quantity", "net_amount"]], ("stock_code", "category")
    )
    ln = ln.loc[demand]
    first_day = lines["invoice_date"].min().normalize() if len(lines) else pd.NaT
    last_day = lines["invoice_date"].max().normalize() if len(lines) else pd.NaT
    wk = week_start(ln["invoice_date"])
    keep = wk.notna()
    if not keep.all():
        ln, wk = ln.loc[keep], wk.loc[keep]
    revenue = ln["net_amount"].astype(float).groupby(wk.to_numpy()).sum()
    # Units per product, category and week (at scale 10, 9.6M lines become ~0.5M rows):
    # sums of whole units are exact in any order, so the series built on them are the same
    # as labelling every line. ``n`` = lines, for a product's category.
    d = pd.DataFrame(
        {
            "stock_code": ln["stock_code"],
            "category": ln["category"],
            "week_start": wk,
            "units": ln["quantity"].astype(float),
        }
    )
    del ln, wk
    d = (
        d.groupby(["stock_code", "category", "week_start"], dropna=False, sort=False, observed=True)
        .agg(units=("units", "sum"), n=("units", "size"))
        .reset_index()
    )
    d["stock_code"] = d["stock_code"].astype(text_dtypes["stock_code"])
    d["category"] = d["category"].astype(text_dtypes["category"])
    return WeeklyDemand(d, revenue, first_day, last_day)


def weekly_series(lines: pd.DataFrame | WeeklyDemand, top_n_products: int = 100) -> pd.DataFrame:
    """Long frame: series_id, series_type, stock_code, category, measure, week_start, y.

    Only complete weeks; every series runs from its first non-zero week to the last
    complete week, with zeros filled in. ``lines``: order lines or their
    :class:`WeeklyDemand`.
    """
    demand = lines if isinstance(lines, WeeklyDemand) else weekly_demand(lines)
    cols = ["series_id", "series_type", "stock_code", "category", "measure", "week_start", "y"]
    d = demand.units
    if len(d) == 0:
        return pd.DataFrame(columns=cols)
    first_day, last_day = demand.first_day, demand.last_day
    first_wk, last_wk = d["week_start"].min(), d["week_start"].max()
    first_week = first_wk if first_wk >= first_day else first_wk + WEEK
    last_week = last_wk if last_wk + pd.Timedelta(days=6) <= last_day else last_wk - WEEK
    weeks = pd.date_range(first_week, last_week, freq="7D")
    if len(weeks) == 0:
        return pd.DataFrame(columns=cols)
    revenue = demand.revenue
    revenue = revenue.loc[(revenue.index >= first_week) & (revenue.index <= last_week)]
    d = d.loc[(d["week_start"] >= first_week) & (d["week_start"] <= last_week)]
    d = d.assign(stock_code=d["stock_code"].astype("string").astype(str), category=d["category"].astype("string"))
    recent = d.loc[d["week_start"] > last_week - 52 * WEEK]
    vol = recent.groupby("stock_code")["units"].sum().reset_index()
    vol = vol.sort_values(["units", "stock_code"], ascending=[False, True])
    top = list(vol["stock_code"].head(top_n_products))
    is_top = d["stock_code"].isin(top)
    cat = d["category"].astype("string").fillna("uncategorized").astype(str)
    d["series_id"] = np.where(is_top, "product:" + d["stock_code"], "category:" + cat)
    # the category of a product: its most frequent one
    pc = d.loc[is_top].groupby(["stock_code", "category"], dropna=False)["n"].sum().reset_index(name="n")
    pc = pc.sort_values(["stock_code", "n"], ascending=[True, False]).drop_duplicates("stock_code")
    prod_cat = dict(zip(pc["stock_code"], pc["category"]))

    units = d.groupby(["series_id", "week_start"])["units"].sum()
    frames = []
    for sid, s in units.groupby(level=0):
        s = s.droplevel(0).reindex(weeks, fill_value=0.0)
        nz = np.flatnonzero(s.to_numpy() > 0)
        if len(nz) == 0:
            continue
        s = s.iloc[nz[0] :]
        is_prod = sid.startswith("product:")
        code = sid.split(":", 1)[1] if is_prod else None
        frames.append(
            pd.DataFrame(
                {
                    "series_id": sid,
                    "series_type": "product" if is_prod else "category",
                    "stock_code": code,
                    "category": prod_cat.get(code) if is_prod else sid.split(":", 1)[1],
                    "measure": "units",
                    "week_start": s.index,
                    "y": s.to_numpy(),
                }
            )
        )
    r = revenue.reindex(weeks, fill_value=0.0)
    frames.append(
        pd.DataFrame(
            {
                "series_id": "total:revenue",
                "series_type": "total",
                "stock_code": None,
                "category": None,
                "measure": "revenue",
                "week_start": r.index,
                "y": r.to_numpy(),
            }
        )
    )
    out = pd.concat(frames, ignore_index=True)
    for c in ("series_id", "series_type", "stock_code", "category", "measure"):
        out[c] = out[c].astype("string")
    return out[cols]


def backtest_origins(n_weeks: int, cfg: ForecastConfig) -> list[int]:
    """Origins (index of the first forecast week), oldest first."""
    last = n_weeks - cfg.horizon
    out = [last - k * cfg.origin_step for k in range(cfg.n_origins)]
    return sorted(o for o in out if o >= cfg.min_train_weeks)


def check_forecast_data(n_weeks: int, n_series: int, cfg: ForecastConfig) -> DataCheck:
    return min_data(
        "demand forecasting",
        [
            Requirement("weeks", "complete weeks of sales history", cfg.min_history_weeks, n_weeks),
            Requirement("series", "series with sales", cfg.min_series, n_series),
        ],
    )
