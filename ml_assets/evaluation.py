"""Evaluation metrics, written out in numpy so each can be checked by hand.

Classification (churn): :func:`roc_auc`, :func:`pr_auc` (average precision),
:func:`brier`, :func:`top_decile_lift`, :func:`calibration_table`.
Forecasting: :func:`mase`, :func:`wape`, :func:`bias`.
Ranking (recommendations): :func:`hit_rate_at_k`, :func:`precision_at_k`,
:func:`recall_at_k`, :func:`ndcg_at_k`, :func:`coverage`, :func:`ranking_metrics`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

# --------------------------------------------------------------------------- classification


def _arrays(y_true, y_score) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_true, dtype=float).ravel()
    s = np.asarray(y_score, dtype=float).ravel()
    if y.shape != s.shape:
        raise ValueError(f"shape mismatch {y.shape} vs {s.shape}")
    return y, s


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, ties get the average rank (like scipy.stats.rankdata)."""
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    n = len(x)
    ranks = np.empty(n, dtype=float)
    # boundaries of tie groups
    starts = np.r_[0, np.flatnonzero(np.diff(xs)) + 1]
    ends = np.r_[starts[1:], n]
    avg = (starts + ends + 1) / 2.0  # mean of (start+1 .. end)
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


def roc_auc(y_true, y_score) -> float:
    """Area under the ROC curve = P(score of a positive > score of a negative), ties 1/2.

    NaN when only one class is present.
    """
    y, s = _arrays(y_true, y_score)
    n_pos = float((y == 1).sum())
    n_neg = float((y == 0).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    r = _average_ranks(s)
    return float((r[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def pr_auc(y_true, y_score) -> float:
    """Average precision: sum over thresholds of (R_n - R_{n-1}) * P_n.

    Tied scores form one threshold (as in scikit-learn's ``average_precision_score``).
    """
    y, s = _arrays(y_true, y_score)
    n_pos = float((y == 1).sum())
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    ys, ss = y[order], s[order]
    # last index of every distinct threshold
    last = np.r_[np.flatnonzero(np.diff(ss)), len(ss) - 1]
    tp = np.cumsum(ys)[last]
    fp = (last + 1) - tp
    precision = tp / (tp + fp)
    recall = tp / n_pos
    prev_recall = np.r_[0.0, recall[:-1]]
    return float(np.sum((recall - prev_recall) * precision))


def brier(y_true, y_prob) -> float:
    """Mean squared difference between predicted probability and outcome (lower is better)."""
    y, p = _arrays(y_true, y_prob)
    if len(y) == 0:
        return float("nan")
    return float(np.mean((p - y) ** 2))


def log_loss(y_true, y_prob, eps: float = 1e-12) -> float:
    y, p = _arrays(y_true, y_prob)
    p = np.clip(p, eps, 1 - eps)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def top_decile_lift(y_true, y_score, fraction: float = 0.1) -> float:
    """Positive rate among the top ``fraction`` by score divided by the overall positive rate.

    The top group has ``ceil(n * fraction)`` rows; ties are broken by input order.
    """
    y, s = _arrays(y_true, y_score)
    n = len(y)
    if n == 0 or y.sum() == 0:
        return float("nan")
    k = max(1, int(np.ceil(n * fraction)))
    top = np.argsort(-s, kind="mergesort")[:k]
    return float(y[top].mean() / y.mean())


def calibration_table(y_true, y_prob, n_bins: int = 10, strategy: str = "uniform") -> pd.DataFrame:
    """Predicted vs observed rate per probability bin.

    ``strategy='uniform'``: bins [0, 0.1), [0.1, 0.2), ... [0.9, 1.0];
    ``'quantile'``: equal-count bins. Empty bins are dropped.
    Columns: bin, p_low, p_high, n, mean_predicted, observed_rate, gap.
    """
    y, p = _arrays(y_true, y_prob)
    if strategy == "quantile":
        edges = np.unique(np.quantile(p, np.linspace(0, 1, n_bins + 1))) if len(p) else np.array([0, 1])
    else:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    rows = []
    for b in range(len(edges) - 1):
        m = idx == b
        if not m.any():
            continue
        mp, orate = float(p[m].mean()), float(y[m].mean())
        rows.append(
            {
                "bin": b,
                "p_low": float(edges[b]),
                "p_high": float(edges[b + 1]),
                "n": int(m.sum()),
                "mean_predicted": mp,
                "observed_rate": orate,
                "gap": mp - orate,
            }
        )
    return pd.DataFrame(rows, columns=["bin", "p_low", "p_high", "n", "mean_predicted", "observed_rate", "gap"])


def classification_metrics(y_true, y_prob) -> dict[str, float]:
    return {
        "roc_auc": roc_auc(y_true, y_prob),
        "pr_auc": pr_auc(y_true, y_prob),
        "brier": brier(y_true, y_prob),
        "top_decile_lift": top_decile_lift(y_true, y_prob),
    }


# --------------------------------------------------------------------------- forecasting


def mase_scale(insample, m: int = 1) -> float:
    """Mean absolute m-step difference of the training history (the MASE denominator)."""
    x = np.asarray(insample, dtype=float)
    x = x[~np.isnan(x)]
    if len(x) <= m:
        return float("nan")
    return float(np.mean(np.abs(x[m:] - x[:-m])))


def mase(actual, forecast, insample=None, m: int = 1, scale: float | None = None) -> float:
    """Mean absolute scaled error: MAE of the forecast / in-sample MAE of the m-step naive.

    Pass the training history as ``insample`` (or a precomputed ``scale``).
    NaN when the scale is zero or undefined.
    """
    a = np.asarray(actual, dtype=float)
    f = np.asarray(forecast, dtype=float)
    if scale is None:
        scale = mase_scale(insample, m)
    if scale is None or not np.isfinite(scale) or scale <= 0:
        return float("nan")
    return float(np.mean(np.abs(a - f)) / scale)


def wape(actual, forecast) -> float:
    """Weighted absolute percentage error: sum|a - f| / sum|a|."""
    a = np.asarray(actual, dtype=float)
    f = np.asarray(forecast, dtype=float)
    den = np.abs(a).sum()
    return float(np.abs(a - f).sum() / den) if den > 0 else float("nan")


def bias(actual, forecast) -> float:
    """Relative bias: sum(f - a) / sum|a| (positive = over-forecast)."""
    a = np.asarray(actual, dtype=float)
    f = np.asarray(forecast, dtype=float)
    den = np.abs(a).sum()
    return float((f - a).sum() / den) if den > 0 else float("nan")


# --------------------------------------------------------------------------- ranking


def _hits(recs: Sequence, relevant: Iterable, k: int) -> np.ndarray:
    rel = set(relevant)
    return np.array([1.0 if r in rel else 0.0 for r in list(recs)[:k]])


def hit_rate_at_k(recs: Sequence, relevant: Iterable, k: int = 10) -> float:
    """1 if any of the top-k recommendations is relevant, else 0 (for one user)."""
    return float(_hits(recs, relevant, k).sum() > 0)


def precision_at_k(recs: Sequence, relevant: Iterable, k: int = 10) -> float:
    """Relevant items among the top k, divided by k."""
    return float(_hits(recs, relevant, k).sum() / k)


def recall_at_k(recs: Sequence, relevant: Iterable, k: int = 10) -> float:
    """Relevant items among the top k, divided by the number of relevant items."""
    rel = set(relevant)
    if not rel:
        return float("nan")
    return float(_hits(recs, rel, k).sum() / len(rel))


def ndcg_at_k(recs: Sequence, relevant: Iterable, k: int = 10) -> float:
    """Binary-gain NDCG: sum_i hit_i / log2(i + 2) over the ideal ordering's value."""
    rel = set(relevant)
    if not rel:
        return float("nan")
    h = _hits(recs, rel, k)
    dcg = float((h / np.log2(np.arange(2, len(h) + 2))).sum())
    ideal = min(len(rel), k)
    idcg = float((1.0 / np.log2(np.arange(2, ideal + 2))).sum())
    return dcg / idcg


def coverage(all_recs: Iterable[Sequence], catalogue_size: int, k: int = 10) -> float:
    """Share of the catalogue that appears in at least one user's top-k."""
    if catalogue_size <= 0:
        return float("nan")
    seen: set = set()
    for recs in all_recs:
        seen.update(list(recs)[:k])
    return len(seen) / catalogue_size


def ranking_metrics(
    all_recs: Sequence[Sequence], all_relevant: Sequence[Iterable], k: int = 10, catalogue_size: int | None = None
) -> dict[str, float]:
    """Mean HitRate/Precision/Recall/NDCG@k over users (and catalogue coverage)."""
    if len(all_recs) != len(all_relevant):
        raise ValueError("recs and relevant must have one entry per user")
    hr, pr, rc, nd = [], [], [], []
    for recs, rel in zip(all_recs, all_relevant):
        rel = set(rel)
        if not rel:
            continue
        h = _hits(recs, rel, k)
        n_hit = h.sum()
        hr.append(float(n_hit > 0))
        pr.append(n_hit / k)
        rc.append(n_hit / len(rel))
        dcg = (h / np.log2(np.arange(2, len(h) + 2))).sum()
        idcg = (1.0 / np.log2(np.arange(2, min(len(rel), k) + 2))).sum()
        nd.append(dcg / idcg)
    out = {
        f"hit_rate@{k}": float(np.mean(hr)) if hr else float("nan"),
        f"precision@{k}": float(np.mean(pr)) if pr else float("nan"),
        f"recall@{k}": float(np.mean(rc)) if rc else float("nan"),
        f"ndcg@{k}": float(np.mean(nd)) if nd else float("nan"),
    }
    if catalogue_size:
        out["coverage"] = coverage(all_recs, catalogue_size, k)
    return out
