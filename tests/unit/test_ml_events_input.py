"""The clickstream input of the churn model: narrow, typed once, never copied per cutoff."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from ecom_platform.lib import ml_io
from ml_assets.data import prepare_events


def _warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute(
        "CREATE TABLE marts.dim_customers AS SELECT * FROM (VALUES (-1, NULL), (1, 10001), (2, 10002)) "
        "AS t(customer_key, customer_id)"
    )
    con.execute(
        """
        CREATE TABLE marts.fct_events AS SELECT * FROM (VALUES
            (1, 10001, TIMESTAMP '2025-01-01 10:00', 'view', 's-a'),
            (2, 10001, TIMESTAMP '2025-01-01 10:05', 'CART', 's-a'),
            (3, 10002, TIMESTAMP '2025-01-02 09:00', 'purchase', 's-b'),
            (4, 900000001, TIMESTAMP '2025-01-02 09:30', 'view', 's-c'),
            (5, 10001, TIMESTAMP '2025-01-03 08:00', 'remove_from_cart', 's-d')
        ) AS t(event_key, user_id, event_time, event_type, session_id)
        """
    )
    return con


def test_events_sql_reads_known_customers_only_with_narrow_columns():
    ev = ml_io.read_frame(_warehouse(), ml_io.EVENTS_SQL)
    assert list(ev.columns) == ["user_id", "event_time", "event_type", "user_session"]
    assert sorted(ev["user_id"].unique().tolist()) == [10001, 10002]  # the anonymous visitor is left out
    assert isinstance(ev["event_type"].dtype, pd.CategoricalDtype)
    assert ev["event_type"].tolist() == ["view", "cart", "purchase", "remove_from_cart"]
    # sessions are hashed, but the same session has the same id and different ones differ
    s = ev["user_session"].tolist()
    assert s[0] == s[1] and len({s[0], s[2], s[3]}) == 3


def test_prepare_events_types_text_input():
    raw = pd.DataFrame(
        {
            "user_id": ["10001", "x", "10002"],
            "event_time": ["2025-01-01 10:00:00", "2025-01-01 11:00:00", "2025-01-02 09:00:00"],
            "event_type": ["View", "cart", None],
            "user_session": ["a", "a", "b"],
        }
    )
    ev = prepare_events(raw)
    assert ev["user_id"].dtype == "Int64" and ev["user_id"].isna().tolist() == [False, True, False]
    assert pd.api.types.is_datetime64_dtype(ev["event_time"])
    assert isinstance(ev["event_type"].dtype, pd.CategoricalDtype)
    assert ev["event_type"].astype(object).tolist()[:2] == ["view", "cart"] and pd.isna(ev["event_type"].iloc[2])
    assert ev["user_session"].dtype == "string"


def test_prepare_events_on_its_own_output_copies_nothing():
    ev = prepare_events(ml_io.read_frame(_warehouse(), ml_io.EVENTS_SQL))
    again = prepare_events(ev)
    for col in ("event_time", "user_session"):
        assert np.shares_memory(ev[col].to_numpy(), again[col].to_numpy()), col
    assert again["user_id"].equals(ev["user_id"])
    assert again["event_type"].cat.codes.tolist() == ev["event_type"].cat.codes.tolist()
    assert pd.api.types.is_integer_dtype(again["user_session"])  # a hash stays a number
