"""Raw (bronze) ingestion: landing files -> typed ``raw.*`` tables.

Pure logic over a DuckDB connection, no Dagster imports, so it is testable on its own.

Rules, in the order they apply to one file:

1. The file is found under ``<landing>/<source>/``. Names starting with ``.`` or ``_``
   and names ending in ``.tmp`` / ``.part`` are ignored (being written, or metadata).
   Symlinks and paths that resolve outside the landing folder are refused.
2. Its sha256 is computed. The same bytes already loaded (under any name) are a no-op.
   Bytes already rejected are not retried (they are reported as ``pending_rejected``).
3. It is read as text (CSV, CSV.GZ: UTF-8, falling back to Latin-1), Parquet or XLSX
   (every sheet). Header names are mapped through ``schemas.py`` aliases, so Online
   Retail I and II both fit. A file that cannot be read at all (empty, binary, not a
   table, missing required columns) raises :class:`IngestError` naming the file and
   the problem; it is logged as ``rejected`` and nothing of it is loaded.
4. Each record is typed. A record that fails typing or validation goes to
   ``raw.quarantine`` with its raw text and the reason; the rest of the file loads.
5. One transaction per file: the file's previous rows (a corrected version under the
   same name) are replaced, rows and quarantine and the ``raw.ingest_log`` row land
   together, or nothing does.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import time
import zlib
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterable

import duckdb

from ecom_platform.lib.schemas import (
    EVENT_TYPES,
    INGEST_LOG_DDL,
    LINEAGE_COLUMNS,
    QUARANTINE_DDL,
    SOURCES,
    Source,
    normalise_header,
)

SUPPORTED_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".xlsx")
IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload")
NULL_TOKENS = ("", "nan", "none", "null", "<na>", "nat")


class IngestError(Exception):
    """A whole file could not be ingested. The message names the file and the problem."""


@dataclass
class LandingFile:
    source: str
    path: Path
    rel: str  # path relative to the landing folder, with forward slashes


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

    def as_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------- discovery


def _ignored(name: str) -> bool:
    return name.startswith((".", "_")) or name.lower().endswith(IGNORED_SUFFIXES)


def file_format(path: Path) -> str | None:
    name = path.name.lower()
    for suffix in (".csv.gz", ".csv", ".parquet", ".xlsx"):
        if name.endswith(suffix):
            return suffix.lstrip(".")
    return None


def discover_files(landing_dir: Path, sources: Iterable[str] | None = None) -> tuple[list[LandingFile], list[str]]:
    """Files waiting in ``landing_dir/<source>/`` (recursively), sorted by path.

    Returns ``(files, refused)`` where ``refused`` holds one message per path that was
    not accepted (symlink, outside the folder, unsupported extension).
    """
    landing_dir = Path(landing_dir)
    root = landing_dir.resolve()
    files: list[LandingFile] = []
    refused: list[str] = []
    for source in sources or SOURCES:
        folder = landing_dir / source
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*")):
            rel = path.relative_to(landing_dir).as_posix()
            if any(_ignored(part) for part in path.relative_to(folder).parts):
                continue
            if path.is_symlink():
                refused.append(f"{rel}: refused, symlinks are not followed in the landing folder")
                continue
            if path.is_dir():
                continue
            try:
                path.resolve().relative_to(root)
            except ValueError:
                refused.append(f"{rel}: refused, resolves outside the landing folder {root}")
                continue
            if file_format(path) is None:
                refused.append(
                    f"{rel}: refused, unsupported file type (expected one of {', '.join(SUPPORTED_SUFFIXES)})"
                )
                continue
            files.append(LandingFile(source=source, path=path, rel=rel))
    return files, refused


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------- schema


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for source in SOURCES.values():
        cols = [f'"{c.name}" {c.sql_type}' for c in source.columns]
        cols += [f"{name} {typ}" for name, typ in LINEAGE_COLUMNS]
        con.execute(f"CREATE TABLE IF NOT EXISTS {source.table} ({', '.join(cols)})")
    con.execute(INGEST_LOG_DDL)
    con.execute(QUARANTINE_DDL)


# --------------------------------------------------------------------------- reading


def _head_bytes(path: Path, rel: str, fmt: str, n: int = 65536) -> bytes:
    try:
        if fmt == "csv.gz":
            with gzip.open(path, "rb") as fh:
                return fh.read(n)
        with open(path, "rb") as fh:
            return fh.read(n)
    except (OSError, EOFError, zlib.error) as exc:
        raise IngestError(f"{rel}: cannot be read as {fmt}: {exc}") from None


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _load_csv(con, path: Path, rel: str, fmt: str) -> tuple[str, list[dict]]:
    """Read a CSV into temp table ``_land`` (all VARCHAR). Returns (encoding, unparseable lines)."""
    head = _head_bytes(path, rel, fmt)
    if not head.strip():
        raise IngestError(f"{rel}: the file is empty (no header, no rows)")
    if b"\x00" in head:
        raise IngestError(f"{rel}: looks binary (NUL bytes), not a CSV text file")
    encoding = "utf-8"
    for attempt in ("utf-8", "latin-1"):
        encoding = attempt
        con.execute("DROP TABLE IF EXISTS _land")
        con.execute("DROP TABLE IF EXISTS _land_rejects")
        con.execute("DROP TABLE IF EXISTS _land_reject_scans")
        try:
            con.execute(
                f"""
                CREATE TEMP TABLE _land AS
                SELECT * FROM read_csv({_sql_str(str(path))},
                    header = true, all_varchar = true, encoding = {_sql_str(attempt)},
                    ignore_errors = true, store_rejects = true,
                    rejects_table = '_land_rejects', rejects_scan = '_land_reject_scans',
                    null_padding = false, auto_detect = true)
                """
            )
        except duckdb.Error as exc:
            msg = str(exc).splitlines()[0]
            raise IngestError(f"{rel}: cannot be parsed as CSV: {msg}") from None
        bad_encoding = con.execute(
            "SELECT count(*) FROM _land_rejects WHERE error_type = 'INVALID ENCODING'"
        ).fetchone()[0]
        if bad_encoding == 0:
            break
    rejects = con.execute(
        "SELECT line, error_type, error_message, csv_line FROM _land_rejects ORDER BY line"
    ).fetchall()
    # One entry per bad line (DuckDB may report several errors for one line).
    seen: dict[int, dict] = {}
    for line, etype, emsg, text in rejects:
        if line not in seen:
            seen[int(line)] = {"line": int(line), "reason": f"unparseable CSV line ({etype.lower()}): {emsg}", "text": text}
    return encoding, list(seen.values())


def _load_parquet(con, path: Path, rel: str) -> None:
    con.execute("DROP TABLE IF EXISTS _land")
    try:
        con.execute(
            f"CREATE TEMP TABLE _land AS SELECT COLUMNS(*)::VARCHAR FROM read_parquet({_sql_str(str(path))})"
        )
    except duckdb.Error as exc:
        msg = str(exc).splitlines()[0]
        raise IngestError(f"{rel}: cannot be read as Parquet: {msg}") from None


def _cell_text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value != value:  # NaN
            return None
        if value.is_integer():
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _load_xlsx(con, path: Path, rel: str) -> list[str]:
    """Read every sheet into ``_land`` (all VARCHAR) with a ``_sheet`` column; returns sheet names."""
    import openpyxl
    import pandas as pd

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a bad archive
        raise IngestError(f"{rel}: cannot be read as XLSX: {exc}") from None
    frames = []
    header_ref: list[str] | None = None
    sheets = []
    try:
        for ws in wb.worksheets:
            rows = ws.iter_rows(values_only=True)
            header = None
            for row in rows:
                if row and any(v is not None and str(v).strip() for v in row):
                    header = [_cell_text(v) or f"column{i + 1}" for i, v in enumerate(row)]
                    break
            if header is None:
                continue  # empty sheet
            data = [
                [_cell_text(v) for v in row[: len(header)]] + [None] * (len(header) - len(row))
                for row in rows
                if row and any(v is not None for v in row)
            ]
            norm = [normalise_header(h) for h in header]
            if header_ref is not None and norm != [normalise_header(h) for h in header_ref]:
                raise IngestError(
                    f"{rel}: sheet {ws.title!r} has header {header} but the first sheet has {header_ref}; "
                    "all sheets of one workbook must share a layout"
                )
            header_ref = header_ref or header
            frame = pd.DataFrame(data, columns=header_ref, dtype=object)
            frame.insert(0, "_sheet", ws.title)
            frames.append(frame)
            sheets.append(ws.title)
    finally:
        wb.close()
    if not frames:
        raise IngestError(f"{rel}: the workbook has no sheet with a header row")
    df = pd.concat(frames, ignore_index=True).astype(object)
    df = df.where(df.notna(), None)
    con.execute("DROP TABLE IF EXISTS _land")
    con.register("_land_df", df)
    try:
        cols = ", ".join(f"CAST({_q(c)} AS VARCHAR) AS {_q(c)}" for c in df.columns)
        con.execute(f"CREATE TEMP TABLE _land AS SELECT {cols} FROM _land_df")
    finally:
        con.unregister("_land_df")
    return sheets


# --------------------------------------------------------------------------- typing


def _typed_expr(col_sql: str, sql_type: str) -> str:
    """SQL that types a VARCHAR column; NULL when it is missing or does not parse."""
    v = f"NULLIF(TRIM({col_sql}), '')"
    t = sql_type.upper()
    if t == "VARCHAR":
        return v
    if t in ("INTEGER", "BIGINT"):
        # Whole numbers only: TRY_CAST('12.5' AS BIGINT) would round to 13. '17850.0'
        # (spreadsheets write ids as floats) is accepted, without going through DOUBLE,
        # so 19-digit ids keep every digit.
        return (
            f"CASE WHEN regexp_full_match({v}, '[+-]?[0-9]+') THEN TRY_CAST({v} AS {t}) "
            f"WHEN regexp_full_match({v}, '[+-]?[0-9]+\\.0+') THEN TRY_CAST(split_part({v}, '.', 1) AS {t}) END"
        )
    if t.startswith("DECIMAL") or t == "DOUBLE":
        return f"COALESCE(TRY_CAST({v} AS {t}), TRY_CAST(TRY_CAST({v} AS DOUBLE) AS {t}))"
    if t == "TIMESTAMP":
        s = f"regexp_replace({v}, '\\s*(UTC|Z)$', '')"
        return (
            f"COALESCE(TRY_CAST({s} AS TIMESTAMP), TRY_STRPTIME({s}, '%m/%d/%Y %H:%M'), "
            f"TRY_STRPTIME({s}, '%m/%d/%Y %H:%M:%S'), TRY_STRPTIME({s}, '%d.%m.%Y %H:%M'))"
        )
    if t == "DATE":
        return (
            f"COALESCE(TRY_CAST({v} AS DATE), TRY_CAST(TRY_CAST({v} AS TIMESTAMP) AS DATE), "
            f"TRY_CAST(TRY_STRPTIME({v}, '%m/%d/%Y') AS DATE))"
        )
    raise ValueError(f"no typing rule for {sql_type}")


def _is_null_token(col_sql: str) -> str:
    tokens = ", ".join(_sql_str(t) for t in NULL_TOKENS)
    return f"({col_sql} IS NULL OR lower(trim({col_sql})) IN ({tokens}))"


def map_header(source: Source, header: list[str], rel: str) -> dict[str, str]:
    """Canonical column -> header name in the file. Raises IngestError if required ones are missing."""
    by_norm: dict[str, str] = {}
    for h in header:
        by_norm.setdefault(normalise_header(h), h)
    mapping: dict[str, str] = {}
    for col in source.columns:
        for alias in (normalise_header(col.name),) + col.aliases:
            if alias in by_norm:
                mapping[col.name] = by_norm[alias]
                break
    missing = [c.name for c in source.columns if c.required and c.name not in mapping]
    if missing:
        shown = [h for h in header if not h.startswith("_")]
        raise IngestError(
            f"{rel}: missing required column(s) {', '.join(missing)} for source '{source.name}'; "
            f"header found: {', '.join(shown) or '(none)'}"
        )
    return mapping


def _typing_sql(source: Source, mapping: dict[str, str]) -> tuple[list[str], str, str]:
    """Returns (typed column expressions, reason expression, raw json expression)."""
    typed, reasons = [], []
    for col in source.columns:
        if col.name not in mapping:
            typed.append(f"CAST(NULL AS {col.sql_type}) AS {_q(col.name)}")
            continue
        raw = _q(mapping[col.name])
        expr = _typed_expr(raw, col.sql_type)
        typed.append(f"{expr} AS {_q(col.name)}")
        label = col.name
        if col.required:
            reasons.append(f"CASE WHEN {_is_null_token(raw)} THEN '{label} is missing' END")
        bad_value = (
            f"'{label} ' || {_sql_str(chr(39))} || left({raw}, 60) || {_sql_str(chr(39))} "
            f"|| ' is not a valid {col.sql_type.lower()}'"
        )
        reasons.append(f"CASE WHEN NOT {_is_null_token(raw)} AND ({expr}) IS NULL THEN {bad_value} END")
    if source.name == "events" and "event_type" in mapping:
        raw = _q(mapping["event_type"])
        allowed = ", ".join(_sql_str(t) for t in EVENT_TYPES)
        reasons.append(
            f"CASE WHEN NOT {_is_null_token(raw)} AND lower(trim({raw})) NOT IN ({allowed}) "
            f"THEN 'event_type ' || {_sql_str(chr(39))} || left({raw}, 40) || {_sql_str(chr(39))} "
            f"|| ' is not one of {', '.join(EVENT_TYPES)}' END"
        )
    reason = f"NULLIF(concat_ws('; ', {', '.join(reasons)}), '')" if reasons else "NULL"
    pairs = ", ".join(f"{_sql_str(h)}, {_q(h)}" for h in mapping.values())
    raw_json = f"CAST(json_object({pairs}) AS VARCHAR)"
    return typed, reason, raw_json


# --------------------------------------------------------------------------- one file


def _already(con, sha: str) -> tuple[str, str, str | None] | None:
    row = con.execute(
        """
        SELECT status, file_name, error FROM raw.ingest_log
        WHERE file_sha256 = ? AND status IN ('loaded', 'replaced', 'rejected')
        ORDER BY finished_at DESC LIMIT 1
        """,
        [sha],
    ).fetchone()
    return row


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


def ingest_file(con: duckdb.DuckDBPyConnection, lf: LandingFile, run_id: str) -> FileResult:
    """Ingest one landing file. Never raises for bad data: a bad file returns status ``rejected``."""
    t0 = time.perf_counter()
    started = datetime.now()
    source = SOURCES[lf.source]
    sha = sha256_of(lf.path)
    size = lf.path.stat().st_size
    res = FileResult(source=lf.source, file_name=lf.rel, file_sha256=sha, status="loaded")
    prior = _already(con, sha)
    if prior is not None:
        status, name, error = prior
        if status == "rejected":
            res.status, res.error = "pending_rejected", error
        else:
            res.status = "skipped"
            res.error = None if name == lf.rel else f"identical to {name}, already loaded"
        res.seconds = time.perf_counter() - t0
        return res

    fmt = file_format(lf.path)
    try:
        unparseable: list[dict] = []
        has_sheet = False
        if fmt in ("csv", "csv.gz"):
            if size == 0:
                raise IngestError(f"{lf.rel}: the file is empty (0 bytes)")
            _, unparseable = _load_csv(con, lf.path, lf.rel, fmt)
        elif fmt == "parquet":
            _load_parquet(con, lf.path, lf.rel)
        elif fmt == "xlsx":
            _load_xlsx(con, lf.path, lf.rel)
            has_sheet = True
        else:  # discover_files filters these; defensive for direct calls
            raise IngestError(f"{lf.rel}: unsupported file type")
        header = [r[0] for r in con.execute("DESCRIBE _land").fetchall() if r[0] != "_sheet"]
        mapping = map_header(source, header, lf.rel)
        typed, reason, raw_json = _typing_sql(source, mapping)
        sheet = "_sheet" if has_sheet else "CAST(NULL AS VARCHAR)"
        con.execute("DROP TABLE IF EXISTS _typed")
        con.execute(
            f"""
            CREATE TEMP TABLE _typed AS
            SELECT {', '.join(typed)},
                   {sheet} AS _sheet,
                   rowid + 1 AS _row_number,
                   {reason} AS _reason,
                   {raw_json} AS _raw
            FROM _land
            """
        )
        n_read, n_bad = con.execute(
            "SELECT count(*), count(_reason) FROM _typed"
        ).fetchone()
        n_read += len(unparseable)
        n_bad += len(unparseable)
        if n_read == 0:
            raise IngestError(f"{lf.rel}: header only, no data rows")

        cols = ", ".join(_q(c.name) for c in source.columns)
        con.execute("BEGIN TRANSACTION")
        try:
            replaced = con.execute(
                f"SELECT count(*) FROM {source.table} WHERE _source_file = ?", [lf.rel]
            ).fetchone()[0]
            con.execute(f"DELETE FROM {source.table} WHERE _source_file = ?", [lf.rel])
            con.execute("DELETE FROM raw.quarantine WHERE file_name = ?", [lf.rel])
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
                    [lf.source, lf.rel, sha, bad["line"], bad["text"], bad["reason"], run_id],
                )
            res.rows_read, res.rows_rejected = int(n_read), int(n_bad)
            res.rows_accepted = res.rows_read - res.rows_rejected
            res.status = "replaced" if replaced else "loaded"
            res.seconds = time.perf_counter() - t0
            _log(con, res, size, run_id, started)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
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
        for t in ("_land", "_typed", "_land_rejects", "_land_reject_scans"):
            con.execute(f"DROP TABLE IF EXISTS {t}")
    return res


def ingest_source(
    con: duckdb.DuckDBPyConnection,
    landing_dir: Path,
    source: str,
    run_id: str,
    files: list[LandingFile] | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[FileResult], list[str]]:
    """Ingest every waiting file of one source. Returns (results, refused paths)."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    ensure_raw_schema(con)
    refused: list[str] = []
    if files is None:
        files, refused = discover_files(landing_dir, [source])
    results = []
    for i, lf in enumerate(files, 1):
        res = ingest_file(con, lf, run_id)
        results.append(res)
        if progress:
            rate = res.rows_read / res.seconds if res.seconds and res.rows_read else 0
            extra = f" ({res.error})" if res.error else ""
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
    fmt = file_format(path)
    con = duckdb.connect(":memory:")
    try:
        if fmt in ("csv", "csv.gz"):
            if path.stat().st_size == 0:
                raise IngestError(f"{rel}: the file is empty (0 bytes)")
            _load_csv(con, path, rel, fmt)
        elif fmt == "parquet":
            _load_parquet(con, path, rel)
        elif fmt == "xlsx":
            _load_xlsx(con, path, rel)
        else:
            raise IngestError(f"{rel}: unsupported file type")
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


def reasons_json(results: list[FileResult]) -> str:
    return json.dumps(summarise(results)["top_reasons"], indent=1)
