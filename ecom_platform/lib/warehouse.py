"""DuckDB connections and small warehouse helpers (no Dagster imports)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb


class WarehouseLocked(RuntimeError):
    """Another process held the warehouse file for longer than the wait allowed."""


_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (.*?)(?:\. However|$)")


def _lock_holder(error: Exception) -> str | None:
    """ "<program> (PID n)" when ``error`` is DuckDB's file-lock conflict, else None."""
    text = str(error)
    if not isinstance(error, duckdb.IOException) or "Could not set lock" not in text:
        return None
    m = _LOCK_HOLDER.search(text)
    return m.group(1).strip() if m else "another process"


def sql_literal(text: str | Path) -> str:
    """``text`` as a single-quoted SQL string literal (quotes doubled)."""
    return "'" + str(text).replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def connect(
    path: Path | str,
    read_only: bool = False,
    memory_limit: str | None = None,
    threads: int | None = None,
    lock_wait_seconds: float = 0,
    log: Callable[[str], None] | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse. Creates the parent folder for a writer; a reader needs the file.

    When another process holds the file (DuckDB allows one writer, and a writer excludes
    readers), wait up to ``lock_wait_seconds`` for it, saying once who holds it, then raise
    :class:`WarehouseLocked` naming the holder.
    """
    path = Path(path)
    if read_only and not path.exists():
        raise FileNotFoundError(f"warehouse {path} does not exist yet: run `make run` first")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + max(0.0, lock_wait_seconds)
    delay, told = 0.25, False
    while True:
        try:
            # No config dict at connect time: DuckDB shares one database instance per file
            # within a process only between connections opened with the same configuration,
            # and dbt-duckdb (used in-process by dagster-dbt for column metadata) connects
            # with none. Settings are applied with SET instead.
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as e:
            holder = _lock_holder(e)
            if holder is None:
                raise
            left = deadline - time.monotonic()
            if left <= 0:
                raise WarehouseLocked(
                    f"warehouse {path} is held by {holder}, still after {lock_wait_seconds:.0f} s "
                    "(ECOM_LOCK_WAIT_SECONDS). Is a BI tool or a notebook connected to the live file? "
                    "Point it at the BI copy instead (docs/bi.md), or close it; nothing was written."
                ) from e
            if not told:
                (log or print)(
                    f"warehouse {path} is held by {holder}; waiting up to {lock_wait_seconds:.0f} s for it to let go"
                )
                told = True
            time.sleep(min(delay, left))
            delay = min(delay * 2, 5.0)
    if memory_limit:
        con.execute(f"SET memory_limit = {sql_literal(memory_limit)}")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if not read_only:
        # Spill to a folder beside the warehouse rather than /tmp.
        con.execute(f"SET temp_directory = {sql_literal(path.parent / '.duckdb_tmp')}")
    return con


def wait_until_writable(path: Path | str, lock_wait_seconds: float, log: Callable[[str], None] | None = None) -> None:
    """Block until this process could open ``path`` for writing (for a writer that opens the
    file itself, like dbt), within ``lock_wait_seconds``; see :func:`connect`."""
    if Path(path).exists():
        connect(path, lock_wait_seconds=lock_wait_seconds, log=log).close()


@contextmanager
def connection(path: Path | str, **kwargs) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(path, **kwargs)
    try:
        yield con
    finally:
        con.close()


def table_counts(
    con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...] = ("raw", "staging", "intermediate", "marts", "bi", "ml")
) -> list[tuple[str, str, int]]:
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
        f'SELECT {i} AS i, count(*) AS n FROM "{schema}"."{name}"' for i, (schema, name) in enumerate(present)
    )
    found = dict(con.execute(query).fetchall())
    return {(schema, name): int(found[i]) for i, (schema, name) in enumerate(present)}


# dagster-dbt gives every dbt invocation a folder target/<step>-<run id[:7]>-<hash[:7]>
_INVOCATION_DIR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*-[0-9a-f]{7}-[0-9a-f]{7}$")


def prune_dbt_invocation_folders(target_dir: Path | str, keep: int = 10) -> list[str]:
    """Delete all but the newest ``keep`` per-invocation folders dagster-dbt leaves in dbt's
    ``target/`` (a landing sensor starts a dbt invocation per refresh: without pruning the
    disk fills). dbt's own files (manifest.json, partial_parse.msgpack, …) are never touched.
    Returns the names removed."""
    import shutil

    target_dir = Path(target_dir)
    if not target_dir.is_dir():
        return []
    folders = [p for p in target_dir.iterdir() if p.is_dir() and _INVOCATION_DIR.match(p.name)]
    folders.sort(key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
    removed = []
    for p in folders[keep:]:
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p.name)
    return removed
