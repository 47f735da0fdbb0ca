"""Dagster resources: thin handles on the warehouse file and the landing folder."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb

from ecom_platform.config import Settings
from ecom_platform.lib import warehouse

# Every step that writes the DuckDB file runs in this pool; dagster.yaml limits it to 1.
WRITER_POOL = "duckdb_writer"


class WarehouseResource(dg.ConfigurableResource):
    """The live DuckDB warehouse (one writer at a time)."""

    path: str
    memory_limit: str = "4GB"
    threads: int | None = None

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with warehouse.connection(
            self.path, read_only=read_only, memory_limit=self.memory_limit, threads=self.threads
        ) as con:
            yield con


class MLSettings(dg.ConfigurableResource):
    """What the ML assets need beyond the warehouse."""

    # the churn, segmentation and recommendation models train on at most this many
    # customers (the smallest customer_key first) and score the rest in chunks of this size
    max_customers: int = 50_000


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
        ),
        "landing": LandingFolder(path=str(settings.landing_dir)),
        "ml": MLSettings(max_customers=settings.ml_max_customers),
        "dbt": dbt_resource,
    }
