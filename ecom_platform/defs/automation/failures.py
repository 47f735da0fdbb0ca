"""The failure log: failed runs and failed checks written to ops.run_failures by the record_failures job."""

import datetime as dt
import json
from pathlib import Path

import dagster as dg

from ecom_platform.contract import (
    FAILED_RUN_TAG,
    FILES_TAG,
    RUN_FAILURES_KEY,
    TRIGGER_TAG,
)
from ecom_platform.defs.automation.settings import SENSOR_DEFAULT_STATUS
from ecom_platform.defs.resources import WRITER_POOL, WarehouseResource
from ecom_platform.lib import failure_log

automation_assets = [
    dg.AssetSpec(
        key=RUN_FAILURES_KEY,
        group_name="ops",
        kinds={"duckdb"},
        description=(
            "Failure log in the warehouse, `ops.run_failures`: one row per failed run step or failed "
            "check (run id, job, time, step, asset, check, severity, message, the failing landing file, "
            "the trigger). Written by the `record_failures` job, which the sensors `record_run_failures` "
            "and `record_failed_checks` request."
        ),
    )
]


class FailureRowsConfig(dg.Config):
    rows_json: str  # a JSON list of rows, see ecom_platform.lib.failure_log.COLUMNS


@dg.op(pool=WRITER_POOL, out={}, description="Write failure rows into ops.run_failures (single-writer pool).")
def write_run_failures(context: dg.OpExecutionContext, config: FailureRowsConfig, warehouse: WarehouseResource):
    rows = json.loads(config.rows_json)
    Path(warehouse.path).parent.mkdir(parents=True, exist_ok=True)
    with warehouse.connect() as con:
        added = failure_log.record(con, rows)
        total = con.execute(f"SELECT count(*) FROM {failure_log.RUN_FAILURES_TABLE}").fetchone()[0]
    context.log.info(f"{len(rows)} failure row(s) for {failure_log.RUN_FAILURES_TABLE}, {added} new")
    yield dg.AssetMaterialization(
        asset_key=RUN_FAILURES_KEY,
        metadata={
            "rows_added": added,
            "dagster/row_count": int(total),
            "failed_runs": dg.MetadataValue.json(sorted({r["run_id"] for r in rows})),
        },
    )


@dg.job(
    name="record_failures",
    description="Requested by the failure sensors: writes their rows into ops.run_failures.",
)
def record_failures_job():
    write_run_failures()


def _trigger(run: dg.DagsterRun) -> str:
    tags = run.tags
    return (
        tags.get(TRIGGER_TAG)
        or (f"schedule:{tags['dagster/schedule_name']}" if "dagster/schedule_name" in tags else None)
        or (f"sensor:{tags['dagster/sensor_name']}" if "dagster/sensor_name" in tags else None)
        or "manual"
    )


def _ts(timestamp: float | None) -> str | None:
    if not timestamp:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).replace(tzinfo=None).isoformat(sep=" ")


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(sep=" ")


def failed_check_rows(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[dict]:
    """One row per failed check evaluation of ``run`` (with the rejected files a check names)."""
    rows = []
    for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        ev = entry.dagster_event.event_specific_data
        if ev.passed:
            continue
        files_md = ev.metadata.get("rejected_files")
        files = ",".join(files_md.data) if files_md is not None and isinstance(files_md.data, list) else None
        rows.append(
            {
                "kind": "check_failure",
                "run_id": run.run_id,
                "job_name": run.job_name,
                "failed_at": _ts(entry.timestamp),
                "step_key": entry.step_key or "",
                "asset_key": ev.asset_key.to_user_string(),
                "check_name": ev.check_name,
                "severity": ev.severity.value,
                "error_message": (ev.description or "")[:4000],
                "failing_file": files or failure_log.failing_files(ev.description),
                "trigger": _trigger(run),
                "run_files": run.tags.get(FILES_TAG),
            }
        )
    return rows


def run_failure_rows(context: dg.RunFailureSensorContext) -> list[dict]:
    """One row per failed step (or one for the run when no step failed), plus its failed checks."""
    run = context.dagster_run
    rows = []
    for event in context.get_step_failure_events():
        error = event.event_specific_data.error if event.event_specific_data else None
        message = (error.message.strip() if error else event.message) or ""
        rows.append(
            {
                "kind": "run_failure",
                "run_id": run.run_id,
                "job_name": run.job_name,
                "failed_at": _ts(getattr(event, "timestamp", None)) or _now(),
                "step_key": event.step_key or "",
                "asset_key": event.asset_key.to_user_string() if event.asset_key else "",
                "check_name": "",
                "severity": "ERROR",
                "error_message": message[:4000],
                "failing_file": failure_log.failing_files(message),
                "trigger": _trigger(run),
                "run_files": run.tags.get(FILES_TAG),
            }
        )
    if not rows:
        message = (context.failure_event.message if context.failure_event else None) or "run failed"
        rows.append(
            {
                "kind": "run_failure",
                "run_id": run.run_id,
                "job_name": run.job_name,
                "failed_at": _now(),
                "severity": "ERROR",
                "error_message": message[:4000],
                "failing_file": failure_log.failing_files(message),
                "trigger": _trigger(run),
                "run_files": run.tags.get(FILES_TAG),
            }
        )
    return rows + failed_check_rows(context.instance, run)


def _record_request(run: dg.DagsterRun, rows: list[dict]) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=f"record_failures:{run.run_id}",
        run_config={"ops": {"write_run_failures": {"config": {"rows_json": json.dumps(rows, default=str)}}}},
        tags={FAILED_RUN_TAG: run.run_id},
    )


@dg.run_failure_sensor(
    name="record_run_failures",
    request_job=record_failures_job,
    default_status=SENSOR_DEFAULT_STATUS,
    description="Every failed run (step, error, failing file, failed checks) -> a record_failures run -> ops.run_failures.",
)
def record_run_failures(context: dg.RunFailureSensorContext):
    run = context.dagster_run
    if run.job_name == record_failures_job.name:
        # Never answer a failed recording with another recording (no loop); the run's own
        # failure is in the Dagster UI.
        return dg.SkipReason(f"run {run.run_id} is a {record_failures_job.name} run: not recorded")
    return _record_request(run, run_failure_rows(context))


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="record_failed_checks",
    request_job=record_failures_job,
    default_status=SENSOR_DEFAULT_STATUS,
    description="Failed checks of successful runs (a rejected landing file, a stale table) -> ops.run_failures.",
)
def record_failed_checks(context: dg.RunStatusSensorContext):
    run = context.dagster_run
    if run.job_name == record_failures_job.name:
        return dg.SkipReason(f"run {run.run_id} is a {record_failures_job.name} run")
    rows = failed_check_rows(context.instance, run)
    if not rows:
        return dg.SkipReason(f"run {run.run_id}: no failed check")
    return _record_request(run, rows)
