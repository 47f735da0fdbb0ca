"""Shared pieces: the :class:`ModelRun` record, the minimum-data check, hashing.

Every model in ``ml_assets`` returns a :class:`ModelRun`: what was trained (name,
params, data window, sha256 of the serialized model), its metrics and the metrics
of its honest baseline(s) on the same split, and a *publishable* verdict: the model
beats every required baseline on its primary metric AND there was enough data.
``metrics_frame()`` gives the rows for ``ml.model_metrics``; ``markdown_table()``
gives a table for Dagster metadata.
"""

from __future__ import annotations

import hashlib
import json
import math
import pickle
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

# Which way is better for each metric name (None: closer to zero is better).
HIGHER_IS_BETTER: dict[str, bool | None] = {
    "roc_auc": True,
    "pr_auc": True,
    "brier": False,
    "log_loss": False,
    "top_decile_lift": True,
    "mase": False,
    "wape": False,
    "bias": None,
    "rmse": False,
    "hit_rate@10": True,
    "precision@10": True,
    "recall@10": True,
    "ndcg@10": True,
    "coverage": True,
    "silhouette": True,
    "stability_ari": True,
}


def better(metric: str, a: float, b: float) -> bool:
    """True if value ``a`` is strictly better than ``b`` for ``metric``."""
    if a is None or b is None or _isnan(a) or _isnan(b):
        return False
    direction = HIGHER_IS_BETTER.get(_base_metric(metric), True)
    if direction is None:
        return abs(a) < abs(b)
    return a > b if direction else a < b


def _base_metric(metric: str) -> str:
    # "ndcg@10" stays, "mase_units" -> "mase", "roc_auc" stays.
    if metric in HIGHER_IS_BETTER:
        return metric
    for name in HIGHER_IS_BETTER:
        if metric.startswith(name):
            return name
    return metric


def _isnan(x: Any) -> bool:
    try:
        return x is None or (isinstance(x, float) and math.isnan(x)) or pd.isna(x)
    except (TypeError, ValueError):
        return False


def _fmt(x: Any) -> str:
    if x is None or _isnan(x):
        return "n/a"
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    if isinstance(x, (float, np.floating)):
        ax = abs(float(x))
        if ax != 0 and (ax >= 1000 or ax < 0.001):
            return f"{float(x):,.4g}"
        return f"{float(x):.4f}"
    return str(x)


# --------------------------------------------------------------------------- data check


@dataclass(frozen=True)
class Requirement:
    """One minimum: ``observed >= minimum`` (``label`` says what is counted)."""

    name: str
    label: str
    minimum: float
    observed: float

    @property
    def ok(self) -> bool:
        return self.observed is not None and not _isnan(self.observed) and (self.observed >= self.minimum)


@dataclass(frozen=True)
class DataCheck:
    """Result of a minimum-data check: ``ok`` and a human message.

    The message says how much is needed, the way Klaviyo / GA4 explain why a
    predictive feature is not available yet (e.g. "need >= 500 customers with
    >= 2 orders (have 312)").
    """

    ok: bool
    message: str
    requirements: tuple[Requirement, ...] = ()

    @property
    def observed(self) -> dict[str, float]:
        return {r.name: r.observed for r in self.requirements}

    @property
    def required(self) -> dict[str, float]:
        return {r.name: r.minimum for r in self.requirements}

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "message": self.message, "observed": self.observed, "required": self.required}


def min_data(task: str, requirements: list[Requirement]) -> DataCheck:
    """Check every requirement; the message lists what is missing (or what was found)."""
    missing = [r for r in requirements if not r.ok]
    if missing:
        parts = [f"need >= {_fmt_num(r.minimum)} {r.label} (have {_fmt_num(r.observed)})" for r in missing]
        msg = f"Not enough data for {task}: " + "; ".join(parts) + "."
        return DataCheck(False, msg, tuple(requirements))
    parts = [f"{_fmt_num(r.observed)} {r.label} (need >= {_fmt_num(r.minimum)})" for r in requirements]
    return DataCheck(True, f"Enough data for {task}: " + ", ".join(parts) + ".", tuple(requirements))


def _fmt_num(x: float) -> str:
    if x is None or _isnan(x):
        return "0"
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{float(x):,.1f}"


# --------------------------------------------------------------------------- hashing


def artifact_hash(obj: Any) -> str:
    """sha256 of the serialized model.

    LightGBM boosters are hashed through ``model_to_string()`` (text, deterministic),
    numpy arrays through their bytes, dicts/lists/tuples element-wise, anything else
    through ``pickle``.
    """
    h = hashlib.sha256()
    _feed(h, obj)
    return h.hexdigest()


def _feed(h: hashlib._Hash, obj: Any) -> None:
    if obj is None:
        h.update(b"None")
    elif hasattr(obj, "model_to_string"):  # lightgbm.Booster
        h.update(obj.model_to_string().encode())
    elif hasattr(obj, "booster_"):  # lightgbm sklearn wrapper
        h.update(obj.booster_.model_to_string().encode())
    elif isinstance(obj, np.ndarray):
        h.update(str(obj.dtype).encode() + str(obj.shape).encode())
        h.update(np.ascontiguousarray(obj).tobytes())
    elif isinstance(obj, (pd.DataFrame, pd.Series)):
        h.update(pd.util.hash_pandas_object(obj, index=True).values.tobytes())
    elif isinstance(obj, dict):
        for k in sorted(obj, key=str):
            h.update(str(k).encode())
            _feed(h, obj[k])
    elif isinstance(obj, (list, tuple)):
        for item in obj:
            _feed(h, item)
    elif isinstance(obj, (str, bytes)):
        h.update(obj.encode() if isinstance(obj, str) else obj)
    elif hasattr(obj, "tocsr"):  # scipy sparse
        m = obj.tocsr()
        for part in (m.data, m.indices, m.indptr):
            _feed(h, np.asarray(part))
    else:
        h.update(pickle.dumps(obj, protocol=4))


# --------------------------------------------------------------------------- model run


@dataclass
class ModelRun:
    """One trained model with its honest comparison.

    ``metrics``: the model's metrics. ``baselines``: ``{baseline_name: {metric: value}}``
    on the same evaluation split. ``primary_metric`` decides the verdict; the model
    must beat each name in ``required_baselines`` (default: all baselines) on it.
    """

    model: str
    task: str
    params: dict[str, Any] = field(default_factory=dict)
    data_start: Any = None
    data_end: Any = None
    artifact_hash: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)
    primary_metric: str = ""
    required_baselines: list[str] | None = None
    data_check: DataCheck | None = None
    n_train: int | None = None
    n_eval: int | None = None
    notes: list[str] = field(default_factory=list)
    # further conditions for publishing: (description, passed)
    extra_checks: list[tuple[str, bool]] = field(default_factory=list)
    run_at: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    publishable: bool = False
    reason: str = ""

    # ----------------------------------------------------------------- verdict
    def decide(self) -> ModelRun:
        """Set ``publishable`` and ``reason``: beats baseline(s) AND enough data."""
        problems: list[str] = []
        wins: list[str] = []
        if self.data_check is not None and not self.data_check.ok:
            problems.append(self.data_check.message)
        pm = self.primary_metric
        value = self.metrics.get(pm)
        if value is None or _isnan(value):
            problems.append(f"no {pm} could be measured")
        else:
            names = self.required_baselines
            if names is None:
                names = list(self.baselines)
            for name in names:
                bval = self.baselines.get(name, {}).get(pm)
                if bval is None or _isnan(bval):
                    problems.append(f"baseline {name} has no {pm}")
                elif better(pm, value, bval):
                    wins.append(f"{name} ({_fmt(bval)})")
                else:
                    problems.append(f"{pm} {_fmt(value)} does not beat baseline {name} ({_fmt(bval)})")
        problems.extend(f"failed check: {desc}" for desc, passed in self.extra_checks if not passed)
        self.publishable = not problems
        if self.publishable:
            beat = f"beats {' and '.join(wins)}" if wins else "no baseline required"
            enough = f"; {self.data_check.message}" if self.data_check else ""
            passed = "".join(f"; {desc}: ok" for desc, _ in self.extra_checks)
            self.reason = f"publishable: {self.model} {pm} {_fmt(value)} {beat}{passed}{enough}"
        else:
            self.reason = "not publishable: " + "; ".join(problems)
        return self

    # ----------------------------------------------------------------- frames
    def metrics_frame(self) -> pd.DataFrame:
        """Rows for ``ml.model_metrics``: one per (metric, baseline) pair.

        Columns: run_at, task, model, metric, value, baseline_name, baseline_value,
        higher_is_better, beats_baseline, is_primary, publishable, reason,
        data_start, data_end, n_train, n_eval, artifact_hash, params (JSON).
        """
        rows: list[dict[str, Any]] = []
        for metric, value in self.metrics.items():
            pairs = [(b, m[metric]) for b, m in self.baselines.items() if metric in m]
            if not pairs:
                pairs = [(None, None)]
            for bname, bval in pairs:
                direction = HIGHER_IS_BETTER.get(_base_metric(metric), True)
                rows.append(
                    {
                        "run_at": self.run_at,
                        "task": self.task,
                        "model": self.model,
                        "metric": metric,
                        "value": _float_or_nan(value),
                        "baseline_name": bname,
                        "baseline_value": _float_or_nan(bval),
                        "higher_is_better": direction,
                        "beats_baseline": None if bname is None else better(metric, value, bval),
                        "is_primary": metric == self.primary_metric,
                        "publishable": self.publishable,
                        "reason": self.reason,
                        "data_start": _ts_str(self.data_start),
                        "data_end": _ts_str(self.data_end),
                        "n_train": self.n_train,
                        "n_eval": self.n_eval,
                        "artifact_hash": self.artifact_hash,
                        "params": json.dumps(self.params, default=str, sort_keys=True),
                    }
                )
        cols = [
            "run_at",
            "task",
            "model",
            "metric",
            "value",
            "baseline_name",
            "baseline_value",
            "higher_is_better",
            "beats_baseline",
            "is_primary",
            "publishable",
            "reason",
            "data_start",
            "data_end",
            "n_train",
            "n_eval",
            "artifact_hash",
            "params",
        ]
        return pd.DataFrame(rows, columns=cols)

    def markdown_table(self) -> str:
        """A Markdown table (model vs each baseline) plus the verdict, for UI metadata."""
        names = list(self.baselines)
        header = "| metric | " + " | ".join([self.model, *names]) + " |"
        sep = "|---|" + "---:|" * (1 + len(names))
        lines = [header, sep]
        for metric, value in self.metrics.items():
            star = " *" if metric == self.primary_metric else ""
            cells = [_fmt(value)] + [_fmt(self.baselines[b].get(metric)) for b in names]
            lines.append(f"| {metric}{star} | " + " | ".join(cells) + " |")
        lines.append("")
        lines.append(f"\\* primary metric. **{'Published' if self.publishable else 'Not published'}** - {self.reason}")
        if self.notes:
            lines.append("")
            lines.extend(f"- {n}" for n in self.notes)
        return "\n".join(lines)

    def summary(self) -> dict[str, Any]:
        """A flat dict for Dagster metadata."""
        out: dict[str, Any] = {
            "model": self.model,
            "publishable": self.publishable,
            "reason": self.reason,
            "artifact_hash": self.artifact_hash,
            "data_start": _ts_str(self.data_start),
            "data_end": _ts_str(self.data_end),
        }
        for k, v in self.metrics.items():
            out[k] = _float_or_nan(v)
        return out


def note_sample(run: ModelRun, train_customers: int, total_customers: int, chunks: int, scored: bool = True) -> None:
    """Say on ``run`` (notes, reason and params, so ``ml.model_metrics`` shows it) that the
    model was trained and evaluated on ``train_customers`` of ``total_customers``, and
    whether every customer was then scored (in ``chunks`` chunks)."""
    text = (
        f"trained and evaluated on a sample of {train_customers:,} of {total_customers:,} "
        f"customers (the customer-key order, capped); "
        + (
            f"all {total_customers:,} scored in {chunks} chunks"
            if scored
            else "the others not scored (not publishable)"
        )
    )
    run.notes.append(text)
    run.params.update(
        {
            "train_customers": int(train_customers),
            "total_customers": int(total_customers),
            "customer_chunks": int(chunks),
        }
    )
    if text not in run.reason:
        run.reason = f"{run.reason.rstrip('.')}; {text}" if run.reason else text


def _float_or_nan(x: Any) -> float:
    try:
        return float(x) if x is not None else float("nan")
    except (TypeError, ValueError):
        return float("nan")


def _ts_str(x: Any) -> str | None:
    if x is None or _isnan(x):
        return None
    if isinstance(x, (pd.Timestamp, datetime)):
        return pd.Timestamp(x).isoformat()
    return str(x)
