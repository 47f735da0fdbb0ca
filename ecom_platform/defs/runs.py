"""Runs whose process died: failed, and their single-writer slot released.

``kill -9``, the OOM killer or a reboot end a run without a word to Dagster: it stays
STARTED and keeps its ``duckdb_writer`` pool slot, and every later writer waits behind it
forever. The process executing a run marks itself alive (:mod:`ecom_platform.lib.run_liveness`,
held by :class:`~ecom_platform.defs.resources.WarehouseResource` for the run's life);
:func:`release_stale_runs` fails the runs whose marker is no longer held and frees their
slots. ``make run`` / ``cli materialize`` call it before starting, and the
``stale_run_janitor`` sensor calls it every minute under ``make dev``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import dagster as dg

from ecom_platform.lib import run_liveness

LIVENESS_FOLDER = "ecom_run_liveness"
_ACTIVE = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.CANCELING]


def liveness_folder(instance: dg.DagsterInstance) -> Path:
    return Path(instance.root_directory) / LIVENESS_FOLDER


def release_stale_runs(instance: dg.DagsterInstance, log: Callable[[str], None] = print) -> list[str]:
    """Fail every active run whose process is gone and free the pool slots of runs that
    have ended (or whose process is gone). Returns one message per run acted on."""
    folder = liveness_folder(instance)
    storage = instance.event_log_storage
    out: list[str] = []
    active = {r.dagster_run.run_id: r.dagster_run
              for r in instance.get_run_records(filters=dg.RunsFilter(statuses=_ACTIVE))}
    for run_id, run in active.items():
        state, who = run_liveness.state(folder, run_id)
        if state != run_liveness.DEAD:
            continue
        msg = (f"run {run_id} ({run.job_name}) was {run.status.value} but its process is gone ({who}): "
               "killed or out of memory; marked as failed")
        instance.report_run_failed(run, message=msg)
        run_liveness.forget(folder, run_id)
        out.append(msg)
    if storage.supports_global_concurrency_limits:
        for run_id in sorted(storage.get_concurrency_run_ids()):
            run = instance.get_run_by_id(run_id)
            if run is not None and not run.is_finished:
                continue
            freed = storage.free_concurrency_slots_for_run(run_id)
            if freed:
                out.append(f"released {freed} duckdb_writer slot(s) still held by run {run_id} "
                           f"({'unknown run' if run is None else run.status.value})")
    for msg in out:
        log(msg)
    return out


@dg.sensor(
    name="stale_run_janitor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Fails runs whose process died (kill -9, out of memory) and frees their single-writer "
                "slot, so later runs never wait behind them.",
)
def stale_run_janitor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    acted = release_stale_runs(context.instance, log=context.log.warning)
    return dg.SkipReason("; ".join(acted) if acted else "no run whose process is gone")
