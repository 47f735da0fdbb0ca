"""Dagster resources: thin handles on the warehouse file and the landing folder."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from ecom_platform.config import Settings
from ecom_platform.contract import DUCKDB_MEMORY_DEFAULT, ML_MAX_CUSTOMERS_DEFAULT
from ecom_platform.lib import run_liveness, warehouse

# Every step that writes the DuckDB file runs in this pool; dagster.yaml limits it to 1.
WRITER_POOL = "duckdb_writer"


class WarehouseResource(dg.ConfigurableResource):
    """The live DuckDB warehouse (one writer at a time)."""

    path: str
    memory_limit: str = DUCKDB_MEMORY_DEFAULT
    threads: int | None = None
    # a process holding the file (a BI tool on the live warehouse) delays a writer this long
    lock_wait_seconds: float = 300.0
    # what dbt builds on (ECOM_ENGINE): on `spark` this file stays the ingestion ledger and
    # the serving copy, and Spark's folder (ECOM_SPARK_DIR) holds the raw Parquet and its tables
    engine: str = "duckdb"
    spark_dir: str = ""

    @property
    def on_spark(self) -> bool:
        return self.engine == "spark"

    @property
    def spark_raw_dir(self) -> Path:
        return Path(self.spark_dir) / "raw"

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # This process executes the run's writing steps: mark it alive for as long as it
        # lives, so a run killed mid-write is found and its writer slot released (defs/runs.py).
        run_id = context.run.run_id if context.run else None
        if context.instance is not None and run_id:
            from ecom_platform.defs.runs import liveness_folder

            run_liveness.hold(liveness_folder(context.instance), run_id)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if context.run:
            run_liveness.release(context.run.run_id)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with warehouse.connection(
            self.path,
            read_only=read_only,
            memory_limit=self.memory_limit,
            threads=self.threads,
            lock_wait_seconds=self.lock_wait_seconds,
            log=dg.get_dagster_logger().warning,
        ) as con:
            yield con


class MLSettings(dg.ConfigurableResource):
    """What the ML assets need beyond the warehouse."""

    # the churn, segmentation and recommendation models train on at most this many
    # customers (the smallest customer_key first) and score the rest in chunks of this size
    max_customers: int = ML_MAX_CUSTOMERS_DEFAULT


class LandingFolder(dg.ConfigurableResource):
    """Where source files arrive (a local folder; an object-store resource can replace it)."""

    path: str

    @property
    def root(self) -> Path:
        return Path(self.path)


def build_resources(settings: Settings, dbt_resource) -> dict:
    return {
        "warehouse": WarehouseResource(
            path=str(settings.warehouse_path),
            memory_limit=settings.duckdb_memory_limit,
            threads=settings.duckdb_threads,
            lock_wait_seconds=settings.lock_wait_seconds,
            engine=settings.engine,
            spark_dir=str(settings.spark_root),
        ),
        "landing": LandingFolder(path=str(settings.landing_dir)),
        "ml": MLSettings(max_customers=settings.ml_max_customers),
        "dbt": dbt_resource,
        # the whole settings object, for what no resource above carries (the ingestion's
        # range rules, the BI folder and pseudonym key): never read from the environment
        # inside an asset
        "settings": settings,
    }
