"""Churn prediction: will a customer buy again in the next ``horizon`` days?

Label at cutoff ``T``: a customer with a non-cancelled purchase before ``T`` (within
``active_window_days``) *churns* if they make no non-cancelled purchase in
``[T, T + horizon)``. Features use only rows strictly before ``T``
(:func:`churn_features` = :func:`ml_assets.features.customer_features` plus purchase-day
windows, "overdue" ratios, a Poisson silence probability, returns, basket repetition).

Time-based evaluation, with ``as_of`` = the day after the last invoice:

    T_eval  = as_of  - horizon      labels observed in [T_eval, as_of)
    T_train = T_eval - horizon      labels observed in [T_train, T_eval)  (before T_eval)
    (plus ``n_train_cutoffs - 1`` earlier cutoffs, ``cutoff_step_days`` apart, stacked)

Two candidates, LightGBM and logistic regression (standardized, on imputed and
log-transformed features), and the naive baseline "recency alone" (a logistic fit on log
recency) are trained on the training cutoffs and compared at ``T_eval``.

The champion is chosen before ``T_eval``'s labels are read, on an inner validation
(:func:`validate_candidates`): both candidates are trained on cutoffs whose labels end by
``T_train`` and scored at ``T_train``; that also picks LightGBM's capacity (leaves,
rounds). The candidate with the higher validation ROC-AUC is the champion (an exact tie
goes to logistic regression, the simpler one). Only when there is too little data for the
inner validation is the champion the better of the two at ``T_eval`` (said in the notes).

The run (:class:`~ml_assets.common.ModelRun`) is ``churn_<champion>``: its metrics are
the champion's at ``T_eval``; the other candidate and ``recency_only`` are its baselines
(every candidate gets rows in ``ml.model_metrics``), but it is publishable when it beats
the naive baseline ``recency_only`` (and there is enough data), not the other candidate.
The published model is the champion refitted with the cutoffs ending at ``T_eval``
(labels fully observed); it scores every active customer as of ``as_of``. Per-customer
drivers are log-odds contributions: LightGBM's ``pred_contrib=True`` (SHAP values), or,
for logistic regression, ``coef_j * x_j`` with ``x`` the standardized encoded features.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import lightgbm as lgb
import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from ml_assets.common import DataCheck, ModelRun, Requirement, artifact_hash, min_data
from ml_assets.data import prepare_customers, prepare_events, prepare_lines
from ml_assets.evaluation import calibration_table, classification_metrics, roc_auc
from ml_assets.features import (
    DAY,
    FeatureEncoder,
    before_cutoff,
    customer_features,
    label_population,
    take_rows,
    text_as_categories,
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


def _risk_band(p: np.ndarray, thresholds: tuple[float, float]) -> np.ndarray:
    lo, hi = thresholds
    return np.where(p >= hi, "high", np.where(p >= lo, "medium", "low"))


def _lgb_params(cfg: ChurnConfig, num_leaves: int | None = None) -> dict:
    return {
        "objective": "binary",
        "learning_rate": cfg.learning_rate,
        "num_leaves": num_leaves or cfg.num_leaves,
        "min_data_in_leaf": cfg.min_child_samples,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "lambda_l2": cfg.reg_lambda,
        "num_threads": cfg.num_threads,
        "seed": cfg.random_state,
        "deterministic": True,
        "force_row_wise": True,
        "verbose": -1,
    }


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


CANDIDATES = ("lightgbm", "logistic_regression")
NAIVE_BASELINE = "recency_only"


def _logreg_pipeline():
    return make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000))


def _lin_encoder(X: pd.DataFrame) -> FeatureEncoder:
    return FeatureEncoder(impute=True, log_features=LOG_FEATURES).fit(X)


def validate_candidates(lines, cut, customers, events, cfg, cache=None) -> dict:
    """The inner time-based validation: fit on ``validation_train_cutoffs``, score at
    ``validation_cutoff`` (the latest training cutoff, whose labels end at the eval
    cutoff). The eval cutoff's labels are never read.

    It picks LightGBM's ``(num_leaves, rounds)`` among ``model_candidates`` (ties within
    0.001 AUC go to the earlier, simpler candidate) and measures logistic regression on
    the same split, to choose the champion. Returns ``{"num_leaves", "n_rounds", "how",
    "auc"}``; ``auc`` = ``{candidate: validation ROC-AUC}`` (LightGBM at the chosen
    capacity), or None when there is too little data to validate (then LightGBM gets the
    fixed ``num_leaves`` / ``n_estimators``)."""
    out = {"num_leaves": cfg.num_leaves, "n_rounds": cfg.n_estimators, "how": "fixed", "auc": None}
    if not cut.get("validation_train_cutoffs"):
        return out
    X_in, y_in = _stack(lines, cut["validation_train_cutoffs"], customers, events, cfg, cache)
    X_va, y_va = _labelled(lines, cut["validation_cutoff"], customers, events, cfg, cache)
    if len(X_in) < 200 or y_in.nunique() < 2 or len(X_va) < 50 or y_va.nunique() < 2:
        if cfg.model_candidates:
            out["how"] = "fixed (too little data to validate)"
        return out
    enc = FeatureEncoder(impute=False).fit(X_in)
    ds = lgb.Dataset(
        enc.transform(X_in).to_numpy(),
        label=y_in.to_numpy(),
        feature_name=_safe_names(list(enc.columns_)),
        params={"verbose": -1},
        free_raw_data=False,
    )
    Xv = enc.transform(X_va).to_numpy()
    best, scores = None, []
    for leaves, rounds in cfg.model_candidates or ((cfg.num_leaves, cfg.n_estimators),):
        booster = lgb.train(_lgb_params(cfg, leaves), ds, num_boost_round=rounds)
        auc = roc_auc(y_va.to_numpy(), booster.predict(Xv))
        scores.append(f"{leaves}x{rounds} {auc:.3f}")
        if best is None or auc > best[0] + 1e-3:
            best = (auc, leaves, rounds)
    if cfg.model_candidates:
        out.update(
            num_leaves=best[1],
            n_rounds=best[2],
            how=f"validation AUC at {cut['validation_cutoff'].date()}: " + ", ".join(scores),
        )
    enc_lin = _lin_encoder(X_in)
    logreg = _logreg_pipeline()
    with threadpool_limits(limits=1, user_api="blas"):  # see _Models.fit
        logreg.fit(enc_lin.transform(X_in).to_numpy(), y_in.to_numpy())
        p_lr = logreg.predict_proba(enc_lin.transform(X_va).to_numpy())[:, 1]
    out["auc"] = {"lightgbm": float(best[0]), "logistic_regression": float(roc_auc(y_va.to_numpy(), p_lr))}
    return out


def choose_model(lines, cut, customers, events, cfg, cache=None) -> tuple[int, int, str]:
    """LightGBM ``(num_leaves, rounds)`` among ``model_candidates`` by the inner
    time-based validation (:func:`validate_candidates`; the eval cutoff's labels are never
    read). Falls back to ``num_leaves`` / ``n_estimators`` when there is too little data.
    Returns ``(num_leaves, n_rounds, how)``."""
    if not cfg.model_candidates or not cut.get("validation_train_cutoffs"):
        return cfg.num_leaves, cfg.n_estimators, "fixed"
    v = validate_candidates(lines, cut, customers, events, cfg, cache)
    return v["num_leaves"], v["n_rounds"], v["how"]


def _pick(auc: dict[str, float]) -> str:
    """The candidate with the higher ROC-AUC; an exact tie (or no AUC) goes to logistic
    regression, the simpler model."""
    lgb_auc, lr_auc = auc.get("lightgbm"), auc.get("logistic_regression")
    if lgb_auc is not None and not np.isnan(lgb_auc) and (lr_auc is None or np.isnan(lr_auc) or lgb_auc > lr_auc):
        return "lightgbm"
    return "logistic_regression"


class _Models:
    """The models fitted on one training set: the two candidates (LightGBM, logistic
    regression) and the naive baseline (recency alone), or only ``only`` of them.
    ``champion``: the candidate that scores customers (see :func:`score_churn`)."""

    def __init__(
        self,
        cfg: ChurnConfig,
        n_rounds: int | None = None,
        num_leaves: int | None = None,
        only: tuple[str, ...] | None = None,
        champion: str = "lightgbm",
    ):
        self.cfg = cfg
        self.n_rounds = n_rounds or cfg.n_estimators
        self.num_leaves = num_leaves or cfg.num_leaves
        self.only = tuple(only) if only else (*CANDIDATES, NAIVE_BASELINE)
        self.champion = champion
        self.booster = self.logreg = self.recency = None
        self.enc_tree = self.enc_lin = None

    def fit(self, X: pd.DataFrame, y: pd.Series) -> _Models:
        cfg = self.cfg
        if "lightgbm" in self.only:
            self.enc_tree = FeatureEncoder(impute=False).fit(X)
            Xt = self.enc_tree.transform(X)
            ds = lgb.Dataset(
                Xt.to_numpy(),
                label=y.to_numpy(),
                feature_name=_safe_names(list(Xt.columns)),
                free_raw_data=True,
                params={"verbose": -1},
            )
            self.booster = lgb.train(_lgb_params(cfg, self.num_leaves), ds, num_boost_round=self.n_rounds)
        # one BLAS thread: on a busy machine multi-threaded OpenBLAS made these small
        # lbfgs fits much slower (docs/benchmarks.md, Measured choices)
        with threadpool_limits(limits=1, user_api="blas"):
            if "logistic_regression" in self.only:
                self.enc_lin = _lin_encoder(X)
                self.logreg = _logreg_pipeline().fit(self.enc_lin.transform(X).to_numpy(), y.to_numpy())
            if NAIVE_BASELINE in self.only:
                self.recency = LogisticRegression(max_iter=1000).fit(_recency_x(X), y.to_numpy())
        return self

    @property
    def feature_names(self) -> list[str]:
        """The encoded feature names of the champion (the drivers and importance use them)."""
        enc = self.enc_tree if self.champion == "lightgbm" else self.enc_lin
        return list(enc.columns_)

    def predict(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        out = {}
        if self.booster is not None:
            out["lightgbm"] = self.booster.predict(self.enc_tree.transform(X).to_numpy())
        if self.logreg is not None:
            out["logistic_regression"] = self.logreg.predict_proba(self.enc_lin.transform(X).to_numpy())[:, 1]
        if self.recency is not None:
            out[NAIVE_BASELINE] = self.recency.predict_proba(_recency_x(X))[:, 1]
        return out

    def champion_artifact(self):
        """What the artifact hash is taken of: the booster or the fitted pipeline."""
        return self.booster if self.champion == "lightgbm" else self.logreg

    def score(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """The champion's churn probability and per-feature log-odds contributions (rows of
        ``X``, columns :attr:`feature_names`). Row by row: the rows of a chunk of ``X`` are
        those of all of ``X``."""
        if self.champion == "lightgbm":
            Xt = self.enc_tree.transform(X).to_numpy()
            prob = self.booster.predict(Xt)
            contrib = self.booster.predict(Xt, pred_contrib=True)[:, :-1]  # last column = bias
            return prob, contrib
        scaler, lr = self.logreg[0], self.logreg[-1]
        Z = (self.enc_lin.transform(X).to_numpy() - scaler.mean_) / scaler.scale_
        contrib = Z * lr.coef_[0]  # the linear log-odds, term by term
        # elementwise and a per-row sum (no BLAS product): the same bits however many rows
        prob = expit(contrib.sum(axis=1) + lr.intercept_[0])
        return prob, contrib

    def importance(self) -> tuple[np.ndarray, np.ndarray]:
        """(gain, split) of the champion: LightGBM's, or |coef| and zero splits."""
        if self.champion == "lightgbm":
            return (
                self.booster.feature_importance("gain").astype(float),
                self.booster.feature_importance("split").astype("int64"),
            )
        coef = np.abs(self.logreg[-1].coef_[0]).astype(float)
        return coef, np.zeros(len(coef), dtype="int64")


def _recency_x(X: pd.DataFrame) -> np.ndarray:
    return np.log1p(X[["recency_days"]].astype(float).clip(lower=0).to_numpy())


def _safe_names(names: list[str]) -> list[str]:
    # LightGBM rejects some characters in feature names (JSON specials).
    out = []
    for n in names:
        s = "".join(ch if ch.isalnum() or ch in "_=-." else "_" for ch in n)
        out.append(s)
    return out


def format_drivers(contrib: np.ndarray, names: list[str], n: int = 3) -> list[str]:
    """``"recency_days (+0.80), frequency (-0.30)"`` from per-row log-odds contributions."""
    out = []
    order = np.argsort(-np.abs(contrib), axis=1, kind="mergesort")[:, :n]
    for i in range(contrib.shape[0]):
        parts = [f"{names[j]} ({contrib[i, j]:+.2f})" for j in order[i] if contrib[i, j] != 0]
        out.append(", ".join(parts))
    return out


@dataclass
class ChurnModel:
    """The published churn model: the champion (LightGBM or logistic regression) refitted
    on the cutoffs ending at the eval cutoff, and the date it scores customers as of."""

    models: _Models
    as_of: pd.Timestamp
    config: ChurnConfig

    @property
    def champion(self) -> str:
        return self.models.champion

    @property
    def feature_names(self) -> list[str]:
        return self.models.feature_names


@dataclass
class ChurnFit:
    """:func:`fit_churn`'s result: ``model`` (None when refused), the evaluation, ``run``
    (verdict, metrics, artifact hash) and ``inputs``, the prepared frames it was trained on
    (lines, customers, events), to score those customers without preparing them again."""

    model: ChurnModel | None
    calibration: pd.DataFrame
    evaluation: pd.DataFrame
    run: ModelRun
    check: DataCheck
    inputs: tuple | None = None
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class ChurnScores:
    """:func:`score_churn`'s result: ``scores`` (ml.churn_scores rows) and the sum over
    the scored customers of each feature's absolute contribution (for the importance)."""

    scores: pd.DataFrame
    abs_contribution_sum: np.ndarray
    n: int


def _feature_inputs(lines: pd.DataFrame, events):
    """The lines the features and labels read (known customers, the columns used, text keys
    as categoricals) and the prepared events."""
    # Features and labels read only known customers' lines (the dates of the split use
    # every line): drop guest lines and unused columns once, not at every cutoff.
    lines = take_rows(lines, lines["customer_id"].notna(), _FEATURE_LINE_COLUMNS)
    lines = text_as_categories(lines)  # the features read these lines at 11 cutoffs
    return lines, prepare_events(events)


def fit_churn(
    lines: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    config: ChurnConfig | None = None,
    span: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> ChurnFit:
    """Train and evaluate the candidates (time split), choose the champion, then refit it
    (the published model); see the module docstring. ``span``: the first and last invoice date of all the data when ``lines``
    are a sample of the customers (the split dates and as-of date come from it)."""
    cfg = config or ChurnConfig()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    lines = prepare_lines(lines)
    customers = prepare_customers(customers)
    check = check_churn_data(lines, cfg, span)
    cut = churn_cutoffs(lines, cfg, span) if len(lines) else {}
    params = {k: v for k, v in asdict(cfg).items()}
    run = ModelRun(
        model="churn",
        task="churn",
        params=params,
        data_start=cut.get("data_start"),
        data_end=cut.get("data_end"),
        primary_metric="roc_auc",
        required_baselines=[NAIVE_BASELINE],
        data_check=check,
    )
    run.params.update(candidates=list(CANDIDATES), naive_baseline=NAIVE_BASELINE)

    def refuse(msg: str) -> ChurnFit:
        run.notes.append(msg)
        run.decide()
        if msg not in run.reason:
            run.reason += f"; {msg}"
        return ChurnFit(None, pd.DataFrame(), pd.DataFrame(), run, check, None, timings)

    if not cut or not cut["train_cutoffs"] or not cut["refit_cutoffs"]:
        return refuse(f"cannot build a time split: {check.message}")
    lines, events = _feature_inputs(lines, events)

    # ---------------------------------------------------------------- evaluate
    cache: dict = {}
    X_tr, y_tr = _stack(lines, cut["train_cutoffs"], customers, events, cfg, cache)
    X_ev, y_ev = _labelled(lines, cut["eval_cutoff"], customers, events, cfg, cache)
    timings["features_eval"] = time.perf_counter() - t0
    if len(X_tr) < 20 or y_tr.nunique() < 2 or len(X_ev) < 10 or y_ev.nunique() < 2:
        return refuse("too few labelled customers or only one class in the train/eval windows")

    t1 = time.perf_counter()
    val = validate_candidates(lines, cut, customers, events, cfg, cache)
    n_leaves, n_rounds, how = val["num_leaves"], val["n_rounds"], val["how"]
    run.params["chosen_num_leaves"], run.params["n_rounds"] = n_leaves, n_rounds
    timings["choose_model"] = time.perf_counter() - t1
    models = _Models(cfg, n_rounds, n_leaves).fit(X_tr, y_tr)
    preds = models.predict(X_ev)
    y_true = y_ev.to_numpy()
    metrics = {name: classification_metrics(y_true, p) for name, p in preds.items()}
    evaluation = pd.DataFrame([{"model": name, **m} for name, m in metrics.items()])
    evaluation["n_eval"] = len(y_ev)
    evaluation["churn_rate"] = float(y_ev.mean())
    calibration = pd.concat(
        [calibration_table(y_true, p).assign(model=name) for name, p in preds.items()],
        ignore_index=True,
    )
    timings["train_eval"] = time.perf_counter() - t1

    # ---------------------------------------------------------------- champion
    eval_auc = {c: metrics[c]["roc_auc"] for c in CANDIDATES}
    chosen_on = "validation" if val["auc"] is not None else "eval"
    champion = _pick(val["auc"] if val["auc"] is not None else eval_auc)
    other = next(c for c in CANDIDATES if c != champion)
    models.champion = champion
    run.model = f"churn_{champion}"
    run.params.update(champion=champion, champion_chosen_on=chosen_on)
    run.metrics = metrics[champion]
    # the naive baseline (required), then the other candidate (recorded, not required)
    run.baselines = {NAIVE_BASELINE: metrics[NAIVE_BASELINE], other: metrics[other]}
    run.n_train, run.n_eval = len(X_tr), len(X_ev)
    run.notes.append(
        f"train cutoffs {', '.join(str(c.date()) for c in cut['train_cutoffs'])}; "
        f"eval cutoff {cut['eval_cutoff'].date()} ({len(X_ev)} customers, churn rate "
        f"{y_ev.mean():.1%}); scored as of {cut['as_of'].date()}; LightGBM {n_leaves} leaves, "
        f"{n_rounds} rounds ({how})"
    )
    run.notes.append(_champion_note(champion, other, chosen_on, val["auc"], eval_auc, cut))

    # ---------------------------------------------------------------- refit
    t2 = time.perf_counter()
    X_rf, y_rf = _stack(lines, cut["refit_cutoffs"], customers, events, cfg, cache)
    if y_rf.nunique() == 2:
        final = _Models(cfg, n_rounds, n_leaves, only=(champion,), champion=champion).fit(X_rf, y_rf)
    else:
        final = models
    del cache, X_tr, y_tr, X_ev, y_ev, X_rf, y_rf
    timings["refit"] = time.perf_counter() - t2
    timings["fit_total"] = time.perf_counter() - t0
    run.artifact_hash = artifact_hash(final.champion_artifact())
    run.decide()
    return ChurnFit(
        ChurnModel(final, cut["as_of"], cfg), calibration, evaluation, run, check, (lines, customers, events), timings
    )


def _champion_note(champion, other, chosen_on, val_auc, eval_auc, cut) -> str:
    ev = (
        f"at the eval cutoff {cut['eval_cutoff'].date()}: {champion} {eval_auc[champion]:.4f}"
        f" vs {other} {eval_auc[other]:.4f} ({eval_auc[champion] - eval_auc[other]:+.4f})"
    )
    if chosen_on == "validation":
        return (
            f"champion {champion}, chosen on the inner validation at "
            f"{cut['validation_cutoff'].date()} (ROC-AUC {val_auc[champion]:.4f} vs {other} "
            f"{val_auc[other]:.4f}, {val_auc[champion] - val_auc[other]:+.4f}); {ev}; it must "
            f"beat {NAIVE_BASELINE}, not {other}"
        )
    return (
        f"champion {champion}, chosen on the eval cutoff (too little data for the inner "
        f"validation, so its eval figures are optimistic): {ev}; it must beat "
        f"{NAIVE_BASELINE}, not {other}"
    )


def score_churn(
    model: ChurnModel,
    lines: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    as_of=None,
    prepared: bool = False,
) -> ChurnScores:
    """Churn probability, risk band and drivers of every customer of ``lines`` active as of
    ``as_of`` (default: the model's). A customer's row depends only on their own lines,
    events and profile: scoring the customers in chunks gives the same rows as all at once.
    ``prepared``: the frames are :attr:`ChurnFit.inputs` (already prepared)."""
    cfg = model.config
    if not prepared:
        lines, events = _feature_inputs(prepare_lines(lines), events)
        customers = prepare_customers(customers)
    T = pd.Timestamp(as_of) if as_of is not None else model.as_of
    final = model.models
    X_now = churn_features(lines, T, customers, events, cfg.active_window_days, cfg.horizon_days)
    prob, contrib = final.score(X_now)
    scores = pd.DataFrame(
        {
            "customer_id": X_now.index.astype("Int64"),
            "as_of_date": T,
            "churn_probability": prob,
            "risk_band": _risk_band(prob, cfg.risk_thresholds),
            "top_drivers": format_drivers(contrib, final.feature_names, cfg.n_drivers),
            "recency_days": X_now["recency_days"].to_numpy(),
            "frequency": X_now["frequency"].astype("int64").to_numpy(),
            "monetary": X_now["monetary"].to_numpy(),
        }
    )
    scores["risk_band"] = scores["risk_band"].astype("string")
    scores["top_drivers"] = scores["top_drivers"].astype("string")
    abs_sum = np.abs(contrib).sum(axis=0) if len(contrib) else np.zeros(len(final.feature_names))
    return ChurnScores(scores, abs_sum, len(contrib))


def churn_importance(model: ChurnModel, scored: list[ChurnScores]) -> pd.DataFrame:
    """Global feature importance of the champion, and the mean absolute contribution over
    every customer scored (in one or more :class:`ChurnScores`). LightGBM: gain (share of
    the total) and splits; logistic regression: |coef| (of the standardized features,
    share of the total) and 0 splits."""
    final = model.models
    n = sum(s.n for s in scored)
    if len(scored) == 1:
        s = scored[0]
        mean_abs = s.abs_contribution_sum / s.n if s.n else 0.0
    else:
        mean_abs = np.sum([s.abs_contribution_sum for s in scored], axis=0) / n if n else 0.0
    gain, split = final.importance()
    importance = pd.DataFrame(
        {
            "feature": final.feature_names,
            "importance_gain": gain,
            "importance_split": split,
            "mean_abs_contribution": mean_abs,
        }
    )
    total = importance["importance_gain"].sum()
    importance["importance_gain"] = importance["importance_gain"] / total if total > 0 else 0.0
    importance = importance.sort_values(
        ["mean_abs_contribution", "feature"], ascending=[False, True], ignore_index=True
    )
    importance["rank"] = np.arange(1, len(importance) + 1)
    return importance[IMPORTANCE_COLUMNS]


def run_churn(
    lines: pd.DataFrame,
    customers: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    config: ChurnConfig | None = None,
    span: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> ChurnResult:
    """Train, evaluate (time split) and score churn: :func:`fit_churn`, then
    :func:`score_churn` on the same customers. See the module docstring."""
    fit = fit_churn(lines, customers, events, config, span)
    return churn_result(fit)


def churn_result(fit: ChurnFit, scored: list[ChurnScores] | None = None) -> ChurnResult:
    """The :class:`ChurnResult` of a fit: ``scored`` (default: the fit's own customers,
    scored now) give the scores and the importance."""
    if fit.model is None:
        return ChurnResult(
            _empty(SCORE_COLUMNS),
            _empty(IMPORTANCE_COLUMNS),
            fit.calibration,
            fit.evaluation,
            fit.run,
            fit.check,
            fit.timings,
        )
    t0 = time.perf_counter()
    if scored is None:
        scored = [score_churn(fit.model, *fit.inputs, prepared=True)]
        fit.inputs = None
    scores = scored[0].scores if len(scored) == 1 else pd.concat([s.scores for s in scored], ignore_index=True)
    importance = churn_importance(fit.model, scored)
    timings = {**fit.timings, "score": time.perf_counter() - t0}
    return ChurnResult(scores, importance, fit.calibration, fit.evaluation, fit.run, fit.check, timings)


def _empty(cols: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
