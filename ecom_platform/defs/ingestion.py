"""Ingestion assets: landing files -> raw.* (thin wrappers around lib.ingest)."""


import dagster as dg

from ecom_platform.config import get_settings
from ecom_platform.defs.resources import WRITER_POOL, LandingFolder, WarehouseResource
from ecom_platform.lib import checks, ingest
from ecom_platform.lib.schemas import SOURCES

GROUP = "ingestion"


def _md_files(results: list[ingest.FileResult]) -> str:
    lines = ["| file | status | accepted | quarantined | seconds | note |", "|---|---|---:|---:|---:|---|"]
    for r in results[:200]:
        note = (r.error or "").replace("|", "\\|")[:160]
        lines.append(
            f"| {r.file_name} | {r.status} | {r.rows_accepted:,} | {r.rows_rejected:,} | {r.seconds:.1f} | {note} |"
        )
    if len(results) > 200:
        lines.append(f"| … {len(results) - 200} more | | | | | |")
    return "\n".join(lines)


def build_ingestion_asset(source: str) -> dg.AssetsDefinition:
    src = SOURCES[source]

    @dg.asset(
        key=["raw", source],
        group_name=GROUP,
        pool=WRITER_POOL,
        kinds={"python", "duckdb"},
        description=(
            f"Bronze table `{src.table}`: every file under `landing/{source}/` typed and validated, "
            "with lineage columns. Bad rows go to `raw.quarantine`, one `raw.ingest_log` row per file."
        ),
        check_specs=[
            dg.AssetCheckSpec("required_columns_not_null", asset=["raw", source], blocking=True),
            dg.AssetCheckSpec("unique_lineage_key", asset=["raw", source], blocking=True),
            dg.AssetCheckSpec("quarantine_rate_below_threshold", asset=["raw", source]),
        ],
    )
    def _ingest(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, landing: LandingFolder
    ):
        files = None
        paths = context.run.tags.get("ecom/files") if context.run else None
        with warehouse.connect() as con:
            ingest.ensure_raw_schema(con)
            if paths:
                # A sensor named the files of this run; ingest only those (still checked for safety).
                wanted = set(paths.split(","))
                found, refused = ingest.discover_files(landing.root, [source])
                files = [f for f in found if f.rel in wanted]
            results, refused = ingest.ingest_source(
                con, landing.root, source, context.run_id, files=files, progress=context.log.info
            )
            summary = ingest.summarise(results)
            total = con.execute(f"SELECT count(*) FROM {src.table}").fetchone()[0]
            outcomes = [
                checks.required_not_null(con, source),
                checks.unique_lineage_key(con, source),
                checks.quarantine_rate(con, source, get_settings().max_quarantine_rate),
            ]
        for msg in refused:
            context.log.warning(msg)
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
        }
        if rejected:
            # Everything else of this run is committed; fail loudly so nobody misses it.
            raise dg.Failure(
                description="; ".join(r.error or r.file_name for r in rejected),
                metadata=metadata,
            )
        yield dg.MaterializeResult(metadata=metadata)
        for name, outcome in zip(
            ("required_columns_not_null", "unique_lineage_key", "quarantine_rate_below_threshold"), outcomes
        ):
            yield dg.AssetCheckResult(
                check_name=name,
                passed=outcome.passed,
                description=outcome.description,
                metadata=outcome.metadata,
                severity=dg.AssetCheckSeverity.ERROR if name != "quarantine_rate_below_threshold" else dg.AssetCheckSeverity.WARN,
            )

    return _ingest


ingestion_assets = [build_ingestion_asset(s) for s in SOURCES]

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
