"""Reading the marts into the frames ml_assets expects, and writing ml.* back (no Dagster imports)."""

from __future__ import annotations

from contextlib import contextmanager

import duckdb
import pandas as pd
import pyarrow as pa

# The ``lines`` columns (ml_assets.data.LINE_COLUMNS) as SELECT expressions. A model reads
# only those it uses (``ModelAsset.line_columns`` in ecom_platform/defs/ml.py); the others
# are filled in by ml_assets.data.prepare_lines. At scale 10 (9.8M lines) the full set is
# 1.3 GB in pandas, the description alone ~0.3 GB.
LINE_COLUMN_SQL = {
    "invoice": "f.invoice",
    "stock_code": "f.stock_code",
    "description": "coalesce(p.description, f.description)",
    "customer_id": "f.customer_id",
    "invoice_date": "f.invoice_date",
    "quantity": "CAST(f.quantity AS BIGINT)",  # the contract's int64: no conversion in pandas
    "unit_price": "CAST(f.unit_price AS DOUBLE)",
    "net_amount": "CAST(f.net_amount AS DOUBLE)",
    "is_cancellation": "f.is_cancellation",
    "is_merchandise": "f.is_merchandise",
    "category": "p.category",
    "country": "f.country",
}


def lines_sql(columns: tuple[str, ...] | list[str] | None = None) -> str:
    """The order lines, in a fixed order, with ``columns`` (default: all of LINE_COLUMN_SQL)."""
    cols = list(columns) if columns is not None else list(LINE_COLUMN_SQL)
    unknown = [c for c in cols if c not in LINE_COLUMN_SQL]
    if unknown or not cols:
        raise ValueError(f"unknown line columns {unknown}: expected some of {list(LINE_COLUMN_SQL)}")
    select = ",\n       ".join(f"{LINE_COLUMN_SQL[c]} AS {c}" for c in cols)
    join = "LEFT JOIN marts.dim_products AS p USING (product_key)\n" if any(
        "p." in LINE_COLUMN_SQL[c] for c in cols) else ""
    return (f"SELECT {select}\nFROM marts.fct_order_lines AS f\n{join}"
            "ORDER BY f.invoice_date, f.invoice, f.order_line_key\n")


LINES_SQL = lines_sql()

CUSTOMERS_SQL = """
SELECT customer_id, birth_year, CAST(income AS DOUBLE) AS income, household_size,
       signup_date, channel, country
FROM marts.dim_customers
WHERE customer_key <> -1 AND has_profile
ORDER BY customer_id
"""

# What the churn features read of the clickstream, and no more: known customers' events
# only (anonymous visitors have no label), the type as an ENUM (a pandas categorical, not
# one Python string per event) and the session as a 64-bit hash (only counted, never
# shown). At scale 10 the full event rows (31.7M with product, category, brand and the
# session text) took the churn step to 20 GB; these four narrow columns take ~25 bytes each.
EVENTS_SQL = """
SELECT e.user_id, e.event_time,
       CAST(lower(e.event_type) AS ENUM('view', 'cart', 'remove_from_cart', 'purchase')) AS event_type,
       hash(e.session_id) AS user_session
FROM marts.fct_events AS e
WHERE e.user_id IN (SELECT customer_id FROM marts.dim_customers WHERE customer_key <> -1)
ORDER BY e.event_time, e.event_key
"""

RFM_SQL = "SELECT * FROM marts.customer_rfm ORDER BY customer_id"


# Nullable pandas dtypes for integer columns with NULLs (what DuckDB's .df() gives).
_NULLABLE_INT = {
    pa.int8(): pd.Int8Dtype(), pa.int16(): pd.Int16Dtype(), pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(), pa.uint8(): pd.UInt8Dtype(), pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(), pa.uint64(): pd.UInt64Dtype(),
}


def _to_pandas(col: pa.ChunkedArray) -> pd.Series:
    """One Arrow column as the Series DuckDB's ``.df()`` would give: DECIMAL -> float64,
    DATE -> datetime64[us], integers with NULLs -> nullable IntNN, ENUM -> ordered
    categorical, text -> pandas' Arrow-backed ``str`` (no copy)."""
    t = col.type
    if pa.types.is_dictionary(t):
        return col.to_pandas().cat.as_ordered()
    if pa.types.is_decimal(t):
        col = col.cast(pa.float64())
    elif pa.types.is_date(t):
        col = col.cast(pa.timestamp("us"))
    elif pa.types.is_integer(t) and col.null_count:
        return col.to_pandas(types_mapper={t: _NULLABLE_INT[t]}.get)
    return col.to_pandas()


def read_frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    """The result of ``sql`` as a pandas frame, through Arrow, one column at a time.

    DuckDB's ``.df()`` turned every text value into a Python string first: reading the
    9.8M order lines of scale 10 that way peaked at 8.2 GB for a 1.3 GB frame (16 s).
    Through Arrow, text stays in Arrow buffers that pandas' ``str`` dtype wraps without a
    copy, and each column's Arrow buffers are released as soon as it is converted.
    """
    table = con.sql(sql).to_arrow_table()
    names = table.column_names
    columns = [table.column(i) for i in range(table.num_columns)]
    del table
    out = {}
    for name in names:
        col = columns.pop(0)
        out[name] = _to_pandas(col)
        del col
    return pd.DataFrame(out, copy=False)


# DuckDB's memory limit while the ML inputs are read. The reads are sorts of up to 30M
# rows (events at scale 10) that DuckDB would otherwise hold in memory up to the
# warehouse's limit (4 GB) beside the Arrow and pandas copies of the result; with 512 MB
# it spills the sort to its temp directory and the read is no slower (scale 10 events:
# 1.7 GB peak instead of 3.8 GB, 4.3 s instead of 6.2 s).
READ_MEMORY_LIMIT = "512MB"


def _bytes(setting: str) -> float | None:
    """``'953.6 MiB'`` / ``'4GB'`` -> bytes (None when it cannot be read)."""
    units = {"b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
             "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}
    text = setting.strip().lower().replace(" ", "")
    num = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    try:
        return float(num) * units[text[len(num):] or "b"]
    except (KeyError, ValueError):
        return None


@contextmanager
def read_memory_limit(con: duckdb.DuckDBPyConnection, limit: str | None = READ_MEMORY_LIMIT,
                      restore: str | None = None):
    """Lower DuckDB's memory_limit to ``limit`` inside the block (never raise it), then set
    it back: to ``restore`` when given (the configured limit), else to the value DuckDB
    reported before (which it rounds to 0.1 GiB)."""
    before = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    lower = limit is not None and (_bytes(before) is None or (_bytes(limit) or 0) < _bytes(before))
    if lower:
        con.execute(f"SET memory_limit = '{limit}'")
    try:
        yield
    finally:
        if lower:
            con.execute(f"SET memory_limit = '{restore or before}'")


def read_inputs(
    con: duckdb.DuckDBPyConnection,
    with_events: bool = True,
    line_columns: tuple[str, ...] | list[str] | None = None,
    memory_limit: str | None = READ_MEMORY_LIMIT,
    restore_memory_limit: str | None = None,
) -> dict[str, pd.DataFrame]:
    """The frames ml_assets expects; ``line_columns`` narrows ``lines`` (default: all).
    DuckDB's memory limit is lowered to ``memory_limit`` while reading (None: unchanged)
    and then set to ``restore_memory_limit`` (see :func:`read_memory_limit`)."""
    with read_memory_limit(con, memory_limit, restore_memory_limit):
        # the events first: their read needs the most scratch memory (nothing else held yet)
        events = read_frame(con, EVENTS_SQL) if with_events else None
        out = {
            "lines": read_frame(con, lines_sql(line_columns)),
            "customers": read_frame(con, CUSTOMERS_SQL),
            "rfm": read_frame(con, RFM_SQL),
        }
        if events is not None:
            out["events"] = events
    return out


def write_table(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> int:
    """Replace ``ml.<table>`` with ``frame`` in one statement (readers never see it half-written)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS ml")
    con.register("_ml_frame", frame)
    try:
        con.execute(f"CREATE OR REPLACE TABLE ml.{table} AS SELECT * FROM _ml_frame")
    finally:
        con.unregister("_ml_frame")
    return int(con.execute(f"SELECT count(*) FROM ml.{table}").fetchone()[0])


# ml.model_metrics columns that a run may leave empty, with their types.
METRICS_NULLABLE_TYPES = {
    "baseline_name": "VARCHAR", "baseline_value": "DOUBLE", "beats_baseline": "BOOLEAN", "reason": "VARCHAR",
    "data_start": "VARCHAR", "data_end": "VARCHAR", "n_train": "BIGINT", "n_eval": "BIGINT",
    "artifact_hash": "VARCHAR",
}


def append_metrics(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, run_id: str) -> int:
    """Append one model run's rows to ``ml.model_metrics`` (history is kept)."""
    frame = frame.copy()
    frame.insert(0, "dagster_run_id", run_id)
    frame.insert(1, "recorded_at", pd.Timestamp.now().floor("s"))
    con.execute("CREATE SCHEMA IF NOT EXISTS ml")
    con.register("_ml_metrics", frame)
    try:
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'ml' AND table_name = 'model_metrics'"
        ).fetchone()[0]
        if not exists:
            # typed explicitly: a first run whose column is all None (a model without n_eval)
            # would otherwise create a NULL-typed column that every later run fails to fill
            casts = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in METRICS_NULLABLE_TYPES.items() if c in frame)
            con.execute(f"CREATE TABLE ml.model_metrics AS SELECT * REPLACE ({casts}) FROM _ml_metrics")
        else:
            con.execute("INSERT INTO ml.model_metrics BY NAME SELECT * FROM _ml_metrics")
    finally:
        con.unregister("_ml_metrics")
    return len(frame)
