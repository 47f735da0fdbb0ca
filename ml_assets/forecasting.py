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
from dataclasses import asdict
from statistics import NormalDist

import numpy as np
import pandas as pd

from ml_assets.common import ModelRun, artifact_hash, better
from ml_assets.data import prepare_lines
from ml_assets.evaluation import mase_scale
from ml_assets.forecast_data import (
    BACKTEST_COLUMNS,
    FORECAST_COLUMNS,
    WEEK,
    ForecastConfig,
    ForecastResult,
    WeeklyDemand,
    backtest_origins,
    check_forecast_data,
    weekly_demand,
    weekly_series,
)
from ml_assets.forecast_lgb import _Panel, _predict_lgb, _scales, _train_lgb
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
