"""How the ML assets keep memory down at scale, asserted on outputs: the narrow frames the
assets read give the same results as the full contract, the sorted (as read) and unsorted
inputs the same features, text keys as categoricals the same features, and the Arrow
reader the same frames as DuckDB's ``.df()``."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from ecom_platform.lib import ml_io
from ecom_platform.lib.ml_runner import CUSTOMER_LINE_COLUMNS, FORECAST_LINE_COLUMNS, RECS_LINE_COLUMNS
from ml_assets.churn import ChurnConfig, churn_features, run_churn
from ml_assets.data import LINE_COLUMNS, prepare_lines
from ml_assets.features import before_cutoff, customer_features, take_rows, text_as_categories
from ml_assets.forecasting import ForecastConfig, run_forecasting
from ml_assets.recommendations import _popularity, holdout_last_basket, run_recommendations
from ml_assets.segmentation import run_segmentation
from tests.synthetic_shop import simulate_shop

pytestmark = pytest.mark.component  # trains models / builds shops or Dagster runs: make test, not test-fast


@pytest.fixture(scope="module")
def shop():
    """A small shop with guests, in the order the assets read it (time, then invoice)."""
    s = simulate_shop(n_customers=400, n_products=60, n_weeks=80, seed=5, with_events=True)
    lines = prepare_lines(s.lines).sort_values(["invoice_date", "invoice"], kind="stable", ignore_index=True)
    events = s.events.sort_values("event_time", kind="stable", ignore_index=True)
    assert lines["customer_id"].isna().any()  # guests are part of the test
    return lines, s.customers, events


def _narrow(lines: pd.DataFrame, columns) -> pd.DataFrame:
    """What an asset reads: only ``columns``, in their database types."""
    out = lines[list(columns)].copy()
    for c in out.columns:
        if out[c].dtype == "string":
            out[c] = out[c].astype("str")
    if "quantity" in out.columns:
        out["quantity"] = out["quantity"].astype("int32")
    return out


def _assert_results_equal(a, b, fields):
    for f in fields:
        pd.testing.assert_frame_equal(getattr(a, f), getattr(b, f), check_exact=True)
    assert a.run.metrics == b.run.metrics and a.run.baselines == b.run.baselines
    assert a.run.artifact_hash == b.run.artifact_hash


# ------------------------------------------------------------------ the columns each asset reads


def test_churn_on_the_columns_its_asset_reads_equals_the_full_frame(shop):
    lines, customers, events = shop
    cfg = ChurnConfig(min_repeat_customers=20, n_estimators=40, model_candidates=())
    full = run_churn(lines, customers, events, cfg)
    narrow = run_churn(_narrow(lines, CUSTOMER_LINE_COLUMNS), customers, events, cfg)
    assert len(full.scores) > 50
    _assert_results_equal(full, narrow, ["scores", "importance", "evaluation"])


def test_segmentation_on_the_columns_its_asset_reads_equals_the_full_frame(shop):
    lines, customers, _ = shop
    full = run_segmentation(lines, customers)
    narrow = run_segmentation(_narrow(lines, CUSTOMER_LINE_COLUMNS), customers)
    _assert_results_equal(full, narrow, ["segments", "profiles", "k_scores"])


def test_forecasting_on_the_columns_its_asset_reads_equals_the_full_frame(shop):
    lines, _, _ = shop
    cfg = ForecastConfig(n_estimators=30, top_n_products=10, n_origins=2)
    full = run_forecasting(lines, cfg)
    narrow = run_forecasting(_narrow(lines, FORECAST_LINE_COLUMNS), cfg)
    _assert_results_equal(full, narrow, ["forecast", "backtest", "series"])


def test_recommendations_on_the_columns_their_asset_reads_equal_the_full_frame(shop):
    lines, customers, _ = shop
    full = run_recommendations(lines, customers)
    narrow = run_recommendations(_narrow(lines, RECS_LINE_COLUMNS), customers)
    _assert_results_equal(full, narrow, ["recommendations", "fbt", "evaluation"])
    assert full.recommendations["reason"].str.startswith("bought with ").any()


def test_prepare_lines_fills_what_a_narrow_read_leaves_out_and_copies_nothing_else():
    raw = pd.DataFrame(
        {
            "stock_code": pd.array(["A", "B"], dtype="str"),
            "invoice_date": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "quantity": np.array([2, 3], dtype="int64"),
            "net_amount": [4.0, 9.0],
            "is_cancellation": [False, True],
            "is_merchandise": [True, True],
        }
    )
    before = raw.copy()
    out = prepare_lines(raw)
    assert list(out.columns) == LINE_COLUMNS
    for c in ("invoice", "customer_id", "unit_price", "description", "country"):
        assert out[c].isna().all(), c
    assert out["customer_id"].dtype == "Int64" and out["description"].dtype == "string"
    assert out["is_cancellation"].tolist() == [False, True]  # as given, not from the missing invoice
    for c in ("quantity", "net_amount", "invoice_date"):
        assert np.shares_memory(out[c].to_numpy(), raw[c].to_numpy()), c
    out.loc[0, "quantity"] = 99  # copy-on-write: the input is untouched
    pd.testing.assert_frame_equal(raw, before)


# ------------------------------------------------------------------ order, slices, categoricals


def test_sorted_and_shuffled_lines_give_the_same_features(shop):
    lines, customers, events = shop
    T = lines["invoice_date"].quantile(0.7).normalize()
    shuffled = lines.sample(frac=1.0, random_state=1)
    ev_shuffled = events.sample(frac=1.0, random_state=2)
    a = churn_features(lines, T, customers, events, 365)  # sorted: cut by slicing
    b = churn_features(shuffled, T, customers, ev_shuffled, 365)  # shuffled: by a mask
    # equal up to the order floating-point sums add up in
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9)


def test_before_cutoff_on_sorted_rows_is_a_slice_with_the_same_rows(shop):
    lines, _, _ = shop
    T = lines["invoice_date"].quantile(0.5)
    cut = before_cutoff(lines, "invoice_date", T)
    pd.testing.assert_frame_equal(cut, lines.loc[lines["invoice_date"] < T])
    assert np.shares_memory(cut["net_amount"].to_numpy(), lines["net_amount"].to_numpy())
    gap = lines.assign(invoice_date=lines["invoice_date"].where(lines.index != 5))  # NaT: a mask
    pd.testing.assert_frame_equal(before_cutoff(gap, "invoice_date", T), gap.loc[gap["invoice_date"] < T])


def test_text_keys_as_categoricals_give_the_same_features(shop):
    lines, customers, events = shop
    cats = text_as_categories(lines)
    assert all(isinstance(cats[c].dtype, pd.CategoricalDtype) for c in ("invoice", "stock_code", "category", "country"))
    end = lines["invoice_date"].max() + pd.Timedelta(days=1)
    for T in (lines["invoice_date"].quantile(0.6).normalize(), end):
        pd.testing.assert_frame_equal(
            customer_features(lines, T, customers, events),
            customer_features(cats, T, customers, events),
            check_exact=True,
        )
        pd.testing.assert_frame_equal(
            churn_features(lines, T, customers, events, 365),
            churn_features(cats, T, customers, events, 365),
            check_exact=True,
        )


def test_take_rows_equals_loc_and_consumes_its_source(shop):
    lines, _, _ = shop
    src = lines.copy(deep=False)
    mask = lines["customer_id"].notna()
    cols = ["customer_id", "invoice", "net_amount", "invoice_date"]
    out = take_rows(src, mask, cols)
    pd.testing.assert_frame_equal(out, lines.loc[mask, cols])
    assert src.shape[1] == 0 and lines.shape[1] == len(LINE_COLUMNS)


# ------------------------------------------------------------------ recommendation helpers


def test_popularity_counts_customers_by_id_and_guests_by_basket():
    buys = pd.DataFrame(
        {
            "customer_id": pd.array([1, 1, 2, None, None, None], dtype="Int64"),
            "invoice": ["i1", "i2", "i3", "g1", "g1", "g2"],
            "stock_code": ["A", "A", "A", "B", "B", "B"],
            "invoice_date": pd.to_datetime(["2024-01-01"] * 6),
        }
    )
    # A: customers 1 and 2 (customer 1 twice) = 2 buyers; B: guest baskets g1, g2 = 2; C: none
    three = buys.assign(stock_code=["A", "A", "A", "B", "B", "C"])
    order = _popularity(three, pd.Index(["A", "B", "C"]), None)
    assert order.tolist() == [0, 1, 2]  # A (2) before B (1) before C (1): ties by code
    order = _popularity(buys, pd.Index(["B", "A"]), None)
    assert order.tolist() == [1, 0]  # A and B tie at 2 buyers: by code


def test_holdout_takes_the_last_invoice_per_customer_and_no_guest_line():
    buys = pd.DataFrame(
        {
            "customer_id": pd.array([1, 1, 1, 2, 3, 3, None], dtype="Int64"),
            "invoice": ["a", "b", "b", "c", "d", "e", "e"],
            "stock_code": ["X", "Y", "Z", "X", "X", "Y", "Z"],
            "invoice_date": pd.to_datetime(
                ["2024-01-01", "2024-02-01", "2024-02-01", "2024-01-05", "2024-01-01", "2024-03-01", "2024-03-01"]
            ),
        }
    )
    train, test = holdout_last_basket(buys)
    assert test.index.tolist() == [1, 2, 5]  # customer 1's "b", customer 3's "e"; 2 has one basket
    assert train.index.tolist() == [0, 3, 4, 6]  # the guest line of invoice "e" stays in training


# ------------------------------------------------------------------ reading the warehouse


def _warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.dim_products (product_key BIGINT, description VARCHAR, category VARCHAR)")
    con.execute("INSERT INTO marts.dim_products VALUES (1, 'CAT A', 'Toys'), (2, 'CAT B', NULL)")
    con.execute("""
        CREATE TABLE marts.fct_order_lines (
            order_line_key BIGINT, invoice VARCHAR, stock_code VARCHAR, description VARCHAR,
            customer_id BIGINT, product_key BIGINT, country VARCHAR, invoice_date TIMESTAMP,
            quantity INTEGER, unit_price DECIMAL(18, 3), net_amount DECIMAL(18, 3),
            is_cancellation BOOLEAN, is_merchandise BOOLEAN)""")
    con.execute("""
        INSERT INTO marts.fct_order_lines VALUES
            (3, 'INV2', 'B', 'old b', NULL, 2, 'UK', '2024-01-02 09:00', 1, 2.5, 2.5, false, true),
            (1, 'INV1', 'A', 'old a', 10001, 1, 'UK', '2024-01-01 10:00', 2, 1.25, 2.5, false, true),
            (2, 'INV1', 'B', 'old b', 10001, 2, 'FR', '2024-01-01 10:00', -1, 2.5, -2.5, true, true)""")
    return con


def test_read_frame_gives_the_frame_duckdb_df_gives():
    con = duckdb.connect()
    sql = """
        SELECT * FROM (VALUES
            (1::BIGINT, 2::INTEGER, NULL::INTEGER, 1.5::DECIMAL(18, 3), DATE '2024-01-02',
             TIMESTAMP '2024-01-02 10:00', 'x', true, 'view'::ENUM('view', 'cart')),
            (2::BIGINT, 3::INTEGER, 7::INTEGER, NULL::DECIMAL(18, 3), NULL::DATE,
             NULL::TIMESTAMP, NULL, false, 'cart'::ENUM('view', 'cart'))
        ) AS t(id, n, maybe_n, amount, day, ts, txt, flag, kind)"""
    got = ml_io.read_frame(con, sql)
    want = con.execute(sql).df()
    assert got.dtypes.astype(str).tolist() == want.dtypes.astype(str).tolist()
    pd.testing.assert_frame_equal(got, want)


def test_lines_read_narrow_are_the_same_rows_in_the_same_order():
    con = _warehouse()
    full = ml_io.read_frame(con, ml_io.LINES_SQL)
    assert list(full.columns) == LINE_COLUMNS
    assert full["invoice"].tolist() == ["INV1", "INV1", "INV2"]  # time, invoice, line order
    assert full["description"].tolist() == ["CAT A", "CAT B", "CAT B"]  # the product's own text
    assert full["quantity"].dtype == "int64" and full["unit_price"].dtype == "float64"
    for cols in (CUSTOMER_LINE_COLUMNS, FORECAST_LINE_COLUMNS, RECS_LINE_COLUMNS, ("invoice_date",)):
        narrow = ml_io.read_frame(con, ml_io.lines_sql(cols))
        pd.testing.assert_frame_equal(narrow, full[list(cols)])
    with pytest.raises(ValueError, match="unknown line columns"):
        ml_io.lines_sql(["nope"])


def test_inputs_are_read_under_a_lower_duckdb_memory_limit_that_is_then_restored():
    con = _warehouse()
    con.execute("SET memory_limit = '4GB'")

    def limit() -> float:
        return ml_io._bytes(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])

    with ml_io.read_memory_limit(con, "1GB", restore="4GB"):
        assert limit() == pytest.approx(1e9, rel=0.01)
    assert limit() == pytest.approx(4e9, rel=0.01)
    con.execute("SET memory_limit = '500MB'")
    with ml_io.read_memory_limit(con, "1GB"):  # never raised
        assert limit() == pytest.approx(500e6, rel=0.01)
    con.execute("CREATE TABLE marts.customer_rfm AS SELECT 1 AS customer_id")
    con.execute(
        "CREATE TABLE marts.dim_customers AS SELECT 1 AS customer_key, "
        "10001 AS customer_id, 1980 AS birth_year, 1.0 AS income, 2 AS household_size, "
        "DATE '2020-01-01' AS signup_date, 'web' AS channel, 'UK' AS country, "
        "true AS has_profile"
    )
    inputs = ml_io.read_inputs(con, with_events=False, line_columns=FORECAST_LINE_COLUMNS)
    assert list(inputs) == ["lines", "customers", "rfm"]
    assert list(inputs["lines"].columns) == list(FORECAST_LINE_COLUMNS)
