"""What a dbt step does around dbt when the engine is Spark (``ECOM_ENGINE=spark``).

Before dbt: the raw Parquet folders are brought up to date with ``raw.*`` (a no-op when
ingestion already did it; it catches up after a crash or an engine switch). After dbt:
the tables the step built in the served schemas are brought into the DuckDB file, so the
row counts, the Python checks, ML and the BI copy read what Spark built.
"""

from collections.abc import Callable, Iterable

import dagster as dg
from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets

from ecom_platform.defs.resources import WarehouseResource
from ecom_platform.lib import ingest
from ecom_platform.lib.engine import raw_parquet, spark_tables


def sync_raw(warehouse: WarehouseResource, log: Callable[[str], None]) -> None:
    # a step with no upstream (the seeds) may run before ingestion created raw.*: Spark then
    # gets the sources' columns without rows
    with warehouse.connect() as con:
        ingest.ensure_raw_schema(con)
        result = raw_parquet.sync(con, warehouse.spark_raw_dir)
    log(f"raw Parquet for Spark under {warehouse.spark_raw_dir}: {result.summary()}")


def pull_built_tables(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, keys: Iterable[dg.AssetKey]
) -> dict[tuple[str, str], int]:
    """Bring the step's built tables of the served schemas from Spark into the DuckDB file."""
    tables = sorted({tuple(k.path) for k in keys if len(k.path) == 2 and k.path[0] in spark_tables.SERVED_SCHEMAS})
    if not tables:
        return {}
    manifest, _, _ = get_manifest_and_translator_from_dbt_assets([context.assets_def])
    with warehouse.connect() as con:
        rows = spark_tables.pull(con, warehouse.spark_dir, tables, spark_tables.described_from_manifest(manifest))
    context.log.info(f"{len(rows)} table(s) built on Spark copied into {warehouse.path}")
    return rows
