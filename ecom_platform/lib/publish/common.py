"""The BI copy's names and layout, its errors, and SQL quoting."""

from __future__ import annotations

from dataclasses import dataclass, field

from ecom_platform.lib.warehouse import sql_ident, sql_literal

BI_SCHEMA = "bi"


ML_SCHEMA = "ml"


META_SCHEMA = "meta"


ML_TABLES = (
    "churn_scores",
    "customer_segments",
    "segment_profiles",
    "demand_forecast",
    "forecast_backtest",
    "product_recommendations",
    "frequently_bought_together",
    "model_metrics",
    "model_status",
)


DB_NAME = "ecom_bi.duckdb"  # not "bi.duckdb": its catalog would clash with schema `bi`


MANIFEST_NAME = "manifest.json"


PARQUET_DIR = "parquet"


VERSIONS_DIR = "versions"


CURRENT_LINK = "current"


DEFAULT_KEEP = 3


# Never fewer than 2: the previous version must survive a prune for a reader that resolved
# `current` just before the swap but has not taken its DuckDB lock yet (pruning sees locks only).
MIN_KEEP = 2


# Written in the storage format of DuckDB 1.0 so BI drivers that embed an older DuckDB (ODBC,
# JDBC for Metabase, Node for Evidence, duckdb_engine on an older duckdb) can open it. DuckDB 2.0
# would otherwise write its newest format, which no 1.x reader opens. None = newest format.
DEFAULT_STORAGE_VERSION = "v1.0.0"


class PublishError(RuntimeError):
    """The BI copy could not be published; the current version is unchanged."""


class PersonalDataError(PublishError):
    """A column name matches the personal-data denylist."""


@dataclass
class _Table:
    schema: str
    name: str
    columns: list[tuple[str, str]]  # (name, duckdb type)
    id_columns: list[str] = field(default_factory=list)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


_q = sql_ident
_lit = sql_literal
