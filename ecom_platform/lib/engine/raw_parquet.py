"""The raw rows for Spark: one Parquet file per landing file, written atomically from ``raw.*``.

On the Spark engine ingestion is unchanged: a landing file is loaded into the DuckDB file's
``raw.<source>`` in one transaction, exactly once, with its lineage columns, its rejected
rows in ``raw.quarantine`` and its attempt in ``raw.ingest_log``. This module then makes
``<root>/<source>/`` hold exactly the files whose rows are in ``raw.<source>``:

- one ``<file key>.parquet`` per (landing file, bytes) pair present, written under a name
  Spark ignores (a leading dot) and renamed into place, so Spark never reads half a file;
- a file whose rows left ``raw.<source>`` (a corrected file replaced them, a duplicate was
  removed) loses its Parquet file;
- a source with no rows gets ``empty.parquet`` (no rows, the table's columns), so Spark
  still knows its columns;
- the small ``ingest_log`` and ``quarantine`` tables are rewritten whole, each one file.

The folder is a function of ``raw.*`` alone: a sync that died half way (kill -9) is
completed by the next one, and a second sync writes nothing. Spark reads each folder as an
external table (``dbt_project/macros/spark_engine.sql``).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ecom_platform.lib.schemas import SOURCES
from ecom_platform.lib.warehouse import sql_literal

EMPTY = "empty.parquet"
# rewritten whole on every sync (tables of one row per file or per rejected row)
LEDGER_TABLES = ("ingest_log", "quarantine")


@dataclass
class SyncResult:
    written: dict[str, int] = field(default_factory=dict)  # source -> Parquet files written
    removed: dict[str, int] = field(default_factory=dict)  # source -> Parquet files deleted
    files: dict[str, int] = field(default_factory=dict)  # source -> landing files in the folder

    def summary(self) -> str:
        parts = [
            f"{s}: {self.files.get(s, 0)} file(s), {self.written.get(s, 0)} written, {self.removed.get(s, 0)} removed"
            for s in sorted(self.files)
        ]
        return "; ".join(parts)


def file_key(source_file: str, sha256: str) -> str:
    """The Parquet name of one landing file's rows: its bytes' hash and a hash of its path
    (the same bytes under two names are two files; a new version of a file is a new name)."""
    path_hash = hashlib.sha256(source_file.encode()).hexdigest()[:12]
    return f"{sha256[:20]}-{path_hash}"


def _write(con: duckdb.DuckDBPyConnection, query: str, params: list, target: Path) -> None:
    """COPY ``query`` to ``target`` through a hidden temporary file, then rename it into place."""
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.unlink(missing_ok=True)
    con.execute(f"COPY ({query}) TO {sql_literal(tmp)} (FORMAT parquet)", params)
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, target)


def sync(con: duckdb.DuckDBPyConnection, root: Path | str, sources: list[str] | None = None) -> SyncResult:
    """Make ``root`` mirror ``raw.*`` of ``con`` (every source, or the named ones, plus the ledger tables)."""
    root = Path(root)
    result = SyncResult()
    for name in sources or list(SOURCES):
        table = SOURCES[name].table
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        present = con.execute(f"SELECT DISTINCT _source_file, _file_sha256 FROM {table} ORDER BY 1, 2").fetchall()
        wanted = {file_key(f, sha) + ".parquet": (f, sha) for f, sha in present}
        if not wanted:
            wanted = {EMPTY: None}
        have = {p.name for p in folder.glob("*.parquet")}
        written = 0
        for target, pair in sorted(wanted.items()):
            if target in have:
                continue
            if pair is None:
                _write(con, f"SELECT * FROM {table} LIMIT 0", [], folder / target)
            else:
                _write(
                    con,
                    f"SELECT * FROM {table} WHERE _source_file = ? AND _file_sha256 = ? ORDER BY _row_number",
                    list(pair),
                    folder / target,
                )
            written += 1
        stale = sorted(have - set(wanted))
        for target in stale:
            (folder / target).unlink(missing_ok=True)
        for leftover in folder.glob(".*.tmp"):  # a sync killed mid-write
            leftover.unlink(missing_ok=True)
        result.written[name], result.removed[name], result.files[name] = written, len(stale), len(present)
    for name in LEDGER_TABLES:
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        _write(con, f"SELECT * FROM raw.{name}", [], folder / "data.parquet")
    return result
