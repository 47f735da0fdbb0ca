"""Ingestion assets: landing files -> raw.* (thin wrappers around lib.ingest).

A file that cannot be ingested at all is logged as ``rejected`` (every other file of the
run stays committed). What happens next depends on who started the run:

- by hand / ``make run`` (no tag): the materialization of what was committed and every
  check (``no_rejected_files`` failing with the file and the reason) are recorded, then the
  asset fails with the file and the reason, so the run fails clearly and nothing
  downstream runs;
- by the landing sensor (tag ``ecom/on_rejected_file=check``): the materialization is
  recorded and the non-blocking ERROR check ``no_rejected_files`` fails with the file and the
  reason, so the good files of the same batch still flow downstream; the failure-log sensor
  records the failed check in ``ops.run_failures``.
"""

import dagster as dg

from ecom_platform.config import Settings
from ecom_platform.contract import (
    FILES_TAG,
    ON_REJECTED_TAG,
    TESTS_SCOPE_TAG,
    WINDOW_END_TAG,
    WINDOW_START_TAG,
    landing_key,
    raw_key,
)
from ecom_platform.defs.resources import WRITER_POOL, LandingFolder, WarehouseResource
from ecom_platform.lib import checks, ingest, stability
from ecom_platform.lib.engine import raw_parquet
from ecom_platform.lib.schemas import SOURCES

GROUP = "ingestion"


def _days_by_file(con, source: str, names: list[str]) -> dict[str, set[str]]:
    """Business days of the rows currently in raw.<source>, per landing file name."""
    col = SOURCES[source].date_column
    if not col or not names:
        return {}
    rows = con.execute(
        f'SELECT DISTINCT _source_file, CAST("{col}" AS DATE) FROM {SOURCES[source].table} '
        f'WHERE _source_file IN (SELECT unnest(?)) AND "{col}" IS NOT NULL',
        [names],
    ).fetchall()
    out: dict[str, set[str]] = {}
    for name, day in rows:
        out.setdefault(name, set()).add(day.isoformat())
    return out


def _run_window(tags) -> tuple[str, str] | None:
    """(first, last) day of the run's day window, from its tags; None: every day is rebuilt."""
    if tags.get(WINDOW_START_TAG) and tags.get(WINDOW_END_TAG):
        return tags[WINDOW_START_TAG], tags[WINDOW_END_TAG]
    return None


def _days_summary(days: set[str]) -> dict:
    ordered = sorted(days)
    out = {"count": len(ordered), "first": ordered[0] if ordered else None, "last": ordered[-1] if ordered else None}
    if len(ordered) <= 62:
        out["days"] = ordered
    return out


def _md_files(results: list[ingest.FileResult]) -> str:
    lines = ["| file | status | accepted | quarantined | seconds | note |", "|---|---|---:|---:|---:|---|"]
    for r in results[:200]:
        note = r.note.replace("|", "\\|")[:160]
        lines.append(
            f"| {r.file_name} | {r.status} | {r.rows_accepted:,} | {r.rows_rejected:,} | {r.seconds:.1f} | {note} |"
        )
    if len(results) > 200:
        lines.append(f"| … {len(results) - 200} more | | | | | |")
    return "\n".join(lines)


LANDING_GROUP = "landing"


def build_landing_spec(source: str) -> dg.AssetSpec:
    """The landing files of one source: external (dropped by the shop, never materialized here)."""
    return dg.AssetSpec(
        key=landing_key(source),
        group_name=LANDING_GROUP,
        kinds={"file"},
        description=(
            f"Landing files of `raw.{source}`: `<landing folder>/{source}/**/*` "
            f"({', '.join('*' + s for s in ingest.SUPPORTED_SUFFIXES)}; names starting with `.` or `_` "
            f"and {', '.join('*' + s for s in ingest.IGNORED_SUFFIXES)} are ignored). The landing folder is "
            "`ECOM_LANDING` (default `data/landing/`). Files are dropped by the shop and never changed here; "
            "`landing_sensor` watches the folder."
        ),
    )


def build_ingestion_asset(source: str) -> dg.AssetsDefinition:
    src = SOURCES[source]

    @dg.asset(
        key=raw_key(source),
        deps=[landing_key(source)],
        group_name=GROUP,
        pool=WRITER_POOL,
        kinds={"python", "duckdb"},
        description=(
            f"Bronze table `{src.table}`: every file under `landing/{source}/` typed and validated, "
            "with lineage columns. Bad rows go to `raw.quarantine`, one `raw.ingest_log` row per file."
        ),
        check_specs=[
            dg.AssetCheckSpec("required_columns_not_null", asset=raw_key(source), blocking=True),
            dg.AssetCheckSpec("unique_lineage_key", asset=raw_key(source), blocking=True),
            dg.AssetCheckSpec("quarantine_rate_below_threshold", asset=raw_key(source)),
            dg.AssetCheckSpec(
                "no_rejected_files",
                asset=raw_key(source),
                description="No landing file of this source was rejected whole (ERROR if one was this run; "
                "WARN while a file rejected earlier is still in the folder).",
            ),
        ],
    )
    def _ingest(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        landing: LandingFolder,
        settings: dg.ResourceParam[Settings],
    ):
        tags = context.run.tags if context.run else {}
        paths = tags.get(FILES_TAG)
        with warehouse.connect() as con:
            ingest.ensure_raw_schema(con)
            files, refused = ingest.discover_files(landing.root, [source])
            if paths:
                # A sensor named the files of this run; ingest only those (still checked for safety).
                wanted = set(paths.split(","))
                files = [f for f in files if f.rel in wanted]
            # The same rule as the sensor's, whoever started the run: a file still being
            # written (modified within seconds, or changing while we look) waits for the next run.
            files, still_writing = stability.split_stable(files, lambda f: f.path, log=context.log.warning)
            # Days held by the versions about to be replaced (a corrected file may drop days).
            days_before = _days_by_file(con, source, [f.rel for f in files])
            results, _ = ingest.ingest_source(
                con,
                landing.root,
                source,
                context.run.run_id,
                files=files,
                progress=context.log.info,
                ranges=settings.ingest_ranges,
            )
            summary = ingest.summarise(results)
            changed = [r.file_name for r in results if r.status in ("loaded", "replaced")]
            days_touched: set[str] = set()
            for days in _days_by_file(con, source, changed).values():
                days_touched |= days
            for r in results:
                if r.status == "replaced":
                    days_touched |= days_before.get(r.file_name, set())
            total = con.execute(f"SELECT count(*) FROM {src.table}").fetchone()[0]
            outcomes = [
                checks.required_not_null(con, source),
                # a landing-sensor run checks the keys of the files it loaded (the rest were
                # checked when they arrived); every other run checks the whole table
                checks.unique_lineage_key(
                    con, source, context.run.run_id if tags.get(TESTS_SCOPE_TAG) == "new_rows" else None
                ),
                checks.quarantine_rate(con, source, settings.max_quarantine_rate),
            ]
            # Spark reads the accepted rows from one Parquet file per landing file
            synced = raw_parquet.sync(con, warehouse.spark_raw_dir, [source]) if warehouse.on_spark else None
        for msg in refused:
            context.log.warning(msg)
        for f in still_writing:
            context.log.warning(
                f"{f.rel}: still being written (its size or time changed while we looked); "
                "not loaded now, the next run or the landing sensor loads it once complete"
            )
        rejected = [r for r in results if r.status == "rejected"]
        metadata = {
            "dagster/row_count": int(total),
            "files_seen": summary["files"],
            "files_loaded": summary["files_loaded"] + summary["files_replaced"],
            "files_skipped_unchanged": summary["files_skipped"],
            "files_rejected": summary["files_rejected"],
            "files_rejected_earlier_still_present": summary["files_pending_rejected"],
            "rows_read_this_run": summary["rows_read"],
            "rows_accepted_this_run": summary["rows_accepted"],
            "rows_quarantined_this_run": summary["rows_rejected"],
            "top_quarantine_reasons": dg.MetadataValue.json(summary["top_reasons"]),
            "files": dg.MetadataValue.md(_md_files(results)),
            "paths_refused": dg.MetadataValue.json(refused),
            "files_still_being_written": dg.MetadataValue.json([f.rel for f in still_writing]),
            "days_touched": dg.MetadataValue.json(_days_summary(days_touched)),
        }
        if synced is not None:
            metadata["spark_raw_parquet"] = dg.MetadataValue.text(
                f"{warehouse.spark_raw_dir / source}: {synced.summary()}"
            )
        window = _run_window(tags)
        if window and days_touched:
            outside = sorted(d for d in days_touched if not window[0] <= d <= window[1])
            metadata["days_outside_run_window"] = dg.MetadataValue.json(outside)
            if outside:
                context.log.warning(
                    f"{len(outside)} day(s) changed outside this run's day window {window[0]}..{window[1]} "
                    f"({', '.join(outside[:10])}{' ...' if len(outside) > 10 else ''}): rebuild those days "
                    f"(a run tagged {WINDOW_START_TAG} / {WINDOW_END_TAG}, see docs/automation.md) or wait "
                    "for the nightly daily_batch, which rebuilds every dbt model"
                )
        yield dg.MaterializeResult(metadata=metadata)
        pending = [r for r in results if r.status == "pending_rejected"]
        if rejected:
            for r in rejected:
                context.log.error(f"rejected: {r.error or r.file_name}")
            yield dg.AssetCheckResult(
                check_name="no_rejected_files",
                passed=False,
                severity=dg.AssetCheckSeverity.ERROR,
                description="; ".join(r.error or r.file_name for r in rejected)[:2000],
                metadata={
                    "rejected_files": dg.MetadataValue.json([r.file_name for r in rejected]),
                    "errors": dg.MetadataValue.json({r.file_name: r.error for r in rejected}),
                },
            )
        else:
            yield dg.AssetCheckResult(
                check_name="no_rejected_files",
                passed=not pending,
                severity=dg.AssetCheckSeverity.WARN,
                description=(
                    f"{len(pending)} file(s) rejected earlier are still in the landing folder (not retried): "
                    + ", ".join(r.file_name for r in pending[:10])
                )
                if pending
                else "no file rejected",
                metadata={"rejected_earlier_still_present": dg.MetadataValue.json([r.file_name for r in pending])},
            )
        for name, outcome in zip(
            ("required_columns_not_null", "unique_lineage_key", "quarantine_rate_below_threshold"), outcomes
        ):
            yield dg.AssetCheckResult(
                check_name=name,
                passed=outcome.passed,
                description=outcome.description,
                metadata=outcome.metadata,
                severity=dg.AssetCheckSeverity.ERROR
                if name != "quarantine_rate_below_threshold"
                else dg.AssetCheckSeverity.WARN,
            )
        if rejected and tags.get(ON_REJECTED_TAG) != "check":
            # What this run committed is recorded above (materialization and checks); now
            # fail loudly so nobody misses the rejected file, and nothing downstream runs.
            raise dg.Failure(
                description="; ".join(r.error or r.file_name for r in rejected),
                metadata={"rejected_files": dg.MetadataValue.json([r.file_name for r in rejected])},
            )

    return _ingest


ingestion_assets = [build_ingestion_asset(s) for s in SOURCES]

# The lineage starts at the landing files: one external spec per source, upstream of raw/<source>.
landing_specs = [build_landing_spec(s) for s in SOURCES]

# Written by every ingestion asset as a side effect; declared so the dbt sources over
# them resolve to something described in the UI.
audit_specs = [
    dg.AssetSpec(
        key=["raw", "ingest_log"],
        group_name=GROUP,
        kinds={"duckdb"},
        description="One row per landing file attempt: sha256, rows read / accepted / rejected, status, error, run id.",
        deps=[a.key for a in ingestion_assets],
    ),
    dg.AssetSpec(
        key=["raw", "quarantine"],
        group_name=GROUP,
        kinds={"duckdb"},
        description="Rows rejected by ingestion, with the raw text and the reason.",
        deps=[a.key for a in ingestion_assets],
    ),
]
