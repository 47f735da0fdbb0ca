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
asset's (or a partition's, or a check's) latest value is never deleted, only history.

A landing-sensor run also holds the only materialization of its day's partition of the
daily facts. Such a run, once everything else it holds is superseded, has those partitions
recorded anew by a small ``keep_partition_history`` run (one materialization event per
partition, naming the run that materialized it and when, tagged ``HISTORY_TAG`` so the
eager models downstream do not rebuild for it); the next pass deletes the old run. A
history run, once old, is merged the same way into the next, so what stays is about one
small event per partition: it grows with the days the shop has, not with the runs.
Deleting a run also removes what Dagster's ``delete_run`` leaves behind (:func:`_delete_run`).
"""

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from ecom_platform.contract import HISTORY_TAG
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


HISTORY_JOB = "keep_partition_history"
# the materialization tags worth keeping with a partition's history (what staleness reads)
_KEPT_TAGS = ("dagster/data_version", "dagster/code_version")


class PartitionHistoryConfig(dg.Config):
    # [{"asset": [...], "partition": ..., "run": the run that materialized it, "at": when (ISO),
    #   "held_by": the old run that holds it now, "tags": {...}}]
    items_json: str


@dg.op(
    description="Records anew the latest materialization of partitions whose old run the "
    "run history is about to delete, so the partitions stay materialized."
)
def record_partition_history(context: dg.OpExecutionContext, config: PartitionHistoryConfig) -> None:
    items = json.loads(config.items_json)
    for item in items:
        context.log_event(
            dg.AssetMaterialization(
                asset_key=dg.AssetKey(item["asset"]),
                partition=item["partition"],
                description=f"history: materialized by run {item['run']} at {item['at']}; that run was deleted "
                "from the run history (ECOM_RUN_HISTORY_DAYS)",
                metadata={"materialized_by_run": item["run"], "materialized_at": item["at"]},
                tags=item.get("tags") or None,
            )
        )
    context.log.info(
        f"recorded the history of {len(items)} partition materialization(s) "
        f"held by {len({item['held_by'] for item in items})} old run(s)"
    )


@dg.job(
    name=HISTORY_JOB,
    tags={HISTORY_TAG: "1"},
    description="Keeps old partitions materialized when the run history deletes their run.",
)
def keep_partition_history_job() -> None:
    record_partition_history()


@dataclass
class Pruned:
    """What one pass over the old runs did."""

    deleted: list[str] = field(default_factory=list)  # run ids deleted
    kept: int = 0  # old runs kept: they hold a latest value
    # the kept run to resume after ("": from the first old run); None once all were looked at
    after: str | None = None
    history: list[dict] = field(default_factory=list)  # partitions to record anew (HISTORY_JOB config)

    @property
    def held_runs(self) -> int:
        """How many old runs the partitions in ``history`` come from."""
        return len({item["held_by"] for item in self.history})


def _what_it_holds(instance: dg.DagsterInstance, record: dg.RunRecord) -> tuple[str | None, list[dict]]:
    """What of the run is still the latest of its kind: (the first asset's, check's or last
    run's latest value it holds, or None; the partition materializations it holds when
    nothing else; a ``HISTORY_JOB`` run's are recorded anew too, so old history runs merge
    into one)."""
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
    partitions: dict[tuple, dict] = {}
    for rec in records:
        ev = rec.event_log_entry.dagster_event
        if ev is None:
            continue
        if ev.event_type in (E.ASSET_CHECK_EVALUATION, E.ASSET_CHECK_EVALUATION_PLANNED):
            data = ev.event_specific_data
            check_keys.add(dg.AssetCheckKey(data.asset_key, data.check_name))
            continue
        key, partition = ev.asset_key, ev.partition
        if ev.event_type == E.ASSET_MATERIALIZATION_PLANNED:
            (asset,) = instance.get_asset_records([key]) or [None]
            if asset is not None and asset.asset_entry.last_run_id == run_id:
                return f"the last run of {key.to_user_string()}", []
            continue
        fetch = (
            instance.fetch_materializations if ev.event_type == E.ASSET_MATERIALIZATION else instance.fetch_observations
        )
        latest = fetch(
            dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition] if partition else None), limit=1
        ).records
        # (compared by run: the run's own event log and the index number events apart)
        if not latest or latest[0].run_id != run_id:
            continue
        if partition and ev.event_type == E.ASSET_MATERIALIZATION:
            materialization = ev.event_specific_data.materialization
            tags, meta = materialization.tags or {}, materialization.metadata
            at = datetime.fromtimestamp(rec.event_log_entry.timestamp, UTC).isoformat(timespec="seconds")
            partitions[(tuple(key.path), partition)] = {
                "asset": list(key.path),
                "partition": partition,
                "held_by": run_id,
                # a history run's record names the run that materialized the partition
                "run": meta["materialized_by_run"].value if "materialized_by_run" in meta else run_id,
                "at": meta["materialized_at"].value if "materialized_at" in meta else at,
                "tags": {k: tags[k] for k in _KEPT_TAGS if k in tags},
            }
            continue
        return f"the latest value of {key.to_user_string()}{f' [{partition}]' if partition else ''}", []
    if check_keys:
        latest_checks = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(check_keys))
        for key, execution in latest_checks.items():
            if execution.run_id == run_id:
                return f"the latest result of check {key.name} on {key.asset_key.to_user_string()}", []
    return None, list(partitions.values())


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
    ``budget_seconds`` (a sensor evaluation must stay short). A run that holds nothing but
    partitions' latest materializations is kept and its partitions listed in ``history``
    (to record anew with ``HISTORY_JOB``; the next pass deletes it). ``keep_days`` <= 0
    keeps every run."""
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
            reason, partitions = _what_it_holds(instance, record)
            if reason or partitions:
                out.kept += 1
                out.history += partitions
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
    if out.deleted or out.history:
        held = out.held_runs
        said = [
            f"deleted {len(out.deleted)} finished run(s) older than {keep_days:g} days from the run "
            "history (ECOM_RUN_HISTORY_DAYS)"
        ]
        if out.kept > held:
            said.append(f"{out.kept - held} older run(s) kept: they hold an asset's or check's latest value")
        if held:
            said.append(
                f"{held} kept for now: they hold only partitions' latest materializations, recorded "
                f"anew by a {HISTORY_JOB} run, and go on the next pass"
            )
        log("; ".join(said))
    return out


def history_run_config(history: list[dict]) -> dict:
    """The run config of a ``HISTORY_JOB`` run recording ``history`` (``Pruned.history``)."""
    return {"ops": {"record_partition_history": {"config": {"items_json": json.dumps(history, sort_keys=True)}}}}


def _history_run_pending(instance: dg.DagsterInstance) -> bool:
    pending = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, *_ACTIVE]
    return bool(instance.get_run_records(filters=dg.RunsFilter(job_name=HISTORY_JOB, statuses=pending), limit=1))


def build_stale_run_janitor(run_history_days: float) -> dg.SensorDefinition:
    @dg.sensor(
        name="stale_run_janitor",
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        jobs=[keep_partition_history_job],
        description="Fails runs whose process died (kill -9, out of memory) and frees their single-writer "
        "slot, so later runs never wait behind them; once an hour deletes finished runs older "
        f"than {run_history_days:g} days (ECOM_RUN_HISTORY_DAYS) whose values all have newer ones "
        f"(a {HISTORY_JOB} run first records anew the partitions only such a run holds).",
    )
    def stale_run_janitor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        acted = release_stale_runs(context.instance, log=context.log.warning)
        now = datetime.now(UTC)
        requests = []
        # cursor: when the last pass over the history started, and where an unfinished one stopped
        state = json.loads(context.cursor) if context.cursor else {"at": 0.0, "after": None}
        if state["after"] is not None or now.timestamp() - state["at"] >= PRUNE_EVERY_SECONDS:
            pruned = prune_run_history(
                context.instance, run_history_days, now=now, after=state["after"], log=context.log.info
            )
            if pruned.deleted:
                acted.append(f"deleted {len(pruned.deleted)} old run(s) from the run history")
            if pruned.history and not _history_run_pending(context.instance):
                run_config = history_run_config(pruned.history)
                digest = hashlib.sha256(json.dumps(run_config, sort_keys=True).encode()).hexdigest()[:16]
                requests.append(dg.RunRequest(run_key=f"history-{digest}", job_name=HISTORY_JOB, run_config=run_config))
                acted.append(
                    f"requested {HISTORY_JOB} for {len(pruned.history)} partition(s) of {pruned.held_runs} old run(s)"
                )
            at = state["at"] if state["after"] is not None else now.timestamp()
            context.update_cursor(json.dumps({"at": at, "after": pruned.after}))
        if requests:
            return dg.SensorResult(run_requests=requests)
        return dg.SensorResult(skip_reason="; ".join(acted) if acted else "no run whose process is gone")

    return stale_run_janitor
