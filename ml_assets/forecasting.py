"""Weekly demand forecasting with a rolling-origin backtest.

Series (:func:`weekly_series`): weekly units of the top-N products by volume
(``product:<stock_code>``), the other products summed per category
(``category:<name>``, ``category:uncategorized`` when there is none), and total weekly
revenue (``total:revenue``). Demand = non-cancelled merchandise lines with quantity > 0;
weeks start on Monday and only complete weeks are kept (a partial first/last week
would look like a collapse in demand).

Candidates, each forecasting ``horizon`` weeks from an origin with history ``y[:origin]``:
``moving_average`` (mean of the last ``ma_window`` weeks), ``croston`` (Croston SBA, for
intermittent demand), ``ets`` (AutoETS) and ``theta`` (Theta), the statistical models
from statsforecast (:mod:`ml_assets.forecast_models`), and ``lightgbm``: one global model
over all series (L1 objective), direct multi-horizon (the horizon is a feature); every
row is divided by the series' mean over the 13 weeks up to the origin, so growth carries
over (trees cannot extrapolate levels): lags, rolling means/std, same-weeks-last-year
values and a trend-adjusted seasonal naive, calendar of the target week (week of year,
month, weeks to Christmas), level. Naive baselines: ``naive`` (the last value) and
``seasonal_naive`` (the value 52 weeks earlier, naive when the history is shorter).

Backtest: ``n_origins`` origins ``origin_step`` weeks apart, the last ending at the last
complete week; MASE (scaled by the in-sample mean absolute one-step difference, as in
M5; comparable when seasonal naive has to fall back), WAPE and relative bias.

Champion: per level (total, category, product), the candidate with the lowest MASE on
selection origins that never overlap the evaluated weeks: the same weeks a season
earlier when the history reaches back that far, else the older half of the origins
(:func:`split_origins`, :func:`choose_champions` in :mod:`ml_assets.forecast_models`).
The published figures (``ml.forecast_backtest``, ``ml.model_metrics``) are those of the
newer half, for the champion (model ``champion``: each series forecast by its level's
champion) and every candidate, overall and per level (``mase_<level>``, ``wape_<level>``).
It is published when its MASE over all series beats ``seasonal_naive``'s; the other
candidates are recorded beside it, not required to be beaten; a level whose champion
does not beat seasonal naive at that level is named in the notes.
The final forecast refits each level's champion on all weeks; the 80% interval comes from
the quantiles of the champion's backtest errors (per series, in units of the series
level, stretched by the pooled horizon profile; see :func:`interval_quantiles`).
:func:`reorder_points` turns forecast and backtest errors into safety stock and
reorder points for a lead time and service level.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from statistics import NormalDist

import lightgbm as lgb
import numpy as np
import pandas as pd

from ml_assets.common import DataCheck, ModelRun, Requirement, artifact_hash, better, min_data
from ml_assets.data import prepare_lines
from ml_assets.evaluation import mase_scale
from ml_assets.features import text_as_categories
from ml_assets.forecast_models import (  # noqa: F401 - re-exported
    CANDIDATES,
    LEVELS,
    NAIVE,
    NAIVE_BASELINE,
    STATISTICAL,
    choose_champions,
    level_figures,
    moving_average_forecast,
    naive_forecast,
    seasonal_naive_forecast,
    series_origin_mase,
    split_origins,
    statistical_forecast,
)

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


# --------------------------------------------------------------------------- backtest


def _single_series_forecasts(y: np.ndarray, cfg: ForecastConfig, models) -> tuple[dict[str, np.ndarray], bool, int]:
    """The naive baselines and the single-series candidates in ``models`` on history ``y``:
    (forecasts, seasonal naive fell back, statistical fits that fell back)."""
    H = cfg.horizon
    sn, fell = seasonal_naive_forecast(y, H, cfg.season_length)
    out = {"naive": naive_forecast(y, H), "seasonal_naive": sn}
    n_fb = 0
    for name in models:
        if name == "moving_average":
            out[name] = moving_average_forecast(y, H, cfg.ma_window)
        elif name in STATISTICAL:
            out[name], fb = statistical_forecast(name, y, H, cfg.season_length, cfg.ma_window)
            n_fb += fb
    return out, fell, n_fb


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


def run_forecasting(lines: pd.DataFrame | WeeklyDemand, config: ForecastConfig | None = None) -> ForecastResult:
    """Build series, backtest all models, forecast the next ``horizon`` weeks. ``lines``:
    order lines, or their :class:`WeeklyDemand` (the same result, from a frame that does
    not grow with the lines)."""
    cfg = config or ForecastConfig()
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    if not isinstance(lines, WeeklyDemand):
        lines = weekly_demand(prepare_lines(lines))
    series = weekly_series(lines, cfg.top_n_products)
    del lines
    n_weeks = series["week_start"].nunique() if len(series) else 0
    n_series = series["series_id"].nunique() if len(series) else 0
    check = check_forecast_data(n_weeks, n_series, cfg)
    run = ModelRun(
        model="forecast",
        task="forecasting",
        params=asdict(cfg),
        primary_metric="mase",
        required_baselines=[NAIVE_BASELINE],
        data_check=check,
    )
    run.params.update(candidates=list(CANDIDATES), naive_baseline=NAIVE_BASELINE)
    if len(series):
        run.data_start, run.data_end = series["week_start"].min(), series["week_start"].max() + pd.Timedelta(days=6)
    timings["series"] = time.perf_counter() - t0
    origins = backtest_origins(n_weeks, cfg)
    sel_origins, eval_origins, chosen_on = split_origins(origins, cfg.season_length, cfg.min_train_weeks)
    if not origins:
        run.notes.append(
            f"no backtest origin with >= {cfg.min_train_weeks} weeks of history "
            f"and {cfg.horizon} weeks to test (have {n_weeks} weeks)"
        )
        run.decide()
        run.reason += "; " + run.notes[-1]
        empty = pd.DataFrame(columns=FORECAST_COLUMNS)
        return ForecastResult(
            empty, pd.DataFrame(columns=BACKTEST_COLUMNS), pd.DataFrame(), pd.DataFrame(), series, run, check, timings
        )

    panel = _Panel.from_long(series)
    meta = series.drop_duplicates("series_id").set_index("series_id")
    series_type = meta["series_type"].astype(str)
    all_idx = np.arange(len(panel.ids))
    H = cfg.horizon
    single = [c for c in CANDIDATES if c != "lightgbm"]
    detail = []
    n_fallback = n_pairs = n_stat_fallback = 0
    t1 = time.perf_counter()
    t_lgb = 0.0
    for o in sorted(set(sel_origins) | set(eval_origins)):
        tl = time.perf_counter()
        booster, scale = _train_lgb(panel, o, cfg)
        active = np.array([i for i in all_idx if o - panel.start[i] >= 4])
        lgb_pred = _predict_lgb(booster, panel, o, scale, cfg, active)
        t_lgb += time.perf_counter() - tl
        for row, i in enumerate(active):
            y_hist = panel.Y[i, panel.start[i] : o]
            actual = panel.Y[i, o : o + H]
            fc, fell, n_fb = _single_series_forecasts(y_hist, cfg, single)
            if o in eval_origins:  # what the notes say is about the figures reported
                n_fallback += fell
                n_stat_fallback += n_fb
                n_pairs += 1
            fc["lightgbm"] = lgb_pred[row]
            msc = mase_scale(y_hist, 1)
            for model, f in fc.items():
                detail.append((model, i, o, actual, f, msc, scale[i], fell))
    timings["backtest"] = time.perf_counter() - t1
    timings["backtest_lightgbm"] = t_lgb
    detail_df = _detail_frame(detail, panel, H)
    detail_df["measure"] = detail_df["series_id"].map(meta["measure"]).astype("string")

    # ---------------------------------------------------------------- champion per level
    sel_weeks, eval_weeks = panel.weeks[sel_origins], panel.weeks[eval_origins]
    champions = choose_champions(detail_df.loc[detail_df["origin"].isin(sel_weeks)], series_type)
    level_of = detail_df["series_id"].astype(str).map(series_type)
    is_champ = detail_df["model"].astype(str).to_numpy() == level_of.map(champions).to_numpy()
    champ_rows = detail_df.loc[is_champ].copy()
    champ_rows["model"] = pd.array(["champion"] * len(champ_rows), dtype="string")
    detail_df = pd.concat([detail_df, champ_rows], ignore_index=True)
    # the figures reported (ml.forecast_backtest, ml.model_metrics) are the evaluation origins'
    backtest = summarize_backtest(detail_df.loc[detail_df["origin"].isin(eval_weeks)])

    by_level = level_figures(detail_df.loc[detail_df["origin"].isin(eval_weeks)], series_type)

    def overall(model: str) -> dict[str, float]:
        b = backtest.loc[(backtest["model"] == model) & (backtest["level"] == "overall")].set_index("measure")
        out = {"mase": float(b.loc["all", "mase"])}
        for meas in ("units", "revenue"):
            if meas in b.index:
                out[f"mase_{meas}"] = float(b.loc[meas, "mase"])
                out[f"wape_{meas}"] = float(b.loc[meas, "wape"])
                out[f"bias_{meas}"] = float(b.loc[meas, "bias"])
        for lv in LEVELS:  # per level, where each level's champion is published
            if (lv, model) in by_level.index:
                out.update({f"{k}_{lv}": float(by_level.loc[(lv, model), k]) for k in ("mase", "wape")})
        return out

    names = sorted(set(champions.values()))
    run.model = f"forecast_{names[0]}" if len(names) == 1 else "forecast_per_level"
    run.params.update(champion={lv: champions[lv] for lv in LEVELS if lv in champions}, champion_chosen_on=chosen_on)
    run.metrics = overall("champion")
    run.baselines = {
        NAIVE_BASELINE: overall(NAIVE_BASELINE),
        "naive": overall("naive"),
        **{c: overall(c) for c in CANDIDATES},
    }
    run.n_eval = int((detail_df["model"].isin(["champion"]) & detail_df["origin"].isin(eval_weeks)).sum())
    run.notes.append(
        f"{len(eval_origins)} evaluation origins ({', '.join(str(panel.weeks[o].date()) for o in eval_origins)}), "
        f"horizon {H} weeks, {len(panel.ids)} series over {n_weeks} weeks"
    )
    chosen = ", ".join(f"{lv}: {champions[lv]}" for lv in LEVELS if lv in champions)
    if eval_origins != sel_origins:
        run.notes.append(
            f"champion per level chosen on {chosen_on}, origins {', '.join(str(w.date()) for w in sel_weeks)} "
            f"({chosen}); its figures and every candidate's are those of the later origins "
            f"{', '.join(str(w.date()) for w in eval_weeks)}; it must beat {NAIVE_BASELINE}, not the other candidates"
        )
    else:
        run.notes.append(
            f"one backtest origin: the champion ({chosen}) is chosen and measured on it, so its figures are optimistic"
        )
    if n_fallback:
        run.notes.append(
            f"seasonal naive fell back to naive for {n_fallback / max(1, n_pairs):.0%} of series x "
            f"origins (less than {cfg.season_length} weeks of history)"
        )
    if n_stat_fallback:
        run.notes.append(
            f"{n_stat_fallback} statistical fits (of {n_pairs * len(STATISTICAL)}) could not fit a "
            "too short or constant history and used the moving average"
        )
    sn_fig = run.baselines[NAIVE_BASELINE]
    behind = [
        f"{lv} ({champions[lv]} {run.metrics[f'mase_{lv}']:.4f} against {sn_fig[f'mase_{lv}']:.4f})"
        for lv in LEVELS
        if np.isfinite(run.metrics.get(f"mase_{lv}", np.nan))
        and np.isfinite(sn_fig.get(f"mase_{lv}", np.nan))
        and not better("mase", run.metrics[f"mase_{lv}"], sn_fig[f"mase_{lv}"])
    ]
    if behind:
        run.notes.append(
            f"on the evaluation origins a level's champion does not beat {NAIVE_BASELINE} at "
            f"that level (MASE): {', '.join(behind)}; the verdict is on all series together"
        )
    sn = run.baselines[NAIVE_BASELINE]["mase"]
    if np.isfinite(sn) and sn > 0:
        run.metrics["mase_vs_seasonal_naive"] = run.metrics["mase"] / sn - 1.0

    # ---------------------------------------------------------------- final forecast
    t2 = time.perf_counter()
    n_w = len(panel.weeks)
    booster = None
    if "lightgbm" in champions.values():
        booster, scale = _train_lgb(panel, n_w, cfg)
        lgb_final = _predict_lgb(booster, panel, n_w, scale, cfg, all_idx)
    else:
        scale = _scales(panel, n_w)
    champd = detail_df.loc[detail_df["model"] == "champion"]
    q_lo_s, q_hi_s = interval_quantiles(champd, H, cfg.interval)
    fweeks = pd.date_range(panel.weeks[-1] + WEEK, periods=H, freq="7D")
    rows, finals = [], []
    for i, sid in enumerate(panel.ids):
        y_hist = panel.Y[i, panel.start[i] :]
        model = champions.get(str(series_type[sid]), "moving_average")
        if model == "lightgbm":
            pred = lgb_final[i]
        else:
            pred = _single_series_forecasts(y_hist, cfg, [model])[0][model]
        finals.append(pred)
        sn_f, _ = seasonal_naive_forecast(y_hist, H, cfg.season_length)
        q_lo, q_hi = q_lo_s.get(sid, q_lo_s["__pooled__"]), q_hi_s.get(sid, q_hi_s["__pooled__"])
        rows.append(
            pd.DataFrame(
                {
                    "series_id": sid,
                    "series_type": meta.loc[sid, "series_type"],
                    "stock_code": meta.loc[sid, "stock_code"],
                    "category": meta.loc[sid, "category"],
                    "measure": meta.loc[sid, "measure"],
                    "week_start": fweeks,
                    "horizon": np.arange(1, H + 1),
                    "forecast": pred,
                    "lower_80": np.clip(pred + q_lo * scale[i], 0, None),
                    "upper_80": np.clip(pred + q_hi * scale[i], 0, None),
                    "seasonal_naive": sn_f,
                    "model": model,
                }
            )
        )
    forecast = pd.concat(rows, ignore_index=True)
    forecast["upper_80"] = np.maximum(forecast["upper_80"], forecast["forecast"])
    forecast["lower_80"] = np.minimum(forecast["lower_80"], forecast["forecast"])
    for c in ("series_id", "series_type", "stock_code", "category", "measure", "model"):
        forecast[c] = forecast[c].astype("string")
    forecast["horizon"] = forecast["horizon"].astype("int64")
    timings["final"] = time.perf_counter() - t2

    reorder = reorder_points(forecast, detail_df, cfg.lead_time_weeks, cfg.service_level, model="champion")
    run.artifact_hash = artifact_hash(
        {"champion": run.params["champion"], "booster": booster, "forecast": np.concatenate(finals)}
    )
    run.n_train = int(n_w * len(panel.ids))
    run.decide()
    timings["total"] = time.perf_counter() - t0
    return ForecastResult(forecast[FORECAST_COLUMNS], backtest, detail_df, reorder, series, run, check, timings)


def interval_quantiles(detail: pd.DataFrame, H: int, interval: float = 0.8, min_points: int = 12) -> tuple[dict, dict]:
    """Lower/upper error quantiles per series and horizon, in units of the series level.

    Errors ``(actual - forecast) / level`` from the backtest. A series with at least
    ``min_points`` errors gets its own quantiles (over all horizons) stretched by the
    pooled horizon profile (width at h / mean width); other series use the pooled
    quantiles per horizon (key ``"__pooled__"``).
    """
    alpha = (1 - interval) / 2
    r = (detail["actual"] - detail["forecast"]) / detail["level_scale"]
    hz = detail["horizon"].to_numpy()
    pooled = (
        pd.DataFrame({"r": r.to_numpy(), "h": hz})
        .groupby("h")["r"]
        .quantile([alpha, 1 - alpha])
        .unstack()
        .reindex(range(1, H + 1))
        .ffill()
        .fillna(0.0)
    )
    p_lo, p_hi = pooled.iloc[:, 0].to_numpy(), pooled.iloc[:, 1].to_numpy()
    width = p_hi - p_lo
    stretch = width / width.mean() if width.mean() > 0 else np.ones(H)
    lo: dict = {"__pooled__": p_lo}
    hi: dict = {"__pooled__": p_hi}
    frame = pd.DataFrame({"sid": detail["series_id"].astype(str).to_numpy(), "r": r.to_numpy()})
    for sid, g in frame.groupby("sid"):
        if len(g) < min_points:
            continue
        ql, qh = np.quantile(g["r"], [alpha, 1 - alpha])
        lo[sid] = min(ql, 0.0) * stretch
        hi[sid] = max(qh, 0.0) * stretch
    return lo, hi


def _detail_frame(detail: list, panel: _Panel, H: int) -> pd.DataFrame:
    n = len(detail)
    hz = np.tile(np.arange(1, H + 1), n)
    origin_idx = np.repeat([d[2] for d in detail], H)
    return pd.DataFrame(
        {
            "model": pd.array(np.repeat([d[0] for d in detail], H), dtype="string"),
            "series_id": pd.array(np.repeat([panel.ids[d[1]] for d in detail], H), dtype="string"),
            "origin": panel.weeks[origin_idx],
            "week_start": panel.weeks[origin_idx + hz - 1],
            "horizon": hz,
            "actual": np.concatenate([d[3] for d in detail]),
            "forecast": np.concatenate([d[4] for d in detail]),
            "mase_scale": np.repeat([d[5] for d in detail], H),
            "level_scale": np.repeat([d[6] for d in detail], H),
            "seasonal_fallback": np.repeat([d[7] for d in detail], H),
        }
    )


def summarize_backtest(detail: pd.DataFrame) -> pd.DataFrame:
    """Per model: one row per series and overall rows per measure (units, revenue, all).

    Series MASE = mean over its origins of MAE / in-sample scale; overall MASE = mean of
    the series-origin MASEs; WAPE and bias are pooled sums (per measure; ``all`` mixes
    units and revenue so only its MASE is meaningful).
    """
    d = pd.DataFrame(
        {
            "model": detail["model"].astype(str).to_numpy(),
            "series_id": detail["series_id"].astype(str).to_numpy(),
            "measure": detail["measure"].astype(str).to_numpy(),
            "origin": detail["origin"].to_numpy(),
            "actual": detail["actual"].to_numpy(dtype=float),
            "forecast": detail["forecast"].to_numpy(dtype=float),
            "mase_scale": detail["mase_scale"].to_numpy(dtype=float),
        }
    )
    d["abs_err"] = (d["actual"] - d["forecast"]).abs()
    d["err"] = d["forecast"] - d["actual"]
    d["abs_act"] = d["actual"].abs()
    so = series_origin_mase(d, ["model", "measure"]).reset_index()

    def pooled(keys: list[str]) -> pd.DataFrame:
        g = d.groupby(keys, sort=True).agg(
            sum_abs=("abs_err", "sum"), sum_err=("err", "sum"), sum_act=("abs_act", "sum"), n_points=("err", "size")
        )
        den = g["sum_act"].where(g["sum_act"] > 0)
        g["wape"] = g["sum_abs"] / den
        g["bias"] = g["sum_err"] / den
        return g

    ps = pooled(["model", "measure", "series_id"])
    ms = so.groupby(["model", "measure", "series_id"], sort=True).agg(
        mase=("mase", "mean"), n_origins=("origin", "nunique")
    )
    per_series = ms.join(ps[["n_points", "wape", "bias"]]).reset_index()
    per_series["level"] = "series"

    pm = pooled(["model", "measure"])
    mm = so.groupby(["model", "measure"], sort=True).agg(mase=("mase", "mean"), n_origins=("origin", "nunique"))
    over = mm.join(pm[["n_points", "wape", "bias"]]).reset_index()
    alls = so.groupby("model", sort=True).agg(mase=("mase", "mean"), n_origins=("origin", "nunique"))
    alls["n_points"] = d.groupby("model").size()
    alls = alls.reset_index()
    alls["measure"] = "all"
    alls["wape"] = np.nan
    alls["bias"] = np.nan
    over = pd.concat([over, alls], ignore_index=True)
    over["level"] = "overall"
    over["series_id"] = None
    order = {"units": 0, "revenue": 1, "all": 2}
    over = over.sort_values(["model", "measure"], key=lambda s: s.map(order) if s.name == "measure" else s)
    out = pd.concat([over, per_series], ignore_index=True)
    for c in ("model", "level", "series_id", "measure"):
        out[c] = out[c].astype("string")
    out["n_origins"] = out["n_origins"].astype("int64")
    out["n_points"] = out["n_points"].astype("int64")
    return out[BACKTEST_COLUMNS]


def reorder_points(
    forecast: pd.DataFrame,
    backtest_detail: pd.DataFrame,
    lead_time_weeks: int = 2,
    service_level: float = 0.95,
    model: str = "champion",
) -> pd.DataFrame:
    """Safety stock and reorder point per product series.

    lead-time demand = sum of the first ``lead_time_weeks`` weekly forecasts;
    sigma = RMSE of the model's backtest errors for that series at horizons <= lead
    time (weekly); safety stock = z(service level) * sigma * sqrt(lead time);
    reorder point = lead-time demand + safety stock. Series with no backtest errors
    fall back to the pooled RMSE relative to their level.
    """
    L = int(lead_time_weeks)
    if L < 1:
        raise ValueError("lead_time_weeks must be >= 1")
    if not 0.5 <= service_level < 1:
        raise ValueError("service_level must be in [0.5, 1)")
    z = NormalDist().inv_cdf(service_level)
    f = forecast.loc[(forecast["series_type"] == "product") & (forecast["horizon"] <= L)]
    demand = f.groupby("series_id")["forecast"].sum()
    bt = backtest_detail.loc[(backtest_detail["model"] == model) & (backtest_detail["horizon"] <= L)]
    err = bt["forecast"] - bt["actual"]
    rmse = (err**2).groupby(bt["series_id"]).mean().pow(0.5)
    rel = ((err / bt["level_scale"]) ** 2).mean() ** 0.5 if len(bt) else np.nan
    level = f.groupby("series_id")["forecast"].mean()
    sigma = rmse.reindex(demand.index)
    sigma = sigma.fillna(level.reindex(demand.index) * rel)
    out = pd.DataFrame({"series_id": demand.index.astype("string")})
    out["stock_code"] = out["series_id"].str.replace("product:", "", regex=False)
    out["lead_time_weeks"] = L
    out["service_level"] = service_level
    out["z"] = z
    out["lead_time_demand"] = demand.to_numpy()
    out["forecast_error_sd_weekly"] = sigma.to_numpy()
    out["safety_stock"] = z * out["forecast_error_sd_weekly"] * np.sqrt(L)
    out["reorder_point"] = out["lead_time_demand"] + out["safety_stock"]
    out["reorder_point_units"] = np.ceil(out["reorder_point"].fillna(0)).astype("int64")
    return out
