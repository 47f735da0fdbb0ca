"""The tables dbt built on Spark, brought into the DuckDB file for ML, the BI copy and the dashboard.

Spark's tables are Parquet under its warehouse folder, ``<spark>/warehouse/<schema>.db/<table>/``
(partitioned ones in ``<column>=<value>/`` folders). Once dbt has exited, each table a step
built is read by DuckDB's Parquet reader (Arrow columns, no JVM) and replaces the table of
the same name in the DuckDB file, with its dbt description and column descriptions as
comments (Spark keeps no column comments on Parquet tables). A partitioned table's columns
and types come from the schema file (no rows) a post-hook writes after each build
(``dbt_project/macros/spark_engine.sql``, ``spark_schema_file``): its partition columns live
in folder names, and with no rows it has no data file at all.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ecom_platform.lib.warehouse import sql_ident, sql_literal

# the schemas whose tables are brought back (what ML, the BI copy and the dashboard read)
SERVED_SCHEMAS = ("marts", "bi")


class SparkTableMissing(RuntimeError):
    """dbt said it built a table whose files are not where Spark keeps them."""


@dataclass(frozen=True)
class Described:
    """A table's dbt description and its columns' (name -> text)."""

    table: str = ""
    columns: Mapping[str, str] | None = None


def table_folder(spark_root: Path | str, schema: str, name: str) -> Path:
    return Path(spark_root) / "warehouse" / f"{schema}.db" / name


def schema_folder(spark_root: Path | str, schema: str, name: str) -> Path:
    """Where ``spark_schema_file`` writes a partitioned table's columns (no rows)."""
    return Path(spark_root) / "schemas" / f"{schema}.{name}"


def _parquet_files(folder: Path) -> list[str]:
    return sorted(glob.glob(str(folder / "**" / "*.parquet"), recursive=True))


def _source_sql(con: duckdb.DuckDBPyConnection, spark_root: Path, schema: str, name: str, declared: list[str]) -> str:
    folder = table_folder(spark_root, schema, name)
    if not folder.is_dir():
        raise SparkTableMissing(f"{schema}.{name}: dbt built it on Spark, but {folder} does not exist")
    files = _parquet_files(folder)
    columns_file = _parquet_files(schema_folder(spark_root, schema, name))
    if not columns_file:  # not partitioned: Spark writes a file even for no rows
        if not files:
            raise SparkTableMissing(
                f"{schema}.{name}: no Parquet file under {folder}; a partitioned model needs the post-hook "
                "spark_schema_file()"
            )
        return f"SELECT * FROM read_parquet({sql_literal(str(folder / '**' / '*.parquet'))})"
    # the partition columns' types come from Spark's own schema, not guessed from folder names
    types = dict(
        (c, t)
        for c, t, *_ in con.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_literal(columns_file[0])})").fetchall()
    )
    # Spark moves partition columns last: the model's documented order when it names them all
    names = declared if sorted(declared) == sorted(types) else list(types)
    select = ", ".join(sql_ident(c) for c in names)
    if not files:  # no rows: Spark's columns alone
        return f"SELECT {select} FROM read_parquet({sql_literal(columns_file[0])})"
    keys = {part.split("=", 1)[0] for part in Path(files[0]).relative_to(folder).parts[:-1] if "=" in part}
    hive_types = ", ".join(f"{sql_literal(c)}: {sql_literal(t)}" for c, t in types.items() if c in keys)
    return (
        f"SELECT {select} FROM read_parquet({sql_literal(str(folder / '**' / '*.parquet'))}, "
        f"hive_partitioning = true, hive_types = {{{hive_types}}})"
    )


def pull(
    con: duckdb.DuckDBPyConnection,
    spark_root: Path | str,
    tables: list[tuple[str, str]],
    described: Mapping[tuple[str, str], Described] | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict[tuple[str, str], int]:
    """Replace each (schema, name) of ``tables`` in ``con`` by Spark's; returns the rows of each.

    All in one transaction: a failure leaves the DuckDB file as it was.
    """
    spark_root = Path(spark_root)
    described = described or {}
    rows: dict[tuple[str, str], int] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        for schema, name in tables:
            target = f"{sql_ident(schema)}.{sql_ident(name)}"
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {sql_ident(schema)}")
            text = described.get((schema, name))
            declared = list((text.columns if text else None) or {})
            con.execute(f"CREATE OR REPLACE TABLE {target} AS {_source_sql(con, spark_root, schema, name, declared)}")
            if text and text.table:
                con.execute(f"COMMENT ON TABLE {target} IS {sql_literal(text.table)}")
            present = {c for (c,) in con.execute(f"SELECT column_name FROM (DESCRIBE {target})").fetchall()}
            for column, comment in ((text.columns if text else None) or {}).items():
                if column in present and comment:
                    con.execute(f"COMMENT ON COLUMN {target}.{sql_ident(column)} IS {sql_literal(comment)}")
            rows[(schema, name)] = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
            if progress:
                progress(f"{schema}.{name}: {rows[(schema, name)]:,} rows from Spark")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return rows


def described_from_manifest(manifest: Mapping) -> dict[tuple[str, str], Described]:
    """(schema, name) -> the dbt description of every model in the served schemas."""
    out = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model" or node.get("schema") not in SERVED_SCHEMAS:
            continue
        name = node.get("alias") or node["name"]
        columns = {c: (v.get("description") or "").strip() for c, v in (node.get("columns") or {}).items()}
        out[(node["schema"], name)] = Described((node.get("description") or "").strip(), columns)
    return out
