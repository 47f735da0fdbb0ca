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

import numpy as np
import pandas as pd

from ml_assets.churn_data import (
    _FEATURE_LINE_COLUMNS,
    IMPORTANCE_COLUMNS,
    SCORE_COLUMNS,
    ChurnConfig,
    ChurnResult,
    _labelled,
    _stack,
    check_churn_data,
    churn_cutoffs,
    churn_features,
)
from ml_assets.churn_models import CANDIDATES, NAIVE_BASELINE, _Models, _pick, validate_candidates
from ml_assets.common import DataCheck, ModelRun, artifact_hash
from ml_assets.data import prepare_customers, prepare_events, prepare_lines
from ml_assets.evaluation import calibration_table, classification_metrics
from ml_assets.features import (
    take_rows,
    text_as_categories,
)


def _risk_band(p: np.ndarray, thresholds: tuple[float, float]) -> np.ndarray:
    lo, hi = thresholds
    return np.where(p >= hi, "high", np.where(p >= lo, "medium", "low"))


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
