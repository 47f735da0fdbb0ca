"""``ml.model_status``: one row per model family saying whether its tables are published,
and if not, why and what would change it (no Dagster here).

A model that cannot be published (too little data, no candidate beating its naive
baseline, or a training error) never holds anything else back: its tables are not
written (an earlier published version stays), this table says why, and the BI copy,
the dashboard and the run summary show the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd

from ecom_platform.lib import ml_tables

STATUS_TABLE = "ml.model_status"
COLUMNS = {
    "model": "VARCHAR",
    "published": "BOOLEAN",
    "status": "VARCHAR",
    "reason": "VARCHAR",
    "what_would_change_it": "VARCHAR",
    "champion": "VARCHAR",
    "primary_metric": "VARCHAR",
    "metric_value": "DOUBLE",
    "naive_baseline": "VARCHAR",
    "baseline_value": "DOUBLE",
    "tables": "VARCHAR",
    "data_end": "VARCHAR",
    "evaluated_at": "TIMESTAMP",
    "last_published_at": "TIMESTAMP",
    "run_id": "VARCHAR",
}
DDL = f"CREATE TABLE IF NOT EXISTS {STATUS_TABLE} (" + ", ".join(f"{c} {t}" for c, t in COLUMNS.items()) + ")"


@dataclass(frozen=True)
class ModelStatus:
    model: str
    published: bool
    status: str  # published | not_published | failed
    reason: str
    what_would_change_it: str
    champion: str | None
    primary_metric: str | None
    metric_value: float | None
    naive_baseline: str | None
    baseline_value: float | None
    tables: tuple[str, ...]
    data_end: str | None

    def one_line(self) -> str:
        if self.published:
            return f"{self.model}: published ({self.reason})"
        return f"{self.model}: NOT published: {self.reason}" + (
            f" (would change: {self.what_would_change_it})" if self.what_would_change_it else ""
        )


def _fmt(x: float) -> str:
    x = float(x)
    return f"{int(x):,}" if x.is_integer() else f"{x:,.1f}"


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if v != v else v


def from_run(model: str, run, tables: tuple[str, ...]) -> ModelStatus:
    """The status of one trained model from its :class:`ml_assets.common.ModelRun`."""
    champion = run.params.get("champion") or run.model
    if isinstance(champion, dict):  # one champion per level (the forecast)
        champion = "per level: " + ", ".join(f"{level} {name}" for level, name in champion.items())
    naive = run.params.get("naive_baseline")
    if naive is None and run.required_baselines:
        naive = run.required_baselines[0]
    pm = run.primary_metric or None
    value = _num(run.metrics.get(pm)) if pm else None
    base = _num(run.baselines.get(naive, {}).get(pm)) if naive and pm else None
    data_end = None if run.data_end is None else str(pd.Timestamp(run.data_end).date())
    check = run.data_check
    if run.publishable:
        vs = f" against {naive} {base:.4f}" if base is not None else ""
        metric = f"{pm} {value:.4f}{vs}" if value is not None else "no metric"
        return ModelStatus(
            model, True, "published", f"{champion}, {metric}", "", champion, pm, value, naive, base, tables, data_end
        )
    if check is not None and not check.ok:
        missing = [r for r in check.requirements if not r.ok]
        reason = (
            "; ".join(
                f"needs at least {_fmt(r.minimum)} {r.label}; this shop has {_fmt(r.observed or 0)}" for r in missing
            )
            or check.message
        )
        change = "more data: " + ", ".join(f"{_fmt(r.minimum - (r.observed or 0))} more {r.label}" for r in missing)
    elif value is None:
        reason = run.reason.removeprefix("not publishable: ")
        change = "more history, so that a time-based evaluation can be made"
    elif base is None:  # no single naive baseline declared: the verdict says what failed
        reason = run.reason.removeprefix("not publishable: ")
        change = "a model that beats its baselines: usually more history or more customers"
    else:
        vs = f"{naive} ({base:.4f})" if base is not None else "its naive baseline"
        reason = f"no candidate beats {vs}: the best, {champion}, has {pm} {value:.4f}"
        change = (
            "a model that beats the naive baseline: usually more history or more "
            "customers; until then the naive baseline is as good as a model"
        )
    return ModelStatus(
        model, False, "not_published", reason, change, champion, pm, value, naive, base, tables, data_end
    )


def from_error(model: str, error: BaseException, tables: tuple[str, ...]) -> ModelStatus:
    text = " ".join(str(error).split())[:500] or type(error).__name__
    return ModelStatus(
        model,
        False,
        "failed",
        f"training failed: {type(error).__name__}: {text}",
        "a fix of the error above (see the run's logs); the other models and the BI copy are not affected",
        None,
        None,
        None,
        None,
        None,
        tables,
        None,
    )


def write(con: duckdb.DuckDBPyConnection, status: ModelStatus, run_id: str, now: datetime | None = None) -> None:
    """Replace the model's row (one row per model; last_published_at carried over)."""
    now = (now or datetime.now(UTC)).replace(tzinfo=None)
    con.execute("CREATE SCHEMA IF NOT EXISTS ml")
    con.execute(DDL)
    prev = con.execute(f"SELECT last_published_at FROM {STATUS_TABLE} WHERE model = ?", [status.model]).fetchone()
    last = now if status.published else (prev[0] if prev else None)
    con.execute(f"DELETE FROM {STATUS_TABLE} WHERE model = ?", [status.model])
    con.execute(
        f"INSERT INTO {STATUS_TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})",
        [
            status.model,
            status.published,
            status.status,
            status.reason,
            status.what_would_change_it or None,
            status.champion,
            status.primary_metric,
            status.metric_value,
            status.naive_baseline,
            status.baseline_value,
            ", ".join(status.tables),
            status.data_end,
            now,
            last,
            run_id,
        ],
    )
    ml_tables.apply_comments(con, STATUS_TABLE.split(".")[1])


def line(row: dict[str, Any]) -> str:
    """One line for the run summary from a :func:`read` row."""
    if row["published"]:
        return f"{row['model']:<16} published      {row['reason']}"
    change = f" -> {row['what_would_change_it']}" if row.get("what_would_change_it") else ""
    return f"{row['model']:<16} NOT published  {row['reason']}{change}"


# ml.model_metrics names a model family's task differently from the family
TASKS = {
    "churn": "churn",
    "segmentation": "segmentation",
    "forecast": "forecasting",
    "recommendations": "recommendations",
}


def latest_candidates(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Per model family, the primary metric of its latest run: the champion and every
    candidate or baseline beside it, one line each."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ml' AND table_name = 'model_metrics'"
    ).fetchone()[0]
    if not exists:
        return {}
    rows = con.execute(
        """
        SELECT task, model, metric, value, baseline_name, baseline_value
        FROM ml.model_metrics
        WHERE is_primary
        QUALIFY recorded_at = max(recorded_at) OVER (PARTITION BY task)
        ORDER BY task, baseline_name NULLS FIRST
        """
    ).fetchall()
    out: dict[str, list[str]] = {}
    by_task = {t: m for m, t in TASKS.items()}
    for task, model, metric, value, base, bval in rows:
        lines = out.setdefault(by_task.get(task, task), [])
        if not lines:
            lines.append(f"{model}: {metric} {_show(value)}")
        if base is not None:
            lines.append(f"{base}: {metric} {_show(bval)}")
    return out


def _show(x: Any) -> str:
    v = _num(x)
    return "n/a" if v is None else f"{v:.4f}"


def read(con: duckdb.DuckDBPyConnection, table: str = STATUS_TABLE) -> list[dict[str, Any]]:
    """Every model's row, by model name ([] when the table does not exist yet)."""
    schema, name = table.split(".")
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, name]
    ).fetchone()[0]
    if not exists:
        return []
    cur = con.execute(f"SELECT * FROM {table} ORDER BY model")
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row)) for row in cur.fetchall()]
