"""Runs whose process died: failed, and their single-writer slot released.

``kill -9``, the OOM killer or a reboot end a run without a word to Dagster: it stays
STARTED and keeps its ``duckdb_writer`` pool slot, and every later writer waits behind it
forever. The process executing a run marks itself alive (:mod:`ecom_platform.lib.run_liveness`,
held by :class:`~ecom_platform.defs.resources.WarehouseResource` for the run's life);
:func:`release_stale_runs` fails the runs whose marker is no longer held and frees their
slots. ``make run`` / ``cli materialize`` call it before starting, and the
``stale_run_janitor`` sensor calls it every minute under ``make dev``.

Run history: every run keeps its event log in the instance (a landing-sensor run about
6 MB, most of it dbt's materializations and checks), so a sensor that runs all year would
fill the disk. Once an hour the same sensor deletes the finished runs older than
``ECOM_RUN_HISTORY_DAYS`` (:func:`prune_run_history`) whose every materialization,
observation and check result has a newer one: what the UI and the automation read as an
asset's (or a check's) latest value is never deleted, only history.

Deleting a run also removes what Dagster's ``delete_run`` leaves behind (:func:`_delete_run`).
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from ecom_platform.lib import run_liveness

try:  # Dagster's own table (no public API deletes a run's check executions)
    from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable as _CHECK_EXECUTIONS
except ImportError:  # a Dagster that moved it: those rows stay
    _CHECK_EXECUTIONS = None

LIVENESS_FOLDER = "ecom_run_liveness"
_ACTIVE = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.CANCELING]
_FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
PRUNE_EVERY_SECONDS = 3600


def liveness_folder(instance: dg.DagsterInstance) -> Path:
    return Path(instance.root_directory) / LIVENESS_FOLDER


def release_stale_runs(instance: dg.DagsterInstance, log: Callable[[str], None] = print) -> list[str]:
    """Fail every active run whose process is gone and free the pool slots of runs that
    have ended (or whose process is gone). Returns one message per run acted on."""
    folder = liveness_folder(instance)
    storage = instance.event_log_storage
    out: list[str] = []
    active = {
        r.dagster_run.run_id: r.dagster_run for r in instance.get_run_records(filters=dg.RunsFilter(statuses=_ACTIVE))
    }
    for run_id, run in active.items():
        state, who = run_liveness.state(folder, run_id)
        if state != run_liveness.DEAD:
            continue
        msg = (
            f"run {run_id} ({run.job_name}) was {run.status.value} but its process is gone ({who}): "
            "killed or out of memory; marked as failed"
        )
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
                out.append(
                    f"released {freed} duckdb_writer slot(s) still held by run {run_id} "
                    f"({'unknown run' if run is None else run.status.value})"
                )
    for msg in out:
        log(msg)
    return out


@dataclass
class Pruned:
    """What one pass over the old runs did."""

    deleted: list[str] = field(default_factory=list)  # run ids deleted
    kept: int = 0  # old runs kept: they hold a latest value
    # the kept run to resume after ("": from the first old run); None once all were looked at
    after: str | None = None


def _what_it_holds(instance: dg.DagsterInstance, record: dg.RunRecord) -> str | None:
    """What of the run is still the latest of its kind: the first asset's, check's or last
    run's latest value it holds, or None."""
    E = dg.DagsterEventType
    run_id = record.dagster_run.run_id
    kinds = {
        E.ASSET_MATERIALIZATION,
        E.ASSET_OBSERVATION,
        E.ASSET_MATERIALIZATION_PLANNED,
        E.ASSET_CHECK_EVALUATION,
        E.ASSET_CHECK_EVALUATION_PLANNED,
    }
    records = instance.get_records_for_run(run_id, of_type=kinds).records
    check_keys = set()
    for rec in records:
        ev = rec.event_log_entry.dagster_event
        if ev is None:
            continue
        if ev.event_type in (E.ASSET_CHECK_EVALUATION, E.ASSET_CHECK_EVALUATION_PLANNED):
            data = ev.event_specific_data
            check_keys.add(dg.AssetCheckKey(data.asset_key, data.check_name))
            continue
        key = ev.asset_key
        if ev.event_type == E.ASSET_MATERIALIZATION_PLANNED:
            (asset,) = instance.get_asset_records([key]) or [None]
            if asset is not None and asset.asset_entry.last_run_id == run_id:
                return f"the last run of {key.to_user_string()}"
            continue
        fetch = (
            instance.fetch_materializations if ev.event_type == E.ASSET_MATERIALIZATION else instance.fetch_observations
        )
        # The asset's latest, whatever its partition: the code location has no partitioned
        # asset, so an old partition's event (the daily facts were partitioned before the
        # day window) is history once the asset has a newer one.
        latest = fetch(dg.AssetRecordsFilter(asset_key=key), limit=1).records
        # (compared by run: the run's own event log and the index number events apart)
        if not latest or latest[0].run_id != run_id:
            continue
        return f"the latest value of {key.to_user_string()}"
    if check_keys:
        latest_checks = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(check_keys))
        for key, execution in latest_checks.items():
            if execution.run_id == run_id:
                return f"the latest result of check {key.name} on {key.asset_key.to_user_string()}"
    return None


def _delete_run(instance: dg.DagsterInstance, run_id: str) -> None:
    """Delete the run and what Dagster leaves of it: ``delete_run`` keeps the run's rows in
    the check-execution table (about 0.6 MB a landing-sensor run; this run holds no check's
    latest result), the default SQLite storage keeps each run's event log in a file of its
    own that it empties but never removes (about 2.7 MB), and the captured step logs."""
    storage = instance.event_log_storage
    instance.delete_run(run_id)
    index = getattr(storage, "index_connection", None)
    if _CHECK_EXECUTIONS is not None and callable(index):
        with index() as conn:
            conn.execute(_CHECK_EXECUTIONS.delete().where(_CHECK_EXECUTIONS.c.run_id == run_id))
    shard = getattr(storage, "path_for_shard", None)
    if callable(shard):
        release = getattr(storage, "release_shard", None)  # ecom_platform.event_log keeps a connection
        if callable(release):
            release(run_id)
        Path(shard(run_id)).unlink(missing_ok=True)
    try:
        instance.compute_log_manager.delete_logs(prefix=[run_id])
    except NotImplementedError:  # a log manager that keeps logs elsewhere
        pass


def prune_run_history(
    instance: dg.DagsterInstance,
    keep_days: float,
    now: datetime | None = None,
    after: str | None = None,
    budget_seconds: float = 20.0,
    log: Callable[[str], None] = print,
) -> Pruned:
    """Delete the finished runs created more than ``keep_days`` ago (oldest first, from the
    kept run ``after`` on) that hold no latest value (:func:`_what_it_holds`), for at most
    ``budget_seconds`` (a sensor evaluation must stay short). ``keep_days`` <= 0 keeps
    every run."""
    out = Pruned()
    if keep_days <= 0:
        return out
    cutoff = (now or datetime.now(UTC)) - timedelta(days=keep_days)
    deadline = time.monotonic() + budget_seconds
    out.after = after
    done = False
    while not done:
        # the page starts after the last run kept (a deleted run cannot be a cursor)
        page = instance.get_run_records(
            filters=dg.RunsFilter(statuses=_FINISHED, created_before=cutoff),
            limit=100,
            ascending=True,
            cursor=out.after or None,
        )
        done = len(page) == 0
        for record in page:
            run_id = record.dagster_run.run_id
            if _what_it_holds(instance, record):
                out.kept += 1
                out.after = run_id
            else:
                _delete_run(instance, run_id)
                out.deleted.append(run_id)
            if time.monotonic() > deadline:
                break
        else:
            continue
        break
    if done:
        out.after = None
    elif out.after is None:
        out.after = ""
    if out.deleted:
        said = [
            f"deleted {len(out.deleted)} finished run(s) older than {keep_days:g} days from the run "
            "history (ECOM_RUN_HISTORY_DAYS)"
        ]
        if out.kept:
            said.append(f"{out.kept} older run(s) kept: they hold an asset's or check's latest value")
        log("; ".join(said))
    return out


def build_stale_run_janitor(run_history_days: float) -> dg.SensorDefinition:
    @dg.sensor(
        name="stale_run_janitor",
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Fails runs whose process died (kill -9, out of memory) and frees their single-writer "
        "slot, so later runs never wait behind them; once an hour deletes finished runs older "
        f"than {run_history_days:g} days (ECOM_RUN_HISTORY_DAYS) whose values all have newer ones.",
    )
    def stale_run_janitor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        acted = release_stale_runs(context.instance, log=context.log.warning)
        now = datetime.now(UTC)
        # cursor: when the last pass over the history started, and where an unfinished one stopped
        state = json.loads(context.cursor) if context.cursor else {"at": 0.0, "after": None}
        if state["after"] is not None or now.timestamp() - state["at"] >= PRUNE_EVERY_SECONDS:
            pruned = prune_run_history(
                context.instance, run_history_days, now=now, after=state["after"], log=context.log.info
            )
            if pruned.deleted:
                acted.append(f"deleted {len(pruned.deleted)} old run(s) from the run history")
            at = state["at"] if state["after"] is not None else now.timestamp()
            context.update_cursor(json.dumps({"at": at, "after": pruned.after}))
        return dg.SkipReason("; ".join(acted) if acted else "no run whose process is gone")

    return stale_run_janitor
