"""Automation: the landing sensor, schedules, declarative automation, freshness, failure log.

``definitions.py`` adds ``automation_assets``, ``automation_checks``, ``jobs``, ``schedules``
and ``sensors`` to the code location.

- ``landing_sensor``: a new or changed file in ``landing/<source>/`` (stable for two looks)
  starts ONE run of ``landing_refresh``: the ingestion of the sources concerned and
  everything downstream but the ML models (which are on schedules): the daily facts for
  the partition range of the days the files touch, the marts, the BI layer and the BI copy.
  The decisions are pure (:mod:`ecom_platform.lib.landing_watch`); this module only lists
  the folder and turns a decision into a ``RunRequest``. Its first look (empty cursor)
  starts from ``raw.ingest_log``: files already loaded (by `make run`) request nothing.
- ``daily_batch_schedule`` (05:00 UTC): ``daily_batch`` = the unpartitioned dbt models
  (marts, BI layer), the churn scores and the BI copy. ``weekly_retrain_schedule`` (Monday
  03:00 UTC): ``weekly_retrain`` = every ML model, then the BI copy. The daily facts are
  kept current by the landing sensor (partition windows) and by backfills, never rebuilt
  in full by a schedule.
- Declarative automation: the unpartitioned dbt models are eager on their inputs (set by
  the translator in defs/dbt.py), evaluated by ``default_automation_condition_sensor``.
- Freshness checks on the raw sources and the BI-facing tables, run by
  ``freshness_checks_sensor``.
- ``record_run_failures`` (every failed run) and ``record_failed_checks`` (failed checks of
  successful runs: a rejected landing file, a stale table) request a ``record_failures``
  run whose one step, in the single-writer pool, writes the rows into the warehouse table
  ``ops.run_failures`` (:mod:`ecom_platform.lib.failure_log`).
"""

import datetime as dt
import json
import warnings
from pathlib import Path

import dagster as dg

from ecom_platform.contract import (
    BI_COPY_KEY,
    BI_FACING_MARTS,
    CHURN_KEYS,
    COLUMN_METADATA_TAG,
    DASHBOARD_KEY,
    DAYS_TAG,
    FAILED_RUN_TAG,
    FILES_TAG,
    LANDING_TRIGGER,
    MODEL_METRICS_KEY,
    ON_REJECTED_TAG,
    RANGE_END_TAG,
    RANGE_START_TAG,
    RUN_FAILURES_KEY,
    SOURCES_TAG,
    TESTS_SCOPE_TAG,
    TRIGGER_TAG,
    UNIT_TESTS_TAG,
    WINDOWED_UPSTREAM_TAG,
)
from ecom_platform.defs.dbt import daily_partitions, dbt_models
from ecom_platform.defs.resources import WRITER_POOL, LandingFolder, WarehouseResource
from ecom_platform.lib import failure_log, ingest, landing_watch

# ---------------------------------------------------------------------------- settings
LANDING_SENSOR_INTERVAL_SECONDS = 15
FRESHNESS_SENSOR_INTERVAL_SECONDS = 300
AUTOMATION_SENSOR_INTERVAL_SECONDS = 30
MAX_FILES_PER_RUN = landing_watch.DEFAULT_MAX_FILES_PER_RUN
DAILY_BATCH_CRON = "0 5 * * *"
WEEKLY_RETRAIN_CRON = "0 3 * * 1"
SCHEDULE_TIMEZONE = "UTC"
# "Drop a file and everything catches up by itself": under `make dev` the daemon runs the
# sensors and schedules from the start (each can be stopped in the UI).
SENSOR_DEFAULT_STATUS = dg.DefaultSensorStatus.RUNNING
SCHEDULE_DEFAULT_STATUS = dg.DefaultScheduleStatus.RUNNING
# Freshness: a daily shop drops transactions and events at least once a day; profiles and
# the catalogue at least once a week. The BI-facing tables must be rebuilt at least daily.
SOURCE_FRESHNESS_HOURS = {"transactions": 26, "events": 26, "customers": 8 * 24, "products": 8 * 24}
BI_FRESHNESS_HOURS = 26

# ---------------------------------------------------------------------------- tags & keys

ML_GROUP = "ml"

# ---------------------------------------------------------------------------- assets
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

# ---------------------------------------------------------------------------- freshness checks
# Freshness *checks* (not the preview FreshnessPolicy): they are asset checks, so a stale
# table fails a check that the failure log records like any other.
BI_FACING_KEYS = sorted(
    {*BI_FACING_MARTS, *(k for k in dbt_models.keys if k.path[0] == "bi"), BI_COPY_KEY}, key=lambda k: k.path
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", category=dg.SupersessionWarning if hasattr(dg, "SupersessionWarning") else Warning)
    _source_checks = [
        check
        for source, hours in SOURCE_FRESHNESS_HOURS.items()
        for check in dg.build_last_update_freshness_checks(
            assets=[dg.AssetKey(["raw", source])],
            lower_bound_delta=dt.timedelta(hours=hours),
            severity=dg.AssetCheckSeverity.WARN,
        )
    ]
    _bi_checks = dg.build_last_update_freshness_checks(
        assets=BI_FACING_KEYS,
        lower_bound_delta=dt.timedelta(hours=BI_FRESHNESS_HOURS),
        severity=dg.AssetCheckSeverity.ERROR,
    )
    automation_checks = [*_source_checks, *_bi_checks]
    freshness_checks_sensor = dg.build_sensor_for_freshness_checks(
        freshness_checks=automation_checks,
        minimum_interval_seconds=FRESHNESS_SENSOR_INTERVAL_SECONDS,
        name="freshness_checks_sensor",
        default_status=SENSOR_DEFAULT_STATUS,
    )

# ---------------------------------------------------------------------------- selections & jobs
_freshness = dg.AssetSelection.checks(*automation_checks)
_ml = dg.AssetSelection.groups(ML_GROUP)
_bi_copy = dg.AssetSelection.assets(BI_COPY_KEY, DASHBOARD_KEY)
# What the landing sensor may run (it narrows it to what its files feed): every
# materializable asset but the ML models; never the freshness checks.
REFRESH_SELECTION = dg.AssetSelection.all().materializable() - _ml - _freshness
# The nightly batch: the rebuilt (unpartitioned) dbt models, the churn scores, the BI copy.
DAILY_BATCH_SELECTION = (
    dg.AssetSelection.assets(dbt_models) | dg.AssetSelection.assets(*CHURN_KEYS, MODEL_METRICS_KEY) | _bi_copy
) - _freshness
# The weekly retrain: every ML model, then a fresh BI copy and dashboard.
WEEKLY_RETRAIN_SELECTION = (_ml | _bi_copy) - _freshness

landing_refresh_job = dg.define_asset_job(
    "landing_refresh",
    selection=REFRESH_SELECTION,
    description="Run by `landing_sensor`: ingestion of the new files and everything downstream but ML.",
    tags={ON_REJECTED_TAG: "check"},
)
daily_batch_job = dg.define_asset_job(
    "daily_batch",
    selection=DAILY_BATCH_SELECTION,
    description="Nightly: the marts and BI layer (rebuilt), the churn scores, the BI copy.",
)
weekly_retrain_job = dg.define_asset_job(
    "weekly_retrain",
    selection=WEEKLY_RETRAIN_SELECTION,
    description="Weekly: retrain every ML model (each beside its baseline), then publish the BI copy.",
)

schedules = [
    dg.ScheduleDefinition(
        name="daily_batch_schedule",
        job=daily_batch_job,
        cron_schedule=DAILY_BATCH_CRON,
        execution_timezone=SCHEDULE_TIMEZONE,
        default_status=SCHEDULE_DEFAULT_STATUS,
        description="Marts, BI layer, churn scores and the BI copy every night (05:00 UTC).",
    ),
    dg.ScheduleDefinition(
        name="weekly_retrain_schedule",
        job=weekly_retrain_job,
        cron_schedule=WEEKLY_RETRAIN_CRON,
        execution_timezone=SCHEDULE_TIMEZONE,
        default_status=SCHEDULE_DEFAULT_STATUS,
        description="Retrain every ML model on Mondays (03:00 UTC), then publish the BI copy.",
    ),
]


# ---------------------------------------------------------------------------- landing sensor
def landing_listing(root: Path) -> tuple[list[landing_watch.FileStat], list[str]]:
    """What the landing folder holds now (size, mtime) and the refused paths."""
    files, refused = ingest.discover_files(root)
    listing = []
    for f in files:
        try:
            st = f.path.stat()
        except OSError:
            continue  # vanished between listing and stat
        listing.append(landing_watch.FileStat(rel=f.rel, source=f.source, size=st.st_size, mtime_ns=st.st_mtime_ns))
    return listing, refused


class WarehouseBusy(Exception):
    """The warehouse cannot be opened read-only now (a run holds its write lock)."""


def ingested_files(path: Path) -> dict[str, tuple[str, int | None]]:
    """``{file_name: (sha256, bytes)}`` of each file's latest ``raw.ingest_log`` row, read
    read-only and at once (a sensor must not wait): {} when there is no warehouse or log yet;
    :class:`WarehouseBusy` when a writer holds the file."""
    import duckdb

    if not path.exists():
        return {}
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise WarehouseBusy(
            f"first look: the warehouse is busy ({str(exc).splitlines()[0][:160]}); it is read at the next "
            "tick to learn which landing files are already loaded, so nothing is requested twice"
        ) from exc
    try:
        has_log = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name = 'ingest_log'"
        ).fetchone()[0]
        if not has_log:
            return {}
        rows = con.execute("""
            SELECT file_name, file_sha256, file_bytes FROM raw.ingest_log
            QUALIFY row_number() OVER (PARTITION BY file_name ORDER BY rowid DESC) = 1
        """).fetchall()
    finally:
        con.close()
    return {name: (sha, size) for name, sha, size in rows}


def _days_reader(root: Path):
    def file_days(rel: str, source: str) -> list[str] | None:
        try:
            return ingest.file_days(root / rel, source, rel)
        except ingest.IngestError:
            return []  # ingestion will reject it: it brings no rows, so no days
        except Exception:  # noqa: BLE001 - unknown days: the run covers every partition
            return None

    return file_days


def _partition_range(decision: landing_watch.Decision) -> tuple[str, str, str, bool]:
    """(first, last, why, covers_all) partition keys the daily facts are rebuilt for;
    ``covers_all``: every changed day is known and inside the range."""
    first, last = daily_partitions.get_first_partition_key(), daily_partitions.get_last_partition_key()
    if decision.days_unknown:
        return first, last, f"days unknown for {', '.join(decision.days_unknown[:3])}: every partition", False
    outside = [d for d in decision.days if not first <= d <= last]
    rng = landing_watch.day_range(decision.days, first, last) if decision.days else None
    if rng is None:
        # Only profiles / catalogue changed (or no day inside the partitions): rebuild the
        # latest day, whose post-hooks re-resolve the facts' dimension keys over all days.
        why = "no day-carrying rows" if not decision.days else "days outside the partitions"
        return last, last, f"{why}: latest partition only (keys re-resolved)", not outside
    why = f"{len(decision.days)} day(s) touched"
    if outside:
        why += f"; {len(outside)} outside the partitions ({daily_partitions.start:%Y-%m-%d}..{last}): not built"
    return rng[0], rng[1], why, not outside


def refresh_run_request(decision: landing_watch.Decision, asset_graph) -> dg.RunRequest:
    """One run: ingestion of the batch's sources and everything downstream in the refresh selection."""
    raw_keys = [dg.AssetKey(["raw", s]) for s in decision.sources]
    selection = dg.AssetSelection.assets(*raw_keys).downstream() & REFRESH_SELECTION
    keys = sorted((k for k in selection.resolve(asset_graph) if asset_graph.get(k).is_executable), key=lambda k: k.path)
    check_keys = sorted(selection.resolve_checks(asset_graph), key=lambda c: (c.asset_key.path, c.name))
    tags = {
        TRIGGER_TAG: LANDING_TRIGGER,
        ON_REJECTED_TAG: "check",
        COLUMN_METADATA_TAG: "off",
        UNIT_TESTS_TAG: "off",
        TESTS_SCOPE_TAG: "new_rows",
        FILES_TAG: ",".join(decision.files),
        SOURCES_TAG: ",".join(decision.sources),
    }
    if any(asset_graph.get(k).partitions_def is not None for k in keys):
        start, end, why, covers_all = _partition_range(decision)
        tags[RANGE_START_TAG] = start
        tags[RANGE_END_TAG] = end
        if covers_all:
            # every changed day is in the range: the unpartitioned dbt step may build its
            # day-windowed model over it too (else it is rebuilt in full)
            tags[WINDOWED_UPSTREAM_TAG] = "on"
        tags[DAYS_TAG] = f"{start}..{end} ({why})"
    return dg.RunRequest(run_key=decision.run_key, asset_selection=keys, asset_check_keys=check_keys, tags=tags)


@dg.sensor(
    name="landing_sensor",
    job=landing_refresh_job,
    minimum_interval_seconds=LANDING_SENSOR_INTERVAL_SECONDS,
    default_status=SENSOR_DEFAULT_STATUS,
    description=(
        "New or changed files in the landing folder (stable for two looks) -> one run of their ingestion "
        "and everything downstream but ML, the daily facts over the days the files touch. JSON cursor; "
        "run key = file + sha256 (batch: hash of the sorted pairs)."
    ),
)
def landing_sensor(
    context: dg.SensorEvaluationContext, landing: LandingFolder, warehouse: WarehouseResource
) -> dg.SensorResult:
    root = landing.root
    listing, refused = landing_listing(root)
    for msg in refused:
        context.log.warning(msg)
    known = None
    cursor = landing_watch.load_cursor(context.cursor)
    if not cursor["files"] and not cursor["looks"]:
        # the first look starts from what ingestion already took (after `make run`: everything)
        try:
            known = ingested_files(Path(warehouse.path))
        except WarehouseBusy as exc:
            return dg.SensorResult(skip_reason=str(exc), cursor=context.cursor)
    decision = landing_watch.decide(
        context.cursor,
        listing,
        hash_file=lambda rel: ingest.sha256_of(root / rel),
        file_days=_days_reader(root),
        refused=refused,
        max_files=MAX_FILES_PER_RUN,
        known=known,
    )
    if not decision.ready:
        return dg.SensorResult(skip_reason=decision.skip_reason, cursor=decision.cursor)
    request = refresh_run_request(decision, context.repository_def.asset_graph)
    context.log.info(
        f"{len(decision.ready)} file(s) ready ({', '.join(decision.files[:5])}"
        f"{' ...' if len(decision.files) > 5 else ''}); run key {decision.run_key}; "
        f"{request.tags.get(DAYS_TAG, 'no partitioned asset')}"
    )
    if decision.waiting or decision.deferred:
        context.log.info(f"{len(decision.waiting)} waiting, {len(decision.deferred)} deferred to the next tick")
    return dg.SensorResult(run_requests=[request], cursor=decision.cursor)


# ---------------------------------------------------------------------------- declarative automation
default_automation_condition_sensor = dg.AutomationConditionSensorDefinition(
    "default_automation_condition_sensor",
    target=dg.AssetSelection.all(),
    minimum_interval_seconds=AUTOMATION_SENSOR_INTERVAL_SECONDS,
    default_status=SENSOR_DEFAULT_STATUS,
    description="Evaluates the assets' automation conditions (the eager dbt models) every 30 s.",
)


# ---------------------------------------------------------------------------- failure log
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


jobs = [landing_refresh_job, daily_batch_job, weekly_retrain_job, record_failures_job]


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


sensors = [
    landing_sensor,
    default_automation_condition_sensor,
    freshness_checks_sensor,
    record_run_failures,
    record_failed_checks,
]
