"""DuckDB connections and small warehouse helpers (no Dagster imports)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb


def connect(
    path: Path | str,
    read_only: bool = False,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse. Creates the parent folder for a writer; a reader needs the file."""
    path = Path(path)
    if read_only and not path.exists():
        raise FileNotFoundError(f"warehouse {path} does not exist yet: run `make run` first")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    # No config dict at connect time: DuckDB shares one database instance per file within a
    # process only between connections opened with the same configuration, and dbt-duckdb
    # (used in-process by dagster-dbt for column metadata) connects with none. Settings are
    # applied with SET instead.
    con = duckdb.connect(str(path), read_only=read_only)
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if not read_only:
        # Spill to a folder beside the warehouse rather than /tmp.
        con.execute(f"SET temp_directory = '{path.parent / '.duckdb_tmp'}'")
    return con


@contextmanager
def connection(path: Path | str, **kwargs) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(path, **kwargs)
    try:
        yield con
    finally:
        con.close()


def table_counts(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...] = ("raw", "staging", "intermediate", "marts", "bi", "ml")) -> list[tuple[str, str, int]]:
    """(schema, table, rows) for every base table in the given schemas, sorted."""
    rows = con.execute(
        """
        SELECT table_schema, table_name FROM information_schema.tables
        WHERE table_type = 'BASE TABLE' AND table_schema IN (SELECT unnest(?))
        ORDER BY table_schema, table_name
        """,
        [list(schemas)],
    ).fetchall()
    out = []
    for schema, table in rows:
        n = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()[0]
        out.append((schema, table, int(n)))
    return out


def table_row_counts(con: duckdb.DuckDBPyConnection, tables: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Rows of each of ``tables`` ((schema, name)) that is a base table, in one query; views
    (whose count would run their whole query) and missing tables are left out."""
    if not tables:
        return {}
    present = con.execute(
        """
        SELECT table_schema, table_name FROM information_schema.tables
        WHERE table_type = 'BASE TABLE' AND (table_schema, table_name) IN (SELECT unnest(?), unnest(?))
        """,
        [[t[0] for t in tables], [t[1] for t in tables]],
    ).fetchall()
    if not present:
        return {}
    query = " UNION ALL ".join(
        f"SELECT {i} AS i, count(*) AS n FROM \"{schema}\".\"{name}\"" for i, (schema, name) in enumerate(present)
    )
    found = dict(con.execute(query).fetchall())
    return {(schema, name): int(found[i]) for i, (schema, name) in enumerate(present)}
