"""The landing sensor: a new or changed landing file starts one landing_refresh run; the eager models' sensor."""

import datetime as dt
from pathlib import Path

import dagster as dg

from ecom_platform.contract import (
    COLUMN_METADATA_TAG,
    DAYS_TAG,
    FILES_TAG,
    LANDING_TRIGGER,
    ON_REJECTED_TAG,
    SOURCES_TAG,
    TESTS_SCOPE_TAG,
    TRIGGER_TAG,
    UNIT_TESTS_TAG,
    WINDOW_END_TAG,
    WINDOW_START_TAG,
    WINDOWED_MARTS_TAG,
    raw_key,
)
from ecom_platform.defs.automation.selections import REFRESH_SELECTION, landing_refresh_job
from ecom_platform.defs.automation.settings import (
    AUTOMATION_SENSOR_INTERVAL_SECONDS,
    LANDING_SENSOR_INTERVAL_SECONDS,
    MAX_FILES_PER_RUN,
    SENSOR_DEFAULT_STATUS,
)
from ecom_platform.defs.resources import LandingFolder, WarehouseResource
from ecom_platform.lib import ingest, landing_watch


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
        except Exception:  # noqa: BLE001 - unknown days: the run rebuilds every day
            return None

    return file_days


def run_days(decision: landing_watch.Decision) -> tuple[str, str, str] | None:
    """(first, last, why): the day window the run's dbt build recomputes, or None when a
    file's days are unknown (the run rebuilds every day)."""
    if decision.days_unknown:
        return None
    if not decision.days:
        # Only profiles / catalogue changed: the latest day (today, UTC) is built, whose
        # post-hooks re-resolve the facts' dimension keys over every day.
        latest = dt.datetime.now(dt.UTC).date().isoformat()
        return latest, latest, "no day-carrying rows: today only (keys re-resolved)"
    return min(decision.days), max(decision.days), f"{len(decision.days)} day(s) touched"


def refresh_run_request(decision: landing_watch.Decision, asset_graph) -> dg.RunRequest:
    """One run: ingestion of the batch's sources and everything downstream in the refresh selection."""
    raw_keys = [raw_key(s) for s in decision.sources]
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
    days = run_days(decision)
    if days is None:
        tags[DAYS_TAG] = f"all (days unknown for {', '.join(decision.days_unknown[:3])})"
    else:
        start, end, why = days
        tags[WINDOW_START_TAG], tags[WINDOW_END_TAG] = start, end
        if all(ingest.SOURCES[s].date_column is not None for s in decision.sources):
            # only day-carrying files: the incremental marts may rebuild just these days
            tags[WINDOWED_MARTS_TAG] = "on"
        tags[DAYS_TAG] = f"{start}..{end} ({why})"
    return dg.RunRequest(run_key=decision.run_key, asset_selection=keys, asset_check_keys=check_keys, tags=tags)


@dg.sensor(
    name="landing_sensor",
    job=landing_refresh_job,
    minimum_interval_seconds=LANDING_SENSOR_INTERVAL_SECONDS,
    default_status=SENSOR_DEFAULT_STATUS,
    description=(
        "New or changed files in the landing folder (stable for two looks) -> one run of their ingestion "
        "and everything downstream but ML, the incremental models over the days the files touch. JSON cursor; "
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
        f"days {request.tags[DAYS_TAG]}"
    )
    if decision.waiting or decision.deferred:
        context.log.info(f"{len(decision.waiting)} waiting, {len(decision.deferred)} deferred to the next tick")
    return dg.SensorResult(run_requests=[request], cursor=decision.cursor)


default_automation_condition_sensor = dg.AutomationConditionSensorDefinition(
    "default_automation_condition_sensor",
    target=dg.AssetSelection.all(),
    minimum_interval_seconds=AUTOMATION_SENSOR_INTERVAL_SECONDS,
    default_status=SENSOR_DEFAULT_STATUS,
    description="Evaluates the assets' automation conditions (the eager dbt models) every 30 s.",
)
