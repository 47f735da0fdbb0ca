"""Reading the marts into the frames ml_assets expects, and writing ml.* back (no Dagster imports)."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ecom_platform.lib import ml_tables, warehouse

# The ``lines`` columns (ml_assets.data.LINE_COLUMNS) as SELECT expressions. A model reads
# only those it uses (``ModelSpec.line_columns`` in ecom_platform/lib/ml_runner.py); the others
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


# --------------------------------------------------------------------------- customer chunks
#
# The customer-level models (churn, segmentation, recommendations) train on at most
# ``max_customers`` customers (ECOM_ML_MAX_CUSTOMERS) and score everyone in chunks of that
# size. The customers are ordered by ``customer_key`` (md5 of the customer id: stable across
# runs and DuckDB versions, and unrelated to when a customer arrived or how much they buy),
# chunk i is the ranks [i * max_customers, (i + 1) * max_customers), and the first chunk is
# the training sample. A chunk is a range of keys, so every key (and customer) is in
# exactly one chunk.


@dataclass(frozen=True)
class CustomerChunk:
    """Customers with ``low <= customer_key < high`` (None: unbounded), the unknown member
    (-1) never. A single chunk (``count == 1``) is every customer: it reads exactly what
    the unchunked queries read (guest lines included)."""

    index: int
    count: int
    n_customers: int
    total_customers: int
    low: int | None = None
    high: int | None = None

    @property
    def everyone(self) -> bool:
        return self.count == 1

    def key_filter(self) -> str:
        """The SQL predicate on ``marts.dim_customers``."""
        parts = ["customer_key <> -1"]
        if self.low is not None:
            parts.append(f"customer_key >= {int(self.low)}")
        if self.high is not None:
            parts.append(f"customer_key < {int(self.high)}")
        return " AND ".join(parts)

    def ids_sql(self) -> str:
        return f"SELECT customer_id FROM marts.dim_customers WHERE {self.key_filter()}"


def customer_chunks(con: duckdb.DuckDBPyConnection, max_customers: int) -> list[CustomerChunk]:
    """The known customers of ``marts.dim_customers`` in chunks of at most ``max_customers``,
    by ``customer_key``; one chunk (everyone) when there are no more than that."""
    if int(max_customers) < 1:
        raise ValueError(f"max_customers={max_customers} must be >= 1")
    rows = con.execute(f"""
        SELECT chunk, min(customer_key) AS low, count(*) AS n
        FROM (SELECT customer_key,
                     (row_number() OVER (ORDER BY customer_key) - 1) // {int(max_customers)} AS chunk
              FROM marts.dim_customers WHERE customer_key <> -1)
        GROUP BY chunk ORDER BY chunk""").fetchall()
    total = int(sum(r[2] for r in rows))
    if len(rows) <= 1:
        return [CustomerChunk(0, 1, total, total)]
    lows = [int(r[1]) for r in rows]
    return [
        CustomerChunk(
            i,
            len(rows),
            int(r[2]),
            total,
            low=None if i == 0 else lows[i],
            high=lows[i + 1] if i + 1 < len(rows) else None,
        )
        for i, r in enumerate(rows)
    ]


# Guest lines (no customer id) sampled by basket when the customers are: the invoices whose
# md5 (as the dbt keys take it: 60 bits) falls below the sampled share of customers, so the
# sample keeps the shop's mix of guest and customer baskets (recommendations count them for
# popularity, the item universe and frequently-bought-together).
_GUEST_BUCKETS = 16**15


def _guest_filter(fraction: float) -> str:
    threshold = int(min(max(fraction, 0.0), 1.0) * _GUEST_BUCKETS)
    return f"(f.customer_id IS NULL AND CAST(('0x' || left(md5(f.invoice), 15)) AS BIGINT) < {threshold})"


def lines_sql(
    columns: tuple[str, ...] | list[str] | None = None,
    chunk: CustomerChunk | None = None,
    guest_fraction: float | None = None,
) -> str:
    """The order lines, in a fixed order, with ``columns`` (default: all of LINE_COLUMN_SQL).

    With a ``chunk`` of several: only the lines of its customers, plus the guest lines of
    a ``guest_fraction`` of the guest baskets when given (none otherwise)."""
    cols = list(columns) if columns is not None else list(LINE_COLUMN_SQL)
    unknown = [c for c in cols if c not in LINE_COLUMN_SQL]
    if unknown or not cols:
        raise ValueError(f"unknown line columns {unknown}: expected some of {list(LINE_COLUMN_SQL)}")
    select = ",\n       ".join(f"{LINE_COLUMN_SQL[c]} AS {c}" for c in cols)
    join = (
        "LEFT JOIN marts.dim_products AS p USING (product_key)\n"
        if any("p." in LINE_COLUMN_SQL[c] for c in cols)
        else ""
    )
    where = ""
    if chunk is not None and not chunk.everyone:
        where = f"WHERE f.customer_id IN ({chunk.ids_sql()})"
        if guest_fraction is not None:
            where = f"WHERE (f.customer_id IN ({chunk.ids_sql()}) OR {_guest_filter(guest_fraction)})"
        where += "\n"
    return (
        f"SELECT {select}\nFROM marts.fct_order_lines AS f\n{join}{where}"
        "ORDER BY f.invoice_date, f.invoice, f.order_line_key\n"
    )


LINES_SQL = lines_sql()

CUSTOMERS_SQL = """
SELECT customer_id, birth_year, CAST(income AS DOUBLE) AS income, household_size,
       signup_date, channel, country
FROM marts.dim_customers
WHERE customer_key <> -1 AND has_profile
ORDER BY customer_id
"""


def customers_sql(chunk: CustomerChunk | None = None) -> str:
    if chunk is None or chunk.everyone:
        return CUSTOMERS_SQL
    return CUSTOMERS_SQL.replace(
        "WHERE customer_key <> -1 AND has_profile", f"WHERE {chunk.key_filter()} AND has_profile"
    )


def line_span(con: duckdb.DuckDBPyConnection) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last ``invoice_date`` of all order lines (guests included); None without
    lines. A model trained on a sample takes its dates (as-of date, time split) from here."""
    first, last = con.execute("SELECT min(invoice_date), max(invoice_date) FROM marts.fct_order_lines").fetchone()
    if first is None:
        return None
    return pd.Timestamp(first), pd.Timestamp(last)


# What the churn features read of the clickstream, and no more: known customers' events
# only (anonymous visitors have no label), the type as an ENUM (a pandas categorical, not
# one Python string per event) and the session as a 64-bit hash (only counted, never
# shown). At scale 10 the full event rows (31.7M with product, category, brand and the
# session text) took the churn step to 20 GB; these four narrow columns take ~25 bytes each.
EVENT_TYPE_ENUM = "ENUM('view', 'cart', 'remove_from_cart', 'purchase')"
EVENTS_SQL = f"""
SELECT e.user_id, e.event_time,
       CAST(lower(e.event_type) AS {EVENT_TYPE_ENUM}) AS event_type,
       hash(e.session_id) AS user_session
FROM marts.fct_events AS e
WHERE e.user_id IN (SELECT customer_id FROM marts.dim_customers WHERE customer_key <> -1)
ORDER BY e.event_time, e.event_key
"""

RFM_SQL = "SELECT * FROM marts.customer_rfm ORDER BY customer_id"


_KNOWN_USERS = "WHERE e.user_id IN (SELECT customer_id FROM marts.dim_customers WHERE customer_key <> -1)"

# Scoring at one cutoff reads only what the clickstream features use there (features.py:
# windows of at most EVENT_LOOKBACK_DAYS before the cutoff, and each user's last event): the
# events since ``recent_from`` as they are, and before it one row per user carrying the
# time of their last older event (its type and session are never counted: they fall
# outside every window). At scale 50 a chunk of 50,000 customers read 29M events, ~24% of
# them recent.
RECENT_EVENTS_SQL = f"""
WITH e AS NOT MATERIALIZED (
    SELECT e.user_id, e.event_time, e.event_type, e.session_id
    FROM marts.fct_events AS e
    {{where}}
)
SELECT user_id, event_time,
       CAST(lower(event_type) AS {EVENT_TYPE_ENUM}) AS event_type,
       hash(session_id) AS user_session
FROM e WHERE event_time >= TIMESTAMP '{{recent_from}}'
UNION ALL
SELECT user_id, max(event_time) AS event_time,
       CAST('view' AS {EVENT_TYPE_ENUM}) AS event_type,
       CAST(0 AS UBIGINT) AS user_session
FROM e WHERE event_time < TIMESTAMP '{{recent_from}}'
GROUP BY user_id
ORDER BY event_time, user_id
"""


def events_sql(chunk: CustomerChunk | None = None, recent_from: pd.Timestamp | None = None) -> str:
    """The churn features' events of ``chunk``'s customers (all known customers without
    one); with ``recent_from``, those since then and each user's last older event only."""
    where = _KNOWN_USERS if chunk is None or chunk.everyone else f"WHERE e.user_id IN ({chunk.ids_sql()})"
    if recent_from is not None:
        return RECENT_EVENTS_SQL.format(where=where, recent_from=pd.Timestamp(recent_from).isoformat(sep=" "))
    return EVENTS_SQL.replace(_KNOWN_USERS, where)


def rfm_sql(chunk: CustomerChunk | None = None) -> str:
    if chunk is None or chunk.everyone:
        return RFM_SQL
    return f"SELECT * FROM marts.customer_rfm WHERE customer_id IN ({chunk.ids_sql()}) ORDER BY customer_id"


# Nullable pandas dtypes for integer columns with NULLs (what DuckDB's .df() gives).
_NULLABLE_INT = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
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
# it spills the sort to its temp directory and the read is no slower, with less than half
# the peak (docs/benchmarks.md, Measured choices).
READ_MEMORY_LIMIT = "512MB"


def _bytes(setting: str) -> float | None:
    """``'953.6 MiB'`` / ``'4GB'`` -> bytes (None when it cannot be read)."""
    units = {
        "b": 1,
        "kb": 1e3,
        "mb": 1e6,
        "gb": 1e9,
        "tb": 1e12,
        "kib": 2**10,
        "mib": 2**20,
        "gib": 2**30,
        "tib": 2**40,
    }
    text = setting.strip().lower().replace(" ", "")
    num = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    try:
        return float(num) * units[text[len(num) :] or "b"]
    except (KeyError, ValueError):
        return None


@contextmanager
def read_memory_limit(
    con: duckdb.DuckDBPyConnection, limit: str | None = READ_MEMORY_LIMIT, restore: str | None = None
):
    """Lower DuckDB's memory_limit to ``limit`` inside the block (never raise it), then set
    it back: to ``restore`` when given (the configured limit), else to the value DuckDB
    reported before (which it rounds to 0.1 GiB)."""
    before = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    lower = limit is not None and (_bytes(before) is None or (_bytes(limit) or 0) < _bytes(before))
    if lower:
        con.execute(f"SET memory_limit = {warehouse.sql_literal(limit)}")
    try:
        yield
    finally:
        if lower:
            con.execute(f"SET memory_limit = {warehouse.sql_literal(restore or before)}")


def read_inputs(
    con: duckdb.DuckDBPyConnection,
    with_events: bool = True,
    line_columns: tuple[str, ...] | list[str] | None = None,
    memory_limit: str | None = READ_MEMORY_LIMIT,
    restore_memory_limit: str | None = None,
    chunk: CustomerChunk | None = None,
    guest_fraction: float | None = None,
    with_rfm: bool = True,
    events_from: pd.Timestamp | None = None,
) -> dict[str, pd.DataFrame]:
    """The frames ml_assets expects; ``line_columns`` narrows ``lines`` (default: all).
    DuckDB's memory limit is lowered to ``memory_limit`` while reading (None: unchanged)
    and then set to ``restore_memory_limit`` (see :func:`read_memory_limit`).

    With a ``chunk`` (of several), only its customers' lines, events, profiles and RFM rows
    (and ``guest_fraction`` of the guest baskets, see :func:`lines_sql`); ``events_from``:
    only the events a scoring at one cutoff needs (see :data:`RECENT_EVENTS_SQL`)."""
    with read_memory_limit(con, memory_limit, restore_memory_limit):
        # the events first: their read needs the most scratch memory (nothing else held yet)
        events = read_frame(con, events_sql(chunk, events_from)) if with_events else None
        out = {
            "lines": read_frame(con, lines_sql(line_columns, chunk, guest_fraction)),
            "customers": read_frame(con, customers_sql(chunk)),
        }
        if with_rfm:
            out["rfm"] = read_frame(con, rfm_sql(chunk))
        if events is not None:
            out["events"] = events
    return out


# What the forecast reads: demand (non-cancelled merchandise lines with quantity > 0, as
# ml_assets.forecast_data.weekly_demand selects after prepare_lines: a NULL flag is false, a
# NULL quantity 0) summed per product, category and week in SQL (weeks start on Monday, as
# forecast_data.week_start), and the first and last day of all lines. Its size grows with
# products and weeks, not with lines (scale 10: 9.8M lines -> 0.6M rows).
DEMAND_WHERE = (
    "NOT coalesce(f.is_cancellation, false) AND coalesce(f.is_merchandise, false)\n"
    "  AND f.quantity > 0 AND f.invoice_date IS NOT NULL"
)
WEEKLY_UNITS_SQL = f"""
SELECT f.stock_code, p.category, date_trunc('week', f.invoice_date) AS week_start,
       CAST(sum(f.quantity) AS DOUBLE) AS units, count(*) AS n
FROM marts.fct_order_lines AS f
LEFT JOIN marts.dim_products AS p USING (product_key)
WHERE {DEMAND_WHERE}
GROUP BY ALL
ORDER BY week_start, f.stock_code, p.category
"""
# The weekly revenue is summed in pandas, over the demand lines in the order lines_sql reads
# them, a week at a time: the same float sums (pandas' compensated summation, in the same
# order) as the line-level path. DuckDB's exact DECIMAL sum differs from those in the last
# bit in ~40% of the weeks (scale 10), and that is enough to change the LightGBM model.
WEEKLY_REVENUE_LINES_SQL = f"""
SELECT date_trunc('week', f.invoice_date) AS week_start, CAST(f.net_amount AS DOUBLE) AS net_amount
FROM marts.fct_order_lines AS f
WHERE {DEMAND_WHERE}
ORDER BY f.invoice_date, f.invoice, f.order_line_key
"""
REVENUE_BATCH_ROWS = 1_000_000


def weekly_revenue(con: duckdb.DuckDBPyConnection, batch_rows: int = REVENUE_BATCH_ROWS) -> pd.Series:
    """Demand revenue per week (float), streamed: at most ``batch_rows`` lines plus one
    week's are held at a time. Rows come in time order, so a week is complete as soon as a
    later one starts; each complete week is summed as ``Series.groupby(week).sum()`` sums it
    over all the lines."""
    reader = con.sql(WEEKLY_REVENUE_LINES_SQL).to_arrow_reader(batch_rows)
    parts: list[pd.Series] = []
    weeks = amounts = None
    for batch in reader:
        wk = batch.column(0).to_numpy(zero_copy_only=False)
        amt = batch.column(1).to_numpy(zero_copy_only=False)
        if weeks is not None and len(weeks):
            wk, amt = np.concatenate([weeks, wk]), np.concatenate([amounts, amt])
        if len(wk) == 0:
            continue
        cut = int(np.searchsorted(wk, wk[-1], side="left"))  # the last week may go on
        if cut:
            parts.append(pd.Series(amt[:cut]).groupby(wk[:cut]).sum())
        weeks, amounts = wk[cut:], amt[cut:]
    if weeks is not None and len(weeks):
        parts.append(pd.Series(amounts).groupby(weeks).sum())
    if not parts:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], dtype="datetime64[us]"))
    return pd.concat(parts)


def read_weekly_demand(
    con: duckdb.DuckDBPyConnection,
    memory_limit: str | None = READ_MEMORY_LIMIT,
    restore_memory_limit: str | None = None,
):
    """The forecast's input (:class:`ml_assets.forecast_data.WeeklyDemand`): the same as
    ``weekly_demand`` of the order lines, without reading the lines into pandas."""
    from ml_assets.forecast_data import WeeklyDemand

    with read_memory_limit(con, memory_limit, restore_memory_limit):
        units = read_frame(con, WEEKLY_UNITS_SQL)
        revenue = weekly_revenue(con)
        span = line_span(con)
    return WeeklyDemand(
        units=units,
        revenue=revenue,
        first_day=span[0].normalize() if span else pd.NaT,
        last_day=span[1].normalize() if span else pd.NaT,
    )


def write_table(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> int:
    """Replace ``ml.<table>`` with ``frame`` and its descriptions (:mod:`ml_tables`, as DuckDB
    comments) in one transaction (readers never see it half-written or undescribed)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS ml")
    con.register("_ml_frame", frame)
    try:
        con.begin()
        try:
            con.execute(f"CREATE OR REPLACE TABLE ml.{table} AS SELECT * FROM _ml_frame")
            ml_tables.apply_comments(con, table)
            con.commit()
        except BaseException:
            con.rollback()
            raise
    finally:
        con.unregister("_ml_frame")
    return int(con.execute(f"SELECT count(*) FROM ml.{table}").fetchone()[0])


# ml.model_metrics' columns and their types. The run that creates the table names every type:
# a column a run leaves empty (a model without n_eval), or a run with no metric at all (a model
# the data cannot support, trained on nothing), would otherwise create NULL-typed columns that
# every later run fails to fill.
METRICS_TYPES = {
    "dagster_run_id": "VARCHAR",
    "run_at": "VARCHAR",
    "task": "VARCHAR",
    "model": "VARCHAR",
    "metric": "VARCHAR",
    "value": "DOUBLE",
    "higher_is_better": "BOOLEAN",
    "is_primary": "BOOLEAN",
    "publishable": "BOOLEAN",
    "params": "VARCHAR",
    "baseline_name": "VARCHAR",
    "baseline_value": "DOUBLE",
    "beats_baseline": "BOOLEAN",
    "reason": "VARCHAR",
    "data_start": "VARCHAR",
    "data_end": "VARCHAR",
    "n_train": "BIGINT",
    "n_eval": "BIGINT",
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
            casts = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in METRICS_TYPES.items() if c in frame)
            con.execute(f"CREATE TABLE ml.model_metrics AS SELECT * REPLACE ({casts}) FROM _ml_metrics")
        else:
            con.execute("INSERT INTO ml.model_metrics BY NAME SELECT * FROM _ml_metrics")
        # every time, so a table created before the descriptions existed gets them too
        ml_tables.apply_comments(con, "model_metrics")
    finally:
        con.unregister("_ml_metrics")
    return len(frame)
