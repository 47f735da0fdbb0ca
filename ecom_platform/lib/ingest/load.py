"""Loading one landing file into raw.* in one transaction, and a source's files in turn; the ingest log."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from ecom_platform.lib.ingest.discovery import LandingFile, discover_files, sha256_of
from ecom_platform.lib.ingest.typed import _typed_expr, _typed_select, decimal_comma, map_header
from ecom_platform.lib.landing_read import (
    IngestError,
    _q,
    read_landing,
)
from ecom_platform.lib.schemas import (
    DEFAULT_RANGES,
    INGEST_LOG_DDL,
    LINEAGE_COLUMNS,
    QUARANTINE_DDL,
    SOURCES,
    Ranges,
    Source,
)


@dataclass
class FileResult:
    source: str
    file_name: str
    file_sha256: str
    status: str  # loaded | replaced | skipped | rejected | pending_rejected
    rows_read: int = 0
    rows_accepted: int = 0
    rows_rejected: int = 0
    error: str | None = None
    seconds: float = 0.0
    reasons: dict[str, int] = field(default_factory=dict)
    read_as: str | None = None  # how a file was read when not as plain UTF-8 / a decimal point

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def note(self) -> str:
        """How the file was read and what went wrong, for logs and metadata ('' if nothing)."""
        return "; ".join(x for x in (self.read_as, self.error) if x)


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for source in SOURCES.values():
        cols = [f'"{c.name}" {c.sql_type}' for c in source.columns]
        cols += [f"{name} {typ}" for name, typ in LINEAGE_COLUMNS]
        con.execute(f"CREATE TABLE IF NOT EXISTS {source.table} ({', '.join(cols)})")
    con.execute(INGEST_LOG_DDL)
    con.execute(QUARANTINE_DDL)


def _decide(con, source: str, rel: str, sha: str) -> tuple[str, str | None]:
    """What to do with ``rel`` now holding bytes ``sha``, from ``raw.ingest_log``.

    Returns one of ``("load", None)``, ``("skip", note)``, ``("pending_rejected", error)``
    or ``("dedupe", other file)``: remove ``rel``'s rows because another file of the same
    source holds these bytes in the warehouse (one copy of the same bytes, never two).
    A log row with ``rows_read = 0`` and status loaded/replaced is such a removal.
    """
    latest = """
        SELECT status, file_sha256, error, rows_read FROM raw.ingest_log
        WHERE file_name = ? AND status IN ({})
        ORDER BY rowid DESC LIMIT 1
    """
    last = con.execute(latest.format("'loaded', 'replaced', 'rejected'"), [rel]).fetchone()
    if last is not None and last[1] == sha and last[0] == "rejected":
        return "pending_rejected", last[2]
    # The version of rel whose rows are in the warehouse now (if any).
    current = con.execute(latest.format("'loaded', 'replaced'"), [rel]).fetchone()
    holds_rows = current is not None and current[3] > 0
    if holds_rows and current[1] == sha:
        return "skip", None
    holder = con.execute(
        """
        SELECT file_name FROM (
            SELECT file_name, file_sha256, rows_read,
                   row_number() OVER (PARTITION BY file_name ORDER BY rowid DESC) AS k
            FROM raw.ingest_log
            WHERE status IN ('loaded', 'replaced') AND source = ? AND file_name <> ?
              AND file_name IN (SELECT file_name FROM raw.ingest_log WHERE file_sha256 = ?)
        )
        WHERE k = 1 AND file_sha256 = ? AND rows_read > 0
        ORDER BY file_name LIMIT 1
        """,
        [source, rel, sha, sha],
    ).fetchone()
    if holder is None:
        return "load", None
    if holds_rows:
        return "dedupe", holder[0]
    return "skip", f"identical to {holder[0]}, already loaded"


@contextmanager
def _transaction(con):
    """One DuckDB transaction: committed when the block ends, rolled back if it raises."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _log(con, res: FileResult, file_bytes: int, run_id: str, started: datetime) -> None:
    con.execute(
        "INSERT INTO raw.ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_localtimestamp())",
        [
            res.source,
            res.file_name,
            res.file_sha256,
            file_bytes,
            res.rows_read,
            res.rows_accepted,
            res.rows_rejected,
            res.status,
            res.error,
            run_id,
            started,
        ],
    )


def _delete_file_rows(con, source: Source, rel: str) -> int:
    """Remove a file's rows and quarantine entries (inside the caller's transaction).
    Returns how many rows and quarantine entries it had."""
    n = con.execute(f"SELECT count(*) FROM {source.table} WHERE _source_file = ?", [rel]).fetchone()[0]
    n += con.execute("SELECT count(*) FROM raw.quarantine WHERE file_name = ?", [rel]).fetchone()[0]
    con.execute(f"DELETE FROM {source.table} WHERE _source_file = ?", [rel])
    con.execute("DELETE FROM raw.quarantine WHERE file_name = ?", [rel])
    return int(n)


def ingest_file(
    con: duckdb.DuckDBPyConnection, lf: LandingFile, run_id: str, ranges: Ranges = DEFAULT_RANGES
) -> FileResult:
    """Ingest one landing file. Never raises for bad data: a bad file returns status ``rejected``."""
    t0 = time.perf_counter()
    started = datetime.now()
    source = SOURCES[lf.source]
    sha = sha256_of(lf.path)
    size = lf.path.stat().st_size
    res = FileResult(source=lf.source, file_name=lf.rel, file_sha256=sha, status="loaded")
    action, note = _decide(con, lf.source, lf.rel, sha)
    if action in ("skip", "pending_rejected"):
        res.status = "skipped" if action == "skip" else "pending_rejected"
        res.error = note
        res.seconds = time.perf_counter() - t0
        return res
    if action == "dedupe":
        with _transaction(con):
            removed = _delete_file_rows(con, source, lf.rel)
            res.status = "replaced"
            res.error = (
                f"identical to {note}, already loaded (not loaded twice); the {removed:,} rows and "
                f"quarantine entries of the previous version of {lf.rel} were removed"
            )
            res.seconds = time.perf_counter() - t0
            _log(con, res, size, run_id, started)
        return res

    try:
        has_sheet, unparseable, encoding = read_landing(con, lf.path, lf.rel)
        header = [r[0] for r in con.execute("DESCRIBE _land").fetchall() if r[0] != "_sheet"]
        mapping = map_header(source, header, lf.rel)
        sheet = "_sheet" if has_sheet else "CAST(NULL AS VARCHAR)"
        land, row_number = "_land", "rowid + 1"
        if unparseable:
            # The k-th parsed record's position is the k-th one not taken by an unparseable
            # line: k + (number of unparseable lines j whose position q_j - j < k).
            qs = sorted(bad["row"] for bad in unparseable)
            con.execute(
                """
                CREATE OR REPLACE TEMP TABLE _land_skips AS
                SELECT _skip_t, max(_skip_n) AS _skip_n
                FROM (SELECT unnest(?::BIGINT[]) AS _skip_t, unnest(?::BIGINT[]) AS _skip_n) GROUP BY _skip_t
                """,
                [[q - j for j, q in enumerate(qs, 1)], list(range(1, len(qs) + 1))],
            )
            land = "(SELECT *, rowid + 1 AS _land_k FROM _land) ASOF LEFT JOIN _land_skips ON _land_k > _skip_t"
            row_number = "_land_k + COALESCE(_skip_n, 0)"
        con.execute("DROP TABLE IF EXISTS _typed")
        comma = decimal_comma(con, source, mapping)
        res.read_as = (
            "; ".join(
                ([f"{encoding.upper()} text"] if encoding and encoding != "utf-8" else [])
                + (["decimal comma (2,55 read as 2.55)"] if comma else [])
            )
            or None
        )
        con.execute(
            f"CREATE TEMP TABLE _typed AS {_typed_select(source, mapping, land, sheet, row_number, ranges, comma)}"
        )
        n_read, n_bad = con.execute("SELECT count(*), count(_reason) FROM _typed").fetchone()
        n_read += len(unparseable)
        n_bad += len(unparseable)
        if n_read == 0:
            raise IngestError(f"{lf.rel}: header only, no data rows")

        cols = ", ".join(_q(c.name) for c in source.columns)
        with _transaction(con):
            replaced = _delete_file_rows(con, source, lf.rel)
            con.execute(
                f"""
                INSERT INTO {source.table}
                SELECT {cols}, ?, _sheet, ?, _row_number, current_localtimestamp(), ?
                FROM _typed WHERE _reason IS NULL ORDER BY _row_number
                """,
                [lf.rel, sha, run_id],
            )
            con.execute(
                """
                INSERT INTO raw.quarantine
                SELECT ?, ?, ?, _row_number, _raw, _reason, ?, current_localtimestamp()
                FROM _typed WHERE _reason IS NOT NULL ORDER BY _row_number
                """,
                [lf.source, lf.rel, sha, run_id],
            )
            for bad in unparseable:
                con.execute(
                    "INSERT INTO raw.quarantine VALUES (?, ?, ?, ?, ?, ?, ?, current_localtimestamp())",
                    [lf.source, lf.rel, sha, bad["row"], bad["text"], bad["reason"], run_id],
                )
            res.rows_read, res.rows_rejected = int(n_read), int(n_bad)
            res.rows_accepted = res.rows_read - res.rows_rejected
            res.status = "replaced" if replaced else "loaded"
            res.seconds = time.perf_counter() - t0
            _log(con, res, size, run_id, started)
        res.reasons = dict(
            con.execute(
                """
                SELECT regexp_replace(_reason, '''[^'']*''', '''…''', 'g') AS r, count(*)
                FROM _typed WHERE _reason IS NOT NULL GROUP BY r ORDER BY 2 DESC LIMIT 10
                """
            ).fetchall()
        )
        if unparseable:
            res.reasons["unparseable CSV line"] = len(unparseable)
    except IngestError as exc:
        res.status, res.error = "rejected", str(exc)
        res.rows_read = res.rows_accepted = res.rows_rejected = 0
        res.seconds = time.perf_counter() - t0
        _log(con, res, size, run_id, started)
    finally:
        for t in ("_land", "_typed", "_land_rejects", "_land_reject_scans", "_land_skips"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    return res


def ingest_source(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    source: str,
    run_id: str,
    files: list[LandingFile] | None = None,
    progress: Callable[[str], None] | None = None,
    ranges: Ranges = DEFAULT_RANGES,
) -> tuple[list[FileResult], list[str]]:
    """Ingest every waiting file of one source (rows outside ``ranges`` quarantined).
    Returns (results, refused paths)."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    ensure_raw_schema(con)
    refused: list[str] = []
    if files is None:
        files, refused = discover_files(landing_dir, [source])
    results = []
    for i, lf in enumerate(files, 1):
        res = ingest_file(con, lf, run_id, ranges)
        results.append(res)
        if progress:
            rate = res.rows_read / res.seconds if res.seconds and res.rows_read else 0
            extra = f" ({res.note})" if res.note else ""
            progress(
                f"[{source} {i}/{len(files)}] {lf.rel}: {res.status}, "
                f"{res.rows_accepted:,} accepted, {res.rows_rejected:,} quarantined, "
                f"{res.seconds:.1f}s{f', {rate:,.0f} rows/s' if rate else ''}{extra}"
            )
    return results, refused


def file_days(path: Path, source: str, rel: str | None = None) -> list[str]:
    """The distinct business days ('YYYY-MM-DD', sorted) that a landing file's rows cover.

    Read exactly as ingestion reads it (same formats, header aliases and typing), in a
    private in-memory DuckDB, so it never touches the warehouse. Rows whose date does not
    parse are left out (ingestion quarantines them). Raises :class:`IngestError` for a file
    ingestion would reject; returns ``[]`` for sources without a date column.
    """
    src = SOURCES[source]
    if src.date_column is None:
        return []
    path = Path(path)
    rel = rel or path.name
    con = duckdb.connect(":memory:")
    try:
        read_landing(con, path, rel)
        header = [r[0] for r in con.execute("DESCRIBE _land").fetchall() if r[0] != "_sheet"]
        mapping = map_header(src, header, rel)
        col = src.column(src.date_column)
        expr = _typed_expr(_q(mapping[col.name]), col.sql_type)
        rows = con.execute(
            f"SELECT DISTINCT d FROM (SELECT CAST({expr} AS DATE) AS d FROM _land) WHERE d IS NOT NULL ORDER BY d"
        ).fetchall()
    finally:
        con.close()
    return [d.isoformat() for (d,) in rows]


def summarise(results: list[FileResult]) -> dict:
    """Totals over results, for metadata and logs."""
    out = {"files": len(results)}
    for status in ("loaded", "replaced", "skipped", "rejected", "pending_rejected"):
        out[f"files_{status}"] = sum(r.status == status for r in results)
    for key in ("rows_read", "rows_accepted", "rows_rejected"):
        out[key] = sum(getattr(r, key) for r in results)
    reasons: dict[str, int] = {}
    for r in results:
        for k, v in r.reasons.items():
            reasons[k] = reasons.get(k, 0) + v
    out["top_reasons"] = dict(sorted(reasons.items(), key=lambda kv: -kv[1])[:10])
    return out
