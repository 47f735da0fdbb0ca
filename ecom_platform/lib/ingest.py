"""Raw (bronze) ingestion: landing files -> typed ``raw.*`` tables.

Pure logic over a DuckDB connection, no Dagster imports, so it is testable on its own.

Rules, in the order they apply to one file:

1. The file is found under ``<landing>/<source>/``. Names starting with ``.`` or ``_``
   and names ending in ``.tmp`` / ``.part`` are ignored (being written, or metadata).
   Symlinks and paths that resolve outside the landing folder are refused.
2. Its sha256 is computed and compared with ``raw.ingest_log`` (see :func:`_decide`):
   the same path with the bytes it last loaded is a no-op (``skipped``); the same path
   with the bytes it was last rejected for is not retried (``pending_rejected``). A new
   path whose bytes another file currently holds in the warehouse is not loaded twice
   (``skipped``, "identical to ..."). A path that held other content and now holds such
   bytes has its old rows removed (``replaced``, with a note naming the other file).
   Anything else is read and loaded; a path that held other content is ``replaced``.
3. It is read as text (CSV, CSV.GZ), Parquet or XLSX (every sheet). Text that is not
   UTF-8 is copied, in chunks, to a temporary UTF-8 file first: lines that are valid
   UTF-8 stay as they are, the others are decoded as Windows-1252 (a superset of the
   printable Latin-1; its five unassigned bytes map as Latin-1 would), so ’ “ ” € …
   survive. Header names are mapped through ``schemas.py`` aliases, so Online Retail I
   and II both fit. A file that cannot be read at all (empty, binary, not a table,
   missing required columns) raises :class:`IngestError` naming the file and the
   problem; it is logged as ``rejected`` and nothing of it is loaded.
4. Each record is typed. A record that fails typing or validation, or a CSV line that
   cannot be parsed, goes to ``raw.quarantine`` with its raw text and the reason; the
   rest of the file loads. ``_row_number`` (and ``raw.quarantine.row_number``) is the
   1-based position of the record among the file's data records (header and blank lines
   excluded; across sheets for XLSX), the same whether it was accepted or quarantined.
5. One transaction per file: the file's previous rows (a corrected version under the
   same name) are replaced, rows and quarantine and the ``raw.ingest_log`` row land
   together, or nothing does.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import json
import os
import tempfile
import time
import zlib
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterable

import duckdb

from ecom_platform.lib.schemas import (
    EVENT_TYPES,
    INGEST_LOG_DDL,
    LINEAGE_COLUMNS,
    DEFAULT_RANGES,
    QUARANTINE_DDL,
    SOURCES,
    Ranges,
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


# Windows-1252 with its five unassigned bytes (0x81 0x8D 0x8F 0x90 0x9D) decoded as Latin-1 would.
_CP1252_TABLE = "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in range(256))


def _is_utf8_head(head: bytes) -> bool:
    """False when the first bytes are not UTF-8 (a sequence cut by the end of ``head`` is fine)."""
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"
    return True


def _decode_lines(piece: bytes) -> str:
    """``piece`` as text: lines that are UTF-8 kept, the others decoded as Windows-1252."""
    try:
        return piece.decode("utf-8")
    except UnicodeDecodeError:
        pass
    out = []
    for line in piece.splitlines(keepends=True):
        try:
            out.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            out.append(codecs.charmap_decode(line, "strict", _CP1252_TABLE)[0])
    return "".join(out)


def _cut(buf: bytes, final: bool) -> int:
    """Where to cut a streamed buffer: after its last line end, else before a trailing,
    possibly incomplete UTF-8 sequence (0: read on). Never between "\r" and "\n"."""
    if final:
        return len(buf)
    end = len(buf) - buf.endswith(b"\r")  # a last "\r" may be the first half of "\r\n"
    i = max(buf.rfind(b"\n", 0, end), buf.rfind(b"\r", 0, end)) + 1
    if i:
        return i
    for k in range(1, min(4, end) + 1):
        if buf[end - k] < 0x80:
            break
        if buf[end - k] >= 0xC0:
            return end - k
    return end


def _transcode_to_utf8(path: Path, rel: str, fmt: str, chunk: int = 1 << 20) -> tuple[str, str]:
    """Copy a CSV that is not UTF-8 to a temporary UTF-8 file, ``chunk`` bytes at a time
    (memory stays bounded). Returns ``(temporary path, encoding)``; the caller deletes the file.
    """
    fd, tmp = tempfile.mkstemp(prefix="ecom_ingest_", suffix=".csv")
    try:
        with os.fdopen(fd, "wb") as dst, (gzip.open(path, "rb") if fmt == "csv.gz" else open(path, "rb")) as src:
            carry = b""
            while True:
                block = src.read(chunk)
                buf = carry + block
                if not buf:
                    break
                cut = _cut(buf, final=not block)
                dst.write(_decode_lines(buf[:cut]).encode("utf-8"))
                carry = buf[cut:]
    except (OSError, EOFError, zlib.error) as exc:
        os.unlink(tmp)
        raise IngestError(f"{rel}: cannot be read as {fmt}: {exc}") from None
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp, "windows-1252"


def _read_csv(con, read_path: str, rel: str) -> None:
    """``read_path`` (UTF-8) -> temp table ``_land`` (all VARCHAR) and DuckDB's rejects tables."""
    for t in ("_land", "_land_rejects", "_land_reject_scans"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    try:
        con.execute(
            f"""
            CREATE TEMP TABLE _land AS
            SELECT * FROM read_csv({_sql_str(read_path)},
                header = true, all_varchar = true, encoding = 'utf-8',
                ignore_errors = true, store_rejects = true,
                rejects_table = '_land_rejects', rejects_scan = '_land_reject_scans',
                null_padding = false, auto_detect = true)
            """
        )
    except duckdb.Error as exc:
        msg = str(exc).splitlines()[0].replace(read_path, rel)
        raise IngestError(f"{rel}: cannot be parsed as CSV: {msg}") from None


def _blank_lines_before(
    read_path: str, gz: bool, lines: list[int], quote: str, delimiter: str = ",", escape: str = ""
) -> dict[int, int]:
    """For each of DuckDB's reject line numbers (header = 1, blank lines counted, a quoted
    line break not), how many blank lines come before it.

    Python's csv reader splits the file into the same logical lines as DuckDB: a quote opens
    a quoted field only at the start of a field (``12" RULER`` is text), so a stray quote
    does not swallow the rest of the file. Streams the (UTF-8) file and stops after the
    last line asked for.
    """
    wanted, out = set(lines), {}
    if not wanted:
        return out
    last = max(wanted)
    fmt: dict = {"delimiter": delimiter or ",", "strict": False}
    if quote and quote != "(empty)":
        fmt["quotechar"] = quote
        if escape and escape not in ("(empty)", quote):
            fmt.update(escapechar=escape, doublequote=False)
    else:
        fmt["quoting"] = csv.QUOTE_NONE
    csv.field_size_limit(1 << 30)
    raw = gzip.open(read_path, "rb") if gz else open(read_path, "rb")
    with io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="") as fh:
        blanks = 0
        try:
            for n, row in enumerate(csv.reader(fh, **fmt), start=1):
                if not row:
                    blanks += 1
                elif n in wanted:
                    out[n] = blanks
                if n >= last:
                    break
        except csv.Error:
            pass  # e.g. a quote left open at the end: the lines before it are counted
    return out


def _load_csv(con, path: Path, rel: str, fmt: str) -> tuple[str, list[dict]]:
    """Read a CSV into temp table ``_land`` (all VARCHAR). Returns (encoding, unparseable lines).

    Each unparseable line is ``{"row": record position, "reason", "text"}``; the position
    counts data records only (header and blank lines excluded), like ``_row_number``.
    """
    head = _head_bytes(path, rel, fmt)
    if not head.strip():
        raise IngestError(f"{rel}: the file is empty (no header, no rows)")
    if b"\x00" in head:
        raise IngestError(f"{rel}: looks binary (NUL bytes), not a CSV text file")
    encoding, tmp = "utf-8", None
    try:
        utf8 = _is_utf8_head(head)
        if utf8:
            try:
                _read_csv(con, str(path), rel)
            except IngestError as exc:
                if not any(w in str(exc).lower() for w in ("unicode", "encod")):
                    raise
                utf8 = False
            else:
                utf8 = not con.execute(
                    "SELECT count(*) FROM _land_rejects WHERE error_type = 'INVALID ENCODING'"
                ).fetchone()[0]
        if not utf8:
            tmp, encoding = _transcode_to_utf8(path, rel, fmt)
            _read_csv(con, tmp, rel)
        rejects = con.execute(
            "SELECT line, error_type, error_message, csv_line FROM _land_rejects ORDER BY line"
        ).fetchall()
        # One entry per bad line (DuckDB may report several errors for one line).
        seen: dict[int, dict] = {}
        for line, etype, emsg, text in rejects:
            if int(line) not in seen:
                # DuckDB's text of a line after a blank line starts with that line's end.
                text = text.lstrip("\r\n") if text else text
                seen[int(line)] = {"reason": f"unparseable CSV line ({etype.lower()}): {emsg}", "text": text}
        if seen:
            delimiter, quote, escape = con.execute(
                "SELECT any_value(delimiter), any_value(quote), any_value(escape) FROM _land_reject_scans"
            ).fetchone()
            read_path, gz = (tmp, False) if tmp else (str(path), fmt == "csv.gz")
            blanks = _blank_lines_before(read_path, gz, list(seen), quote or "", delimiter or ",", escape or "")
            for line, bad in seen.items():
                bad["row"] = line - 1 - blanks.get(line, 0)
    finally:
        if tmp:
            os.unlink(tmp)
    return encoding, [seen[k] for k in sorted(seen)]


def _load_parquet(con, path: Path, rel: str) -> None:
    con.execute("DROP TABLE IF EXISTS _land")
    try:
        con.execute(
            f"CREATE TEMP TABLE _land AS SELECT COLUMNS(*)::VARCHAR FROM read_parquet({_sql_str(str(path))})"
        )
    except duckdb.Error as exc:
        msg = str(exc).splitlines()[0].replace(str(path), rel)
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


# The values most files hold, typed without the general rules' TRIM and regexes: a bare
# integer, a timestamp DuckDB reads as it is. Any other value takes the general rule, so
# the result is the same; at scale 10 this halved the typing of 31.7M events.
_FAST_TYPED = {
    "INTEGER": "CASE WHEN regexp_full_match({c}, '[+-]?[0-9]+') THEN TRY_CAST({c} AS INTEGER) ELSE {slow} END",
    "BIGINT": "CASE WHEN regexp_full_match({c}, '[+-]?[0-9]+') THEN TRY_CAST({c} AS BIGINT) ELSE {slow} END",
    "TIMESTAMP": "CASE WHEN TRY_CAST({c} AS TIMESTAMP) IS NOT NULL THEN TRY_CAST({c} AS TIMESTAMP) ELSE {slow} END",
}
# The longest NULL token, in characters: a longer value is not one.
_MAX_TOKEN_LEN = max(len(t) for t in NULL_TOKENS)


def _typed_and_null(col_sql: str, sql_type: str) -> tuple[str, str]:
    """(typed value, is-a-NULL-token) expressions for one column, the second reading the
    first (``{t}``) so a value is trimmed once: for VARCHAR the typed value is the trimmed
    text; for other types a value that types is no NULL token (no token types as a number,
    date or timestamp: test_ingest checks it), so only the values that do not type are
    tested against the tokens. Both give what ``_typed_expr`` and ``_is_null_token`` give."""
    slow = _typed_expr(col_sql, sql_type)
    t = sql_type.upper()
    typed = _FAST_TYPED[t].format(c=col_sql, slow=slow) if t in _FAST_TYPED else slow
    tokens = ", ".join(_sql_str(tok) for tok in NULL_TOKENS)
    # CASE, not AND / OR: DuckDB evaluates a CASE branch only for the rows that reach it
    if t == "VARCHAR":
        null = (f"CASE WHEN {{t}} IS NULL THEN true WHEN length({{t}}) > {_MAX_TOKEN_LEN} THEN false "
                f"ELSE lower({{t}}) IN ({tokens}) END")
    else:
        null = f"CASE WHEN {{t}} IS NOT NULL THEN false ELSE {_is_null_token(col_sql)} END"
    return typed, null


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


def _range_rules(source: Source, ranges: Ranges) -> dict[str, tuple[str, str]]:
    """``{column: (condition on the typed value {t}, what the reason says)}`` for the columns
    with a sane window (:class:`~ecom_platform.lib.schemas.Ranges`)."""
    out = {}
    if source.name == "transactions":
        out["quantity"] = (f"abs({{t}}) > {int(ranges.max_quantity)}",
                           f"is outside the allowed range (absolute value at most {int(ranges.max_quantity):,}, ECOM_MAX_QUANTITY)")
    if source.name in ("transactions", "events"):
        out["price"] = (f"abs({{t}}) > {float(ranges.max_price)!r}",
                        f"is outside the allowed range (absolute value at most {ranges.max_price:,.0f}, ECOM_MAX_PRICE)")
        date_col = source.date_column
        lo = _sql_str(str(ranges.min_date))
        out[date_col] = (
            f"({{t}} < CAST({lo} AS TIMESTAMP) OR {{t}} >= current_date + {int(ranges.max_days_ahead) + 1})",
            f"is outside the allowed dates ({ranges.min_date} to {int(ranges.max_days_ahead)} days after today, "
            "ECOM_MIN_DATE / ECOM_MAX_DAYS_AHEAD)")
    return out


def _typed_select(source: Source, mapping: dict[str, str], land: str, sheet: str, row_number: str,
                  ranges: Ranges = DEFAULT_RANGES) -> str:
    """SELECT over ``land`` giving the typed columns, ``_sheet``, ``_row_number``, ``_reason``
    (NULL for a good record) and ``_raw`` (the record as JSON text, for quarantined rows only).

    Each column is typed once per row in ``_x`` and tested for a null token in ``_n`` (from
    its typed value, see :func:`_typed_and_null`); the reasons reuse those values (typing
    them again in every reason made this step twice as slow).
    """
    inner, nulls, typed, reasons, suspects = [], [], [], [], []
    rules = _range_rules(source, ranges)
    null_of: dict[str, str] = {}
    typed_of: dict[str, str] = {}
    for i, col in enumerate(source.columns):
        if col.name not in mapping:
            typed.append(f"CAST(NULL AS {col.sql_type}) AS {_q(col.name)}")
            continue
        raw = _q(mapping[col.name])
        t, n = _q(f"__ecom_t{i}"), _q(f"__ecom_n{i}")
        null_of[col.name], typed_of[col.name] = n, t
        typed_sql, null_sql = _typed_and_null(raw, col.sql_type)
        inner.append(f"{typed_sql} AS {t}")
        nulls.append(f"{null_sql.format(t=t)} AS {n}")
        typed.append(f"{t} AS {_q(col.name)}")
        label = col.name
        if col.required:
            reasons.append(f"CASE WHEN {n} THEN '{label} is missing' END")
        bad_value = (
            f"'{label} ' || {_sql_str(chr(39))} || left({raw}, 60) || {_sql_str(chr(39))} "
            f"|| ' is not a valid {col.sql_type.lower()}'"
        )
        reasons.append(f"CASE WHEN NOT {n} AND {t} IS NULL THEN {bad_value} END")
        suspects += [n, f"{t} IS NULL"]
        if col.name in rules:
            cond, says = rules[col.name]
            out_of_range = f"({cond.format(t=t)})"
            reasons.append(f"CASE WHEN {out_of_range} THEN '{label} ' || CAST({t} AS VARCHAR) || {_sql_str(' ' + says)} END")
            suspects.append(f"coalesce({out_of_range}, false)")
    if source.name == "events" and "event_type" in mapping:
        raw = _q(mapping["event_type"])
        allowed = ", ".join(_sql_str(t) for t in EVENT_TYPES)
        unknown_type = f"NOT {null_of['event_type']} AND lower({typed_of['event_type']}) NOT IN ({allowed})"
        suspects.append(f"({unknown_type})")
        reasons.append(
            f"CASE WHEN {unknown_type} "
            f"THEN 'event_type ' || {_sql_str(chr(39))} || left({raw}, 40) || {_sql_str(chr(39))} "
            f"|| ' is not one of {', '.join(EVENT_TYPES)}' END"
        )
    # the reasons are spelled out only for the rows with a missing or untyped value (a
    # good row has none, and building its reasons cost as much as typing it)
    reason = (
        f"CASE WHEN {' OR '.join(suspects)} THEN NULLIF(concat_ws('; ', {', '.join(reasons)}), '') END"
        if reasons else "CAST(NULL AS VARCHAR)"
    )
    pairs = ", ".join(f"{_sql_str(h)}, {_q(h)}" for h in mapping.values())
    return f"""
        WITH _x AS (
            SELECT *, {sheet} AS __ecom_sheet, {row_number} AS __ecom_row, {', '.join(inner) or 'NULL AS __ecom_none'}
            FROM {land}
        ),
        _n AS (SELECT *, {', '.join(nulls) or 'NULL AS __ecom_nonull'} FROM _x),
        _y AS (SELECT *, {reason} AS __ecom_reason FROM _n)
        SELECT {', '.join(typed)},
               __ecom_sheet AS _sheet,
               __ecom_row AS _row_number,
               __ecom_reason AS _reason,
               CASE WHEN __ecom_reason IS NOT NULL THEN CAST(json_object({pairs}) AS VARCHAR) END AS _raw
        FROM _y
    """


# --------------------------------------------------------------------------- one file


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


def ingest_file(con: duckdb.DuckDBPyConnection, lf: LandingFile, run_id: str,
                ranges: Ranges = DEFAULT_RANGES) -> FileResult:
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
            land = (
                "(SELECT *, rowid + 1 AS _land_k FROM _land) "
                "ASOF LEFT JOIN _land_skips ON _land_k > _skip_t"
            )
            row_number = "_land_k + COALESCE(_skip_n, 0)"
        con.execute("DROP TABLE IF EXISTS _typed")
        con.execute(f"CREATE TEMP TABLE _typed AS {_typed_select(source, mapping, land, sheet, row_number, ranges)}")
        n_read, n_bad = con.execute(
            "SELECT count(*), count(_reason) FROM _typed"
        ).fetchone()
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
