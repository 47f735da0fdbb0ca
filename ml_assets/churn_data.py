"""Churn's data: the label, the cutoffs, the features per customer and cutoff, the minimum it needs."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml_assets.common import DataCheck, ModelRun, Requirement, min_data
from ml_assets.features import (
    DAY,
    before_cutoff,
    customer_features,
    label_population,
)

SCORE_COLUMNS = [
    "customer_id",
    "as_of_date",
    "churn_probability",
    "risk_band",
    "top_drivers",
    "recency_days",
    "frequency",
    "monetary",
]


IMPORTANCE_COLUMNS = ["feature", "rank", "importance_gain", "importance_split", "mean_abs_contribution"]


LOG_FEATURES = (
    "recency_days",
    "frequency",
    "monetary",
    "avg_order_value",
    "tenure_days",
    "ipi_mean",
    "ipi_std",
    "ipi_last",
    "recency_over_ipi",
    "orders_30d",
    "orders_90d",
    "orders_180d",
    "orders_365d",
    "orders_per_30d",
    "spend_per_30d",
    "orders_next90d_last_year",
    "spend_90d",
    "spend_prev_90d",
    "n_products",
    "avg_lines_per_order",
    "avg_units_per_order",
    "avg_unit_price",
    "income",
    "ev_events_30d",
    "ev_events_90d",
    "ev_views_30d",
    "ev_days_since_last",
    "days_since_signup",
    "purchase_days",
    "purchase_days_30d",
    "purchase_days_60d",
    "purchase_days_90d",
    "purchase_days_180d",
    "purchase_days_per_30d",
    "recency_over_median_gap",
    "recency_over_max_gap",
    "purchase_rate",
    "expected_purchases_horizon",
    "last_order_rel",
    "median_line_quantity",
)


# churn-only features added to ml_assets.features.customer_features (see churn_features)
CHURN_FEATURES = [
    "purchase_days",
    "purchase_days_30d",
    "purchase_days_60d",
    "purchase_days_90d",
    "purchase_days_180d",
    "purchase_days_per_30d",
    "active_period_share",
    "recency_over_median_gap",
    "recency_over_max_gap",
    "recency_gap_z",
    "purchase_rate",
    "p_silent_since_last",
    "expected_purchases_horizon",
    "last_order_rel",
    "return_value_share",
    "product_repeat_share",
    "median_line_quantity",
]


# the columns of ``lines`` the churn features (with customer_features) and labels read
_FEATURE_LINE_COLUMNS = [
    "customer_id",
    "invoice",
    "invoice_date",
    "stock_code",
    "quantity",
    "net_amount",
    "is_cancellation",
    "is_merchandise",
    "category",
    "country",
]


# what churn_features keeps of the purchases before a cutoff
_BUY_COLUMNS = ["customer_id", "invoice", "invoice_date", "net_amount", "is_merchandise", "stock_code", "quantity"]


@dataclass
class ChurnConfig:
    horizon_days: int = 90
    active_window_days: int | None = 365
    n_train_cutoffs: int = 3
    cutoff_step_days: int = 30
    min_feature_history_days: int = 60  # a training cutoff needs this much data before it
    as_of: object | None = None  # default: the day after the last invoice
    # minimum data (Klaviyo-style): customers with >= 2 orders and days of history
    min_repeat_customers: int = 500
    min_history_days: int = 180
    # LightGBM: (num_leaves, rounds) picked among ``model_candidates`` on the inner
    # time-based validation (see choose_model); () or too little data: the fixed
    # ``num_leaves`` / ``n_estimators``. Small real data (UCI Online Retail, ~4k
    # customers) validates best with 3 leaves, richer data with 7.
    model_candidates: tuple[tuple[int, int], ...] = ((3, 150), (7, 250))
    n_estimators: int = 250
    learning_rate: float = 0.03
    num_leaves: int = 7
    min_child_samples: int = 100
    reg_lambda: float = 5.0
    num_threads: int = 2
    random_state: int = 42
    # output
    risk_thresholds: tuple[float, float] = (1 / 3, 2 / 3)
    n_drivers: int = 3


@dataclass
class ChurnResult:
    """``scores`` -> ml.churn_scores; ``importance`` -> global feature importance;
    ``calibration`` and ``evaluation`` -> diagnostics; ``run`` -> ml.model_metrics."""

    scores: pd.DataFrame
    importance: pd.DataFrame
    calibration: pd.DataFrame
    evaluation: pd.DataFrame
    run: ModelRun
    check: DataCheck
    timings: dict[str, float] = field(default_factory=dict)


def check_churn_data(
    lines: pd.DataFrame, config: ChurnConfig | None = None, span: tuple[pd.Timestamp, pd.Timestamp] | None = None
) -> DataCheck:
    """>= ``min_repeat_customers`` customers with >= 2 orders and enough days of history.

    The history needed is ``max(min_history_days, 2 * horizon + 30)``: the time-based
    evaluation needs two label windows after some feature history. ``span``: the first and
    last invoice date of all the data when ``lines`` are a sample of it.
    """
    cfg = config or ChurnConfig()
    buy = lines.loc[~lines["is_cancellation"] & lines["customer_id"].notna(), ["customer_id", "invoice"]]
    n_orders = buy.groupby("customer_id")["invoice"].nunique()
    repeat = int((n_orders >= 2).sum())
    if span is not None:
        hist = float((pd.Timestamp(span[1]) - pd.Timestamp(span[0])) / pd.Timedelta(days=1))
    elif len(lines):
        hist = float((lines["invoice_date"].max() - lines["invoice_date"].min()) / pd.Timedelta(days=1))
    else:
        hist = 0.0
    need_days = max(cfg.min_history_days, 2 * cfg.horizon_days + 30)
    return min_data(
        "churn prediction",
        [
            Requirement("repeat_customers", "customers with >= 2 orders", cfg.min_repeat_customers, repeat),
            Requirement("history_days", "days of order history", need_days, round(hist, 1)),
        ],
    )


def churn_cutoffs(
    lines: pd.DataFrame, config: ChurnConfig | None = None, span: tuple[pd.Timestamp, pd.Timestamp] | None = None
) -> dict[str, object]:
    """The dates of the time split: as_of, eval cutoff, training and refit cutoffs; from
    ``span`` (first and last invoice date of all the data) when given, else from ``lines``."""
    cfg = config or ChurnConfig()
    if span is not None:
        start, end = pd.Timestamp(span[0]), pd.Timestamp(span[1])
    else:
        start = lines["invoice_date"].min()
        end = lines["invoice_date"].max()
    as_of = pd.Timestamp(cfg.as_of) if cfg.as_of is not None else end.normalize() + pd.Timedelta(days=1)
    h = pd.Timedelta(days=cfg.horizon_days)
    step = pd.Timedelta(days=cfg.cutoff_step_days)
    t_eval = as_of - h
    min_start = start + pd.Timedelta(days=cfg.min_feature_history_days)

    def series(last):
        out = [last - i * step for i in range(cfg.n_train_cutoffs)]
        return [c for c in out if c >= min_start]

    train = series(t_eval - h)
    return {
        "data_start": start,
        "data_end": end,
        "as_of": as_of,
        "eval_cutoff": t_eval,
        "train_cutoffs": train,
        "refit_cutoffs": series(t_eval),
        # inner validation (choose the LightGBM capacity): validate at the latest
        # training cutoff, train on cutoffs whose labels end by then
        "validation_cutoff": train[0] if train else None,
        "validation_train_cutoffs": series(train[0] - h) if train else [],
    }


def churn_features(
    lines: pd.DataFrame,
    cutoff,
    customers: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    active_window_days: int | None = None,
    horizon_days: int = 90,
) -> pd.DataFrame:
    """:func:`~ml_assets.features.customer_features` plus :data:`CHURN_FEATURES`.

    The extra columns read only lines strictly before ``cutoff`` (the same leakage
    guard). Over distinct purchase days (days with a non-cancelled order):

    - ``purchase_days`` and ``purchase_days_{30,60,90,180}d`` (age <= w days);
      ``purchase_days_per_30d`` = days / max(30, days since the first purchase) * 30;
    - ``active_period_share``: share of the 30-day periods counted back from the cutoff,
      since the first purchase, that contain a purchase;
    - "overdue" ratios: ``recency_over_median_gap``, ``recency_over_max_gap`` (recency
      over the median / longest gap between purchase days) and ``recency_gap_z`` =
      (recency - mean gap) / (gap std + 7 days);
    - ``purchase_rate`` = (days - 1) / days from the first to the last purchase day,
      ``p_silent_since_last`` = exp(-rate * recency) (chance of the silence so far if
      the customer still bought at that rate), ``expected_purchases_horizon`` = rate *
      horizon;
    - ``last_order_rel`` = last order's amount / mean order amount;
      ``return_value_share`` = cancelled value / purchased value;
      ``product_repeat_share`` = 1 - distinct products / merchandise lines;
      ``median_line_quantity``.
    """
    T = pd.Timestamp(cutoff)
    f = customer_features(lines, T, customers, events, active_window_days)
    idx = f.index
    x = pd.DataFrame(index=idx, columns=CHURN_FEATURES, dtype=float)
    ln = before_cutoff(lines, "invoice_date", T)  # leakage guard
    keep = ln["customer_id"].notna() & ln["customer_id"].isin(idx)
    # only the columns used below are copied (10M lines at scale 10, once per cutoff)
    buy = ln.loc[keep & ~ln["is_cancellation"], _BUY_COLUMNS]
    returns = ln.loc[keep & ln["is_cancellation"], ["customer_id", "net_amount"]]
    del ln, keep
    if len(f) == 0 or len(buy) == 0:
        return f.join(x)

    d = pd.DataFrame(
        {"customer_id": buy["customer_id"].to_numpy(), "day": buy["invoice_date"].dt.normalize().to_numpy()}
    ).drop_duplicates()
    d = d.sort_values(["customer_id", "day"])
    d["age"] = (T - d["day"]) / DAY
    g = d.groupby("customer_id")
    n_days = g.size().reindex(idx).astype(float)
    x["purchase_days"] = n_days
    for w in (30, 60, 90, 180):
        x[f"purchase_days_{w}d"] = d.loc[d["age"] <= w].groupby("customer_id").size().reindex(idx).fillna(0.0)
    first_age = g["age"].max().reindex(idx)
    last_age = g["age"].min().reindex(idx)
    x["purchase_days_per_30d"] = n_days / first_age.clip(lower=30.0) * 30.0
    period = np.floor(d["age"].clip(lower=0) / 30.0)
    n_periods = period.groupby(d["customer_id"]).nunique().reindex(idx).astype(float)
    x["active_period_share"] = n_periods / (np.floor(first_age.clip(lower=0) / 30.0) + 1.0)

    d["gap"] = g["day"].diff() / DAY
    gg = d.dropna(subset=["gap"]).groupby("customer_id")["gap"]
    recency = f["recency_days"]
    med, mx = gg.median().reindex(idx), gg.max().reindex(idx)
    x["recency_over_median_gap"] = recency / med.where(med > 0)
    x["recency_over_max_gap"] = recency / mx.where(mx > 0)
    x["recency_gap_z"] = (recency - gg.mean().reindex(idx)) / (gg.std(ddof=0).reindex(idx) + 7.0)
    span = first_age - last_age
    rate = (n_days - 1.0) / span.where(span > 0)
    x["purchase_rate"] = rate
    x["p_silent_since_last"] = np.exp(-rate * recency)
    x["expected_purchases_horizon"] = rate * float(horizon_days)

    o = (
        buy.groupby(["customer_id", "invoice"], sort=False, observed=True)
        .agg(when=("invoice_date", "min"), amount=("net_amount", "sum"))
        .reset_index()
    )
    o = o.sort_values(["customer_id", "when", "invoice"])
    og = o.groupby("customer_id")["amount"]
    mean_amount = og.mean().reindex(idx)
    x["last_order_rel"] = og.last().reindex(idx) / mean_amount.where(mean_amount > 0)
    bought = buy.groupby("customer_id")["net_amount"].sum().reindex(idx)
    returned = returns.groupby("customer_id")["net_amount"].sum().abs()
    x["return_value_share"] = returned.reindex(idx).fillna(0.0) / bought.where(bought > 0)
    merch = buy.loc[buy["is_merchandise"], ["customer_id", "stock_code", "quantity"]]
    mg = merch.groupby("customer_id")
    n_lines = mg.size().reindex(idx)
    x["product_repeat_share"] = 1.0 - mg["stock_code"].nunique().reindex(idx) / n_lines
    x["median_line_quantity"] = mg["quantity"].median().reindex(idx).astype(float)
    return f.join(x.astype(float))


def _labelled(lines, c, customers, events, cfg, cache) -> tuple[pd.DataFrame, pd.Series]:
    """Features before ``c`` and labels in ``[c, c + horizon)``, cached per cutoff."""
    if cache is None or c not in cache:
        f = churn_features(lines, c, customers, events, cfg.active_window_days, cfg.horizon_days)
        y = label_population(f, lines, c, cfg.horizon_days)
        if cache is None:
            return f, y
        cache[c] = (f, y)
    return cache[c]


def _stack(lines, cutoffs, customers, events, cfg, cache=None) -> tuple[pd.DataFrame, pd.Series]:
    Xs, ys = [], []
    for c in cutoffs:
        f, y = _labelled(lines, c, customers, events, cfg, cache)
        if len(f) == 0:
            continue
        Xs.append(f)
        ys.append(y)
    if not Xs:
        return pd.DataFrame(), pd.Series(dtype=float)
    return pd.concat(Xs), pd.concat(ys)
