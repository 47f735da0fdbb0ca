"""BI serving assets: the published read-only copy and the dashboard (thin wrappers).

- ``bi_copy/warehouse``: :func:`ecom_platform.lib.publish.publish_bi_copy` — every ``bi.*``
  table plus the ML outputs that exist, as a new versioned DuckDB file (+ Parquet),
  swapped in atomically at ``<bi_dir>/ecom_bi.duckdb``. Runs in the single-writer pool:
  it reads the live warehouse, so no other step may write it meanwhile.
- ``bi_copy/dashboard``: :func:`ecom_platform.lib.dashboard.build_dashboard` — the Product
  Sales Dashboard as one self-contained HTML file, built from the published copy only.
"""

from pathlib import Path

import dagster as dg

from ecom_platform.config import ConfigError, Settings
from ecom_platform.contract import BI_COPY_KEY, DASHBOARD_KEY, MODEL_METRICS_KEY
from ecom_platform.defs.resources import WRITER_POOL, WarehouseResource
from ecom_platform.lib import dashboard as dashboard_lib
from ecom_platform.lib import publish as publish_lib

GROUP = "bi"

# The contracted dbt bi models (aliases = table names; asset keys ["bi", <name>]).
BI_TABLES = (
    "sales_daily",
    "customer_rfm",
    "rfm_segments",
    "product_bestsellers",
    "product_sales_weekly",
    "product_trending",
    "category_price_stats",
    "category_popularity",
    "funnel_conversion",
    "cohort_retention",
    "sales_country_daily",
    "sales_category_daily",
    "user_engagement",
    "user_top_category_brand",
)


def _bi_model_keys() -> list[dg.AssetKey]:
    """Every dbt model in schema `bi` (from the prepared manifest) plus the contracted list."""
    from ecom_platform.defs.dbt import dbt_models

    keys = {k for k in dbt_models.keys if k.path[0] == "bi"} | {dg.AssetKey(["bi", t]) for t in BI_TABLES}
    return sorted(keys, key=lambda k: k.path)


def _upstream_keys() -> list[dg.AssetKey]:
    """The bi models, and the ML model runs rather than their tables: a model that is not
    published this run skips its tables, and the BI copy must still publish everything else
    (with the last published version of that model's tables, if any, and its reason in
    ml.model_status)."""
    from ecom_platform.defs.ml import MODEL_RUN_KEYS

    return _bi_model_keys() + [*MODEL_RUN_KEYS, MODEL_METRICS_KEY]


UPSTREAM_KEYS = _upstream_keys()


def _md_tables(summary: dict) -> str:
    pseudo = summary.get("pseudonymised_columns", {})
    lines = ["| table | rows | pseudonymised columns |", "|---|---:|---|"]
    for t in summary["tables"]:
        lines.append(f"| {t} | {summary['rows'][t]:,} | {', '.join(pseudo.get(t, [])) or '–'} |")
    for t in summary.get("missing_ml_tables", []):
        lines.append(f"| {t} | not published (see ml.model_status) | |")
    return "\n".join(lines)


@dg.asset(
    key=BI_COPY_KEY,
    group_name=GROUP,
    pool=WRITER_POOL,
    kinds={"duckdb", "parquet"},
    deps=UPSTREAM_KEYS,
    description=(
        "Read-only copy of the BI-facing tables (every `bi.*` table and the `ml.*` outputs that exist) "
        "for BI tools, published as a new version and swapped in atomically at `<bi_dir>/ecom_bi.duckdb` "
        "(+ Parquet per table). Personal-data denylist enforced; customer ids pseudonymised with "
        "HMAC-SHA256 when ECOM_BI_PSEUDONYM_KEY is set (required in staging and prod). See docs/bi.md."
    ),
)
def bi_copy(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, settings: dg.ResourceParam[Settings]
) -> dg.MaterializeResult:
    # Staging and prod refuse to publish real customer ids: fail before anything is built.
    try:
        key = settings.bi_pseudonym_key_for_publish()
    except ConfigError as e:
        raise dg.Failure(description=str(e), allow_retries=False) from e
    summary = publish_lib.publish_bi_copy(
        warehouse.path,
        settings.bi_dir,
        pseudonym_key=key,
        progress=context.log.info,
        source_label=publish_lib.relative_source_label(Path(warehouse.path), settings.data_dir),
    )
    for t in summary["missing_ml_tables"]:
        context.log.warning(f"{t} is not published (its model has not published yet; see ml.model_status)")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(summary["path"]),
            "version": summary["version"],
            "version_path": dg.MetadataValue.path(summary["version_path"]),
            "parquet_dir": dg.MetadataValue.path(summary["parquet_dir"]),
            "manifest": dg.MetadataValue.path(summary["manifest"]),
            "tables": dg.MetadataValue.md(_md_tables(summary)),
            "table_count": len(summary["tables"]),
            "row_counts": dg.MetadataValue.json(summary["rows"]),
            "dagster/row_count": int(sum(summary["rows"].values())),
            "missing_ml_tables": dg.MetadataValue.json(summary["missing_ml_tables"]),
            "ml_tables_not_yet_available": ", ".join(summary["missing_ml_tables"]) or "none",
            "derived_tables_not_built": dg.MetadataValue.json(summary["derived_tables_not_built"]),
            "pseudonymised": summary["pseudonymised"],
            "pseudonymised_columns": dg.MetadataValue.json(summary["pseudonymised_columns"]),
            "versions_pruned": dg.MetadataValue.json(summary["pruned"]),
            "versions_kept_in_use": dg.MetadataValue.json(summary["kept_in_use"]),
            "seconds": summary["seconds"],
        }
    )


@dg.asset(
    key=DASHBOARD_KEY,
    group_name=GROUP,
    deps=[BI_COPY_KEY],
    kinds={"html"},
    description=(
        "The Product Sales Dashboard: one self-contained HTML file (plotly.js and the data inlined, no "
        "network) built from the published BI copy, written to `<bi_dir>/dashboard.html`: date, country, "
        "category and period filters, KPI cards against the previous period and a year earlier, the "
        "customers at risk, stock to reorder and a customer look-up. Panels without data say why."
    ),
)
def dashboard(context: dg.AssetExecutionContext, settings: dg.ResourceParam[Settings]) -> dg.MaterializeResult:
    out = settings.bi_dir / "dashboard.html"
    result = dashboard_lib.build_dashboard(publish_lib.stable_path(settings.bi_dir), out)
    for name, reason in result["missing"].items():
        context.log.info(f"panel {name}: {reason}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(result["path"]),
            "bi_version": result["version"] or "unknown",
            "charts": dg.MetadataValue.json(result["charts"]),
            "chart_count": len(result["charts"]),
            "panels_not_yet_available": dg.MetadataValue.json(result["missing"]),
            "bytes": result["bytes"],
            "data_bytes": result["data_bytes"],
            "seconds": result["seconds"],
        }
    )


bi_assets = [bi_copy, dashboard]
