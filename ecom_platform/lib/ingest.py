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
3. It is read into a table of text columns by :mod:`ecom_platform.lib.landing_read`: CSV,
   CSV.GZ, tab-separated text, Parquet or XLSX (every sheet); UTF-8, UTF-16/32 or
   Windows-1252 text; a CSV line that cannot be parsed (ragged, over-long) is set aside
   with its position. Header names are mapped through ``schemas.py`` aliases, so Online
   Retail I and II both fit. A file that cannot be read at all (empty, binary, not a
   table, missing required columns) raises :class:`IngestError` naming the file and the
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

import hashlib
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from ecom_platform.lib.landing_read import (  # noqa: F401 - IngestError, file_format, SUPPORTED_SUFFIXES re-exported
    SUPPORTED_SUFFIXES,
    IngestError,
    _q,
    _sql_str,
    file_format,
    read_landing,
)
from ecom_platform.lib.schemas import (
    DEFAULT_RANGES,
    EVENT_TYPES,
    INGEST_LOG_DDL,
    LINEAGE_COLUMNS,
    QUARANTINE_DDL,
    SOURCES,
    Ranges,
    Source,
    normalise_header,
)

IGNORED_SUFFIXES = (".tmp", ".part", ".crdownload")
NULL_TOKENS = ("", "nan", "none", "null", "<na>", "nat")


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
    read_as: str | None = None  # how a file was read when not as plain UTF-8 / a decimal point

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def note(self) -> str:
        """How the file was read and what went wrong, for logs and metadata ('' if nothing)."""
        return "; ".join(x for x in (self.read_as, self.error) if x)


# --------------------------------------------------------------------------- discovery


def _ignored(name: str) -> bool:
    return name.startswith((".", "_")) or name.lower().endswith(IGNORED_SUFFIXES)


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
                hint = (
                    "; a tab-separated text export (Excel's Unicode Text) loads renamed to .tsv"
                    if path.name.lower().endswith(".txt")
                    else ""
                )
                refused.append(
                    f"{rel}: refused, unsupported file type (expected one of {', '.join(SUPPORTED_SUFFIXES)}){hint}"
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
            f"TRY_STRPTIME({s}, '%m/%d/%Y %H:%M:%S'), TRY_STRPTIME({s}, '%d.%m.%Y %H:%M'), "
            f"TRY_STRPTIME({s}, '%d.%m.%Y %H:%M:%S'), TRY_STRPTIME({s}, '%d.%m.%Y'))"
        )
    if t == "DATE":
        return (
            f"COALESCE(TRY_CAST({v} AS DATE), TRY_CAST(TRY_CAST({v} AS TIMESTAMP) AS DATE), "
            f"TRY_CAST(TRY_STRPTIME({v}, '%m/%d/%Y') AS DATE), TRY_CAST(TRY_STRPTIME({v}, '%d.%m.%Y') AS DATE))"
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
        null = (
            f"CASE WHEN {{t}} IS NULL THEN true WHEN length({{t}}) > {_MAX_TOKEN_LEN} THEN false "
            f"ELSE lower({{t}}) IN ({tokens}) END"
        )
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
        out["quantity"] = (
            f"abs({{t}}) > {int(ranges.max_quantity)}",
            f"is outside the allowed range (absolute value at most {int(ranges.max_quantity):,}, ECOM_MAX_QUANTITY)",
        )
    if source.name in ("transactions", "events"):
        out["price"] = (
            f"abs({{t}}) > {float(ranges.max_price)!r}",
            f"is outside the allowed range (absolute value at most {ranges.max_price:,.0f}, ECOM_MAX_PRICE)",
        )
        date_col = source.date_column
        lo = _sql_str(str(ranges.min_date))
        out[date_col] = (
            f"({{t}} < CAST({lo} AS TIMESTAMP) OR {{t}} >= current_date + {int(ranges.max_days_ahead) + 1})",
            f"is outside the allowed dates ({ranges.min_date} to {int(ranges.max_days_ahead)} days after today, "
            "ECOM_MIN_DATE / ECOM_MAX_DAYS_AHEAD)",
        )
    return out


# A number with a decimal comma ("2,55", "1.234,50") and one with a decimal point ("2.55",
# "1,234.50"); three digits after the separator ("1,234") could be either and count for neither.
_COMMA_DECIMAL = r"[+-]?([0-9]{1,3}(\.[0-9]{3})+|[0-9]*),([0-9]{1,2}|[0-9]{4,})"
_POINT_DECIMAL = r"[+-]?([0-9]{1,3}(,[0-9]{3})+|[0-9]*)\.([0-9]{1,2}|[0-9]{4,})"


def _is_decimal(sql_type: str) -> bool:
    return sql_type.upper().startswith("DECIMAL") or sql_type.upper() == "DOUBLE"


def decimal_comma(con, source: Source, mapping: dict[str, str], land: str = "_land") -> bool:
    """Whether the file writes its decimal numbers with a decimal comma (European
    spreadsheets: ``2,55``, ``1.234,50``): some decimal column value has the comma form and
    none has the point form. Reads only files with a comma in a decimal column."""
    cols = [_q(mapping[c.name]) for c in source.columns if c.name in mapping and _is_decimal(c.sql_type)]
    if not cols:
        return False
    has_comma = " OR ".join(f"contains({c}, ',')" for c in cols)
    if not con.execute(f"SELECT EXISTS (SELECT 1 FROM {land} WHERE {has_comma})").fetchone()[0]:
        return False
    n_comma, n_point = con.execute(
        "SELECT "
        + ", ".join(
            " + ".join(f"count(*) FILTER (WHERE regexp_full_match(trim({c}), {_sql_str(rx)}))" for c in cols)
            for rx in (_COMMA_DECIMAL, _POINT_DECIMAL)
        )
        + f" FROM {land}"
    ).fetchone()
    return n_comma > 0 and n_point == 0


def _typed_select(
    source: Source,
    mapping: dict[str, str],
    land: str,
    sheet: str,
    row_number: str,
    ranges: Ranges = DEFAULT_RANGES,
    comma_decimals: bool = False,
) -> str:
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
        # in a decimal-comma file "1.234,50" is typed as 1234.50 and a quantity "1.000" as
        # 1000, not 1 (the reason keeps the text)
        numeric = _is_decimal(col.sql_type) or col.sql_type.upper() in ("INTEGER", "BIGINT")
        value = f"replace(replace({raw}, '.', ''), ',', '.')" if comma_decimals and numeric else raw
        typed_sql, null_sql = _typed_and_null(value, col.sql_type)
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
            reasons.append(
                f"CASE WHEN {out_of_range} THEN '{label} ' || CAST({t} AS VARCHAR) || {_sql_str(' ' + says)} END"
            )
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
        if reasons
        else "CAST(NULL AS VARCHAR)"
    )
    pairs = ", ".join(f"{_sql_str(h)}, {_q(h)}" for h in mapping.values())
    return f"""
        WITH _x AS (
            SELECT *, {sheet} AS __ecom_sheet, {row_number} AS __ecom_row, {", ".join(inner) or "NULL AS __ecom_none"}
            FROM {land}
        ),
        _n AS (SELECT *, {", ".join(nulls) or "NULL AS __ecom_nonull"} FROM _x),
        _y AS (SELECT *, {reason} AS __ecom_reason FROM _n)
        SELECT {", ".join(typed)},
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
