"""Reading the marts into the frames ml_assets expects, and writing ml.* back (no Dagster imports)."""

from __future__ import annotations

import duckdb
import pandas as pd

LINES_SQL = """
SELECT f.invoice, f.stock_code, coalesce(p.description, f.description) AS description,
       f.customer_id, f.invoice_date, f.quantity,
       CAST(f.unit_price AS DOUBLE) AS unit_price, CAST(f.net_amount AS DOUBLE) AS net_amount,
       f.is_cancellation, f.is_merchandise, p.category, f.country
FROM marts.fct_order_lines AS f
LEFT JOIN marts.dim_products AS p USING (product_key)
ORDER BY f.invoice_date, f.invoice, f.order_line_key
"""

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


def read_frame(con: duckdb.DuckDBPyConnection, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


def read_inputs(con: duckdb.DuckDBPyConnection, with_events: bool = True) -> dict[str, pd.DataFrame]:
    out = {
        "lines": read_frame(con, LINES_SQL),
        "customers": read_frame(con, CUSTOMERS_SQL),
        "rfm": read_frame(con, RFM_SQL),
    }
    if with_events:
        out["events"] = read_frame(con, EVENTS_SQL)
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
            con.execute("CREATE TABLE ml.model_metrics AS SELECT * FROM _ml_metrics")
        else:
            con.execute("INSERT INTO ml.model_metrics BY NAME SELECT * FROM _ml_metrics")
    finally:
        con.unregister("_ml_metrics")
    return len(frame)
