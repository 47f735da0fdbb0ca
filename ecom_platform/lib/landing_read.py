"""Reading one landing file into the temporary table ``_land`` (every column VARCHAR):
CSV, CSV.GZ and tab-separated ``.tsv``, Parquet, XLSX.

Text files:

- Encoding: UTF-8 is read as it is. UTF-16 and UTF-32 (a byte order mark, or UTF-16
  without one: every other byte NUL; what Excel writes as "Unicode Text") and text that
  is not UTF-8 are first copied, in chunks, to a temporary UTF-8 file. In text that is
  not UTF-8, lines that are valid UTF-8 stay as they are and the others are decoded as
  Windows-1252 (a superset of the printable Latin-1; its five unassigned bytes map as
  Latin-1 would), so ’ “ ” € … survive.
- DuckDB's CSV reader guesses the dialect (delimiter, quote, escape) and reads every line
  it can; a line it cannot parse (ragged, longer than ``MAX_LINE_BYTES``, a broken quote)
  is returned as unparseable with its record position, DuckDB's reason and (the start
  of) its text, and the rest loads. DuckDB's guess fails on an over-long line among the
  lines it samples; the dialect is then guessed on those lines without it.

A file that cannot be read at all raises :class:`IngestError` naming the file and the
problem. Pure logic over a DuckDB connection, no Dagster.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import os
import tempfile
import zlib
from datetime import date, datetime
from pathlib import Path

import duckdb

from ecom_platform.lib.schemas import normalise_header
from ecom_platform.lib.warehouse import sql_ident

# suffix -> format; .tsv is a text table like .csv (DuckDB finds the delimiter). A .txt
# file is refused (a note beside the exports must not fail a run); renamed .tsv, Excel's
# "Unicode Text" export loads.
FORMATS = {".csv.gz": "csv.gz", ".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".xlsx": "xlsx"}
SUPPORTED_SUFFIXES = tuple(FORMATS)
# DuckDB read_csv's max_line_size default: a longer line is unparseable (quarantined)
MAX_LINE_BYTES = 2_000_000
# the lines DuckDB's dialect guess reads (its sample_size default)
SNIFF_LINES = 20_480


class IngestError(Exception):
    """A whole file could not be ingested. The message names the file and the problem."""


def file_format(path: Path) -> str | None:
    name = path.name.lower()
    for suffix, fmt in FORMATS.items():
        if name.endswith(suffix):
            return fmt
    return None


def _open_bytes(path: str | Path, fmt_or_gz) -> io.BufferedIOBase:
    gz = fmt_or_gz == "csv.gz" if isinstance(fmt_or_gz, str) else bool(fmt_or_gz)
    return gzip.open(path, "rb") if gz else open(path, "rb")


def _head_bytes(path: Path, rel: str, fmt: str, n: int = 65536) -> bytes:
    try:
        with _open_bytes(path, fmt) as fh:
            return fh.read(n)
    except (OSError, EOFError, zlib.error) as exc:
        raise IngestError(f"{rel}: cannot be read as {fmt}: {exc}") from None


_q = sql_ident


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


def wide_encoding(head: bytes) -> str | None:
    """'utf-32' / 'utf-16' for a file starting with that byte order mark, 'utf-16-le' /
    'utf-16-be' for UTF-16 text without one (every other byte NUL, the others not), else None."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    even, odd = head[0::2], head[1::2]
    n = min(len(even), len(odd))
    if n >= 8:
        if odd[:n].count(0) >= 0.9 * n and even[:n].count(0) == 0:
            return "utf-16-le"
        if even[:n].count(0) >= 0.9 * n and odd[:n].count(0) == 0:
            return "utf-16-be"
    return None


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


def _transcode_to_utf8(
    path: Path, rel: str, fmt: str, chunk: int = 1 << 20, encoding: str = "windows-1252"
) -> tuple[str, str]:
    """Copy a CSV that is not UTF-8 to a temporary UTF-8 file, ``chunk`` bytes at a time
    (memory stays bounded). ``encoding`` is a :func:`wide_encoding` or ``windows-1252``
    (lines that are valid UTF-8 kept as they are). Returns ``(temporary path, encoding)``;
    the caller deletes the file.
    """
    fd, tmp = tempfile.mkstemp(prefix="ecom_ingest_", suffix=".csv")
    done = 0
    try:
        with os.fdopen(fd, "wb") as dst, _open_bytes(path, fmt) as src:
            if encoding != "windows-1252":
                decoder = codecs.getincrementaldecoder(encoding)("strict")
                while True:
                    block = src.read(chunk)
                    dst.write(decoder.decode(block, final=not block).encode("utf-8"))
                    if not block:
                        break
                    done += len(block)
                return tmp, encoding
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
    except UnicodeDecodeError as exc:
        os.unlink(tmp)
        raise IngestError(
            f"{rel}: starts as {encoding.upper()} text but is not valid {encoding.upper()} "
            f"about byte {done + exc.start:,} ({exc.reason})"
        ) from None
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp, encoding


def _read_csv(con, read_path: str, rel: str, dialect: str = "auto_detect = true") -> None:
    """``read_path`` (UTF-8) -> temp table ``_land`` (all VARCHAR) and DuckDB's rejects
    tables; ``dialect``: read_csv options (default: DuckDB guesses)."""
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
                null_padding = false, max_line_size = {MAX_LINE_BYTES}, {dialect})
            """
        )
    except duckdb.Error as exc:
        msg = str(exc).splitlines()[0].replace(read_path, rel)
        raise IngestError(f"{rel}: cannot be parsed as CSV: {msg}") from None


def _dialect_without_long_lines(con, read_path: str, gz: bool) -> str | None:
    """read_csv options guessed on the file's first ``SNIFF_LINES`` lines without those
    longer than ``MAX_LINE_BYTES``, or None when none of them is that long.

    DuckDB's dialect guess stops at such a line ("CSV Error on Line: 1") while its scan
    rejects it like any other bad line, so the scan is given the dialect guessed without it.
    """
    fd, sample = tempfile.mkstemp(prefix="ecom_sniff_", suffix=".csv")
    skipped = False
    try:
        with os.fdopen(fd, "wb") as dst, _open_bytes(read_path, gz) as src:
            for _ in range(SNIFF_LINES):
                line = src.readline(MAX_LINE_BYTES + 1)
                if not line:
                    break
                if len(line) <= MAX_LINE_BYTES:
                    dst.write(line)
                    continue
                skipped = True
                while line and not line.endswith(b"\n"):  # the rest of the long line
                    line = src.readline(MAX_LINE_BYTES + 1)
        if not skipped:
            return None
        delim, quote, escape, columns = con.execute(
            "SELECT Delimiter, Quote, Escape, Columns FROM sniff_csv(?, header = true, all_varchar = true)",
            [sample],
        ).fetchone()
    except (OSError, EOFError, zlib.error, duckdb.Error):
        return None
    finally:
        os.unlink(sample)

    def opt(v: str) -> str:
        return _sql_str("" if v == "(empty)" else v)

    cols = ", ".join(f"{_sql_str(c['name'])}: 'VARCHAR'" for c in columns)
    return (
        f"auto_detect = false, delim = {opt(delim)}, quote = {opt(quote)}, escape = {opt(escape)}, columns = {{{cols}}}"
    )


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
    with io.TextIOWrapper(_open_bytes(read_path, gz), encoding="utf-8", errors="replace", newline="") as fh:
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


def load_csv(con, path: Path, rel: str, fmt: str) -> tuple[str, list[dict]]:
    """Read a CSV into temp table ``_land`` (all VARCHAR). Returns (encoding, unparseable lines).

    Each unparseable line is ``{"row": record position, "reason", "text"}``; the position
    counts data records only (header and blank lines excluded), like ``_row_number``.
    """
    head = _head_bytes(path, rel, fmt)
    if not head.strip():
        raise IngestError(f"{rel}: the file is empty (no header, no rows)")
    wide = wide_encoding(head)
    if b"\x00" in head and not wide:
        raise IngestError(f"{rel}: looks binary (NUL bytes), not a CSV text file")
    encoding, tmp = "utf-8", None
    try:
        utf8 = not wide and _is_utf8_head(head)
        if utf8:
            try:
                _read_any_dialect(con, str(path), fmt == "csv.gz", rel)
            except IngestError as exc:
                if not any(w in str(exc).lower() for w in ("unicode", "encod")):
                    raise
                utf8 = False
            else:
                utf8 = not con.execute(
                    "SELECT count(*) FROM _land_rejects WHERE error_type = 'INVALID ENCODING'"
                ).fetchone()[0]
        if not utf8:
            tmp, encoding = _transcode_to_utf8(path, rel, fmt, encoding=wide or "windows-1252")
            _read_any_dialect(con, tmp, False, rel)
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


def _read_any_dialect(con, read_path: str, gz: bool, rel: str) -> None:
    """:func:`_read_csv` with DuckDB's guess of the dialect, or, when the guess fails on
    an over-long line, with the dialect of the lines around it."""
    try:
        _read_csv(con, read_path, rel)
    except IngestError:
        dialect = _dialect_without_long_lines(con, read_path, gz)
        if dialect is None:
            raise
        _read_csv(con, read_path, rel, dialect)


def load_parquet(con, path: Path, rel: str) -> None:
    con.execute("DROP TABLE IF EXISTS _land")
    try:
        con.execute(f"CREATE TEMP TABLE _land AS SELECT COLUMNS(*)::VARCHAR FROM read_parquet({_sql_str(str(path))})")
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


def load_xlsx(con, path: Path, rel: str) -> list[str]:
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


def read_landing(con, path: Path, rel: str) -> tuple[bool, list[dict], str | None]:
    """Read one landing file into ``_land``. Returns (whether ``_land`` has a ``_sheet``
    column, the unparseable CSV lines as :func:`load_csv` gives them, the text encoding
    of a CSV)."""
    fmt = file_format(path)
    if fmt in ("csv", "csv.gz"):
        if path.stat().st_size == 0:
            raise IngestError(f"{rel}: the file is empty (0 bytes)")
        encoding, unparseable = load_csv(con, path, rel, fmt)
        return False, unparseable, encoding
    if fmt == "parquet":
        load_parquet(con, path, rel)
        return False, [], None
    if fmt == "xlsx":
        load_xlsx(con, path, rel)
        return True, [], None
    raise IngestError(f"{rel}: unsupported file type")  # discover_files filters these
