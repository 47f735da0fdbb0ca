"""ECOM_ML_MAX_CUSTOMERS: the customer-level models train on a fixed sample of customers
(the smallest customer_key first) and score everyone in chunks, each read on its own; the
forecast reads its weekly demand aggregated in SQL. Checked on a simulated shop in a DuckDB
warehouse shaped like the marts, with a cap of 1,000 of 2,400 customers (3 chunks)."""

from __future__ import annotations

from contextlib import contextmanager

import duckdb
import numpy as np
import pandas as pd
import pytest

from ecom_platform.lib import ml_io
from ecom_platform.lib.ml_runner import (
    CUSTOMER_LINE_COLUMNS,
    FORECAST_LINE_COLUMNS,
    MODELS,
    RECS_LINE_COLUMNS,
    train_model,
)
from ml_assets.churn import fit_churn, run_churn, score_churn
from ml_assets.data import prepare_lines
from ml_assets.features import customer_features
from ml_assets.forecasting import ForecastConfig, run_forecasting, weekly_demand, weekly_series
from ml_assets.recommendations import recommend_customers, run_recommendations
from ml_assets.segmentation import assign_segments, run_segmentation
from tests.synthetic_shop import simulate_shop

pytestmark = pytest.mark.component  # trains models / builds shops or Dagster runs: make test, not test-fast

CAP = 1000
N_CUSTOMERS = 2400
MODEL = {m.name: m for m in MODELS}
STABLE_KEY = "CAST(('0x' || left(md5(CAST(customer_id AS VARCHAR)), 15)) AS BIGINT)"


def _build_warehouse(path) -> None:
    shop = simulate_shop(n_customers=N_CUSTOMERS, n_products=60, n_weeks=104, seed=11, with_events=True)
    lines = shop.lines.copy()
    lines["order_line_key"] = np.arange(len(lines), dtype="int64")
    codes = sorted(lines["stock_code"].unique())
    products = pd.DataFrame(
        {
            "product_key": np.arange(len(codes), dtype="int64"),
            "stock_code": codes,
            "description": [f"CAT {c}" for c in codes],
        }
    )
    products["category"] = products["stock_code"].map(
        lines.drop_duplicates("stock_code").set_index("stock_code")["category"]
    )
    lines["product_key"] = lines["stock_code"].map(products.set_index("stock_code")["product_key"])
    events = shop.events.copy()
    events["event_key"] = np.arange(len(events), dtype="int64")
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA marts")
    for name, frame in (("l", lines), ("p", products), ("c", shop.customers), ("e", events)):
        con.register(name, frame)
    con.execute("""
        CREATE TABLE marts.fct_order_lines AS SELECT order_line_key, invoice, stock_code,
            description, CAST(customer_id AS BIGINT) AS customer_id, product_key, country,
            invoice_date, CAST(quantity AS INTEGER) AS quantity,
            CAST(unit_price AS DECIMAL(18, 3)) AS unit_price,
            CAST(net_amount AS DECIMAL(18, 3)) AS net_amount, is_cancellation, is_merchandise
        FROM l""")
    con.execute("CREATE TABLE marts.dim_products AS SELECT * FROM p")
    con.execute(f"""
        CREATE TABLE marts.dim_customers AS
        SELECT {STABLE_KEY} AS customer_key, CAST(customer_id AS BIGINT) AS customer_id,
               CAST(birth_year AS INTEGER) AS birth_year,
               CAST(income AS DECIMAL(18, 2)) AS income,
               CAST(household_size AS INTEGER) AS household_size,
               CAST(signup_date AS DATE) AS signup_date, channel, country, true AS has_profile
        FROM c
        UNION ALL SELECT -1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, false""")
    con.execute("""
        CREATE TABLE marts.fct_events AS SELECT event_key, CAST(user_id AS BIGINT) AS user_id,
            event_time, event_type, user_session AS session_id FROM e""")
    con.execute("""
        CREATE TABLE marts.customer_rfm AS
        SELECT customer_id, count(DISTINCT invoice) AS frequency,
               CAST(sum(net_amount) AS DECIMAL(18, 3)) AS monetary,
               CASE WHEN count(DISTINCT invoice) >= 5 THEN 'Loyal' ELSE 'Other' END AS segment
        FROM marts.fct_order_lines WHERE customer_id IS NOT NULL GROUP BY customer_id""")
    con.close()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    path = tmp_path_factory.mktemp("ml_sampling") / "warehouse.duckdb"
    _build_warehouse(path)

    @contextmanager
    def connect():
        con = duckdb.connect(str(path), read_only=True)
        try:
            yield con
        finally:
            con.close()

    return connect


def _keys(connect) -> pd.DataFrame:
    with connect() as con:
        return con.execute(
            "SELECT customer_key, customer_id FROM marts.dim_customers WHERE customer_key <> -1 ORDER BY customer_key"
        ).df()


def _sample_ids(connect) -> set[int]:
    return set(_keys(connect)["customer_id"].head(CAP).tolist())


def _everything(connect, line_columns, with_events=False) -> dict[str, pd.DataFrame]:
    with connect() as con:
        return ml_io.read_inputs(con, with_events=with_events, line_columns=line_columns)


@pytest.fixture(scope="module")
def chunked(warehouse):
    """Every customer-level model through the asset's code with the cap (scored even when
    not publishable: the small sample may not be)."""
    return {
        name: train_model(MODEL[name], warehouse, CAP, score_unpublishable=True)
        for name in ("churn", "segmentation", "recommendations")
    }


# ------------------------------------------------------------------ chunks and reads


def test_chunks_are_key_ranges_covering_every_customer_once(warehouse):
    keys = _keys(warehouse)
    with warehouse() as con:
        chunks = ml_io.customer_chunks(con, CAP)
        assert [c.n_customers for c in chunks] == [1000, 1000, 400]
        seen = []
        for c in chunks:
            ids = con.execute(c.ids_sql() + " ORDER BY customer_key").df()["customer_id"].tolist()
            assert len(ids) == c.n_customers and c.total_customers == N_CUSTOMERS
            seen.extend(ids)
        one = ml_io.customer_chunks(con, N_CUSTOMERS)
        with pytest.raises(ValueError, match="max_customers=0"):
            ml_io.customer_chunks(con, 0)
    # in customer_key order, each customer exactly once, the unknown member never
    assert seen == keys["customer_id"].tolist()
    assert len(one) == 1 and one[0].everyone and one[0].n_customers == N_CUSTOMERS
    # at or below the cap the queries are the unchunked ones (guest lines included)
    assert ml_io.lines_sql(CUSTOMER_LINE_COLUMNS, one[0], 0.5) == ml_io.lines_sql(CUSTOMER_LINE_COLUMNS)
    assert ml_io.events_sql(one[0]) == ml_io.EVENTS_SQL
    assert ml_io.customers_sql(one[0]) == ml_io.CUSTOMERS_SQL


def test_a_chunk_reads_only_its_customers_and_a_share_of_guest_baskets(warehouse):
    sample = _sample_ids(warehouse)
    with warehouse() as con:
        first = ml_io.customer_chunks(con, CAP)[0]
        part = ml_io.read_inputs(con, with_events=True, line_columns=RECS_LINE_COLUMNS, chunk=first)
        guests = ml_io.read_inputs(
            con, with_events=False, line_columns=RECS_LINE_COLUMNS, chunk=first, guest_fraction=0.4
        )["lines"]
        all_lines = ml_io.read_frame(con, ml_io.lines_sql(RECS_LINE_COLUMNS))
    lines = part["lines"]
    assert set(lines["customer_id"].dropna().astype(int)) == sample & set(all_lines["customer_id"].dropna().astype(int))
    assert not lines["customer_id"].isna().any()  # no guest line without a guest share
    assert set(part["events"]["user_id"].astype(int)) <= sample
    assert set(part["customers"]["customer_id"].astype(int)) == sample
    # the lines of the sampled customers are all there, in the order of the full read
    mine = all_lines.loc[all_lines["customer_id"].isin(list(sample))].reset_index(drop=True)
    pd.testing.assert_frame_equal(lines, mine.astype({"customer_id": "int64"}))
    # guest baskets: whole invoices, about the share asked for
    g = guests.loc[guests["customer_id"].isna()]
    all_g = all_lines.loc[all_lines["customer_id"].isna()]
    chosen = set(g["invoice"])
    assert 0.3 < len(chosen) / all_g["invoice"].nunique() < 0.5
    assert len(g) == all_g["invoice"].isin(list(chosen)).sum()


# ------------------------------------------------------------------ churn


def test_churn_trains_on_the_sample_and_scores_every_active_customer(warehouse, chunked):
    out = chunked["churn"]
    scores = out.tables["churn_scores"]
    everything = _everything(warehouse, CUSTOMER_LINE_COLUMNS, with_events=True)
    fit = out.state.result
    # (a) every customer active as of the model's date has a score, once
    active = customer_features(
        prepare_lines(everything["lines"]), fit.model.as_of, active_window_days=fit.model.config.active_window_days
    ).index
    assert scores["customer_id"].tolist() == sorted(active.astype(int).tolist())
    sample = _sample_ids(warehouse)
    outside = (~scores["customer_id"].isin(list(sample))).sum()
    assert outside > len(scores) - outside > 100  # most scored customers are not in the sample
    assert scores["churn_probability"].between(0, 1).all()
    # chunk by chunk gives the rows that scoring everyone at once with the model gives
    at_once = score_churn(fit.model, everything["lines"], everything["customers"], everything["events"]).scores
    pd.testing.assert_frame_equal(scores, at_once, check_exact=True)
    # (b) trained on the sample only: the same model as fitting the sample's rows alone
    lines = everything["lines"]
    with warehouse() as con:
        span = ml_io.line_span(con)
    alone = fit_churn(
        lines.loc[lines["customer_id"].isin(list(sample))].reset_index(drop=True),
        everything["customers"],
        everything["events"],
        span=span,
    )
    assert out.run.artifact_hash == alone.run.artifact_hash
    assert out.run.n_eval == alone.run.n_eval < len(sample)
    assert out.metadata["sampled"] is True and out.metadata["train_customers"] == CAP
    assert out.metadata["total_customers"] == N_CUSTOMERS and out.metadata["customer_chunks"] == 3
    assert f"sample of 1,000 of {N_CUSTOMERS:,} customers" in out.run.reason
    row = out.run.metrics_frame().iloc[0]
    assert f"sample of 1,000 of {N_CUSTOMERS:,}" in row["reason"] and '"train_customers": 1000' in row["params"]
    # the importance averages the contributions over every customer scored
    imp = out.tables["churn_feature_importance"]
    assert imp["mean_abs_contribution"].gt(0).any() and imp["rank"].tolist() == list(range(1, len(imp) + 1))


def test_a_scoring_chunk_reads_only_the_recent_events_and_gets_the_same_features(warehouse, chunked):
    from ml_assets.features import DAY, EVENT_LOOKBACK_DAYS, _event_features

    T = chunked["churn"].state.result.model.as_of
    since = T - EVENT_LOOKBACK_DAYS * DAY
    with warehouse() as con:
        chunk = ml_io.customer_chunks(con, CAP)[1]
        full = ml_io.read_frame(con, ml_io.events_sql(chunk))
        recent = ml_io.read_frame(con, ml_io.events_sql(chunk, since))
    assert len(recent) < len(full) / 2
    last = full.groupby("user_id")["event_time"].max()
    assert (last < since).sum() > 10  # users with no recent event: only their last one is read
    assert recent["user_id"].value_counts().max() > 1 and set(recent["user_id"]) == set(full["user_id"])
    pd.testing.assert_frame_equal(_event_features(recent, T), _event_features(full, T), check_exact=True)


# ------------------------------------------------------------------ segmentation


def test_segmentation_fits_the_sample_and_assigns_every_customer(warehouse, chunked):
    out = chunked["segmentation"]
    segments, profiles = out.tables["customer_segments"], out.tables["segment_profiles"]
    everything = _everything(warehouse, CUSTOMER_LINE_COLUMNS)
    r = out.state.result
    buyers = customer_features(prepare_lines(everything["lines"]), r.model.as_of).index
    # (a) every customer with a purchase has one segment, with a fitted segment's name
    assert segments["customer_id"].tolist() == sorted(buyers.astype(int).tolist())
    assert set(segments["segment_name"]) <= set(profiles["segment_name"])
    assert profiles["n_customers"].sum() == len(segments)
    assert profiles["n_customers"].tolist() == segments["cluster"].value_counts().reindex(profiles["cluster"]).tolist()
    # (b) fitted on the sample only
    sample = _sample_ids(warehouse)
    assert r.run.n_train == len(r.segments) and set(r.segments["customer_id"].astype(int)) <= sample
    assert r.run.n_train < len(segments) / 2
    # the sample keeps the fit's own labels; the others are what the model assigns them
    mine = segments.loc[segments["customer_id"].isin(list(sample))].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, r.segments)
    others = segments.loc[~segments["customer_id"].isin(list(sample))].reset_index(drop=True)
    assigned = assign_segments(r.model, everything["lines"], everything["customers"])
    assigned = assigned.loc[~assigned["customer_id"].isin(list(sample))].reset_index(drop=True)
    pd.testing.assert_frame_equal(others, assigned)
    # assigning the sample again puts (nearly) everyone back where the fit put them
    again = assign_segments(
        r.model, everything["lines"].loc[everything["lines"]["customer_id"].isin(list(sample))], everything["customers"]
    )
    assert (again["cluster"].to_numpy() == r.segments["cluster"].to_numpy()).mean() > 0.99


# ------------------------------------------------------------------ recommendations


def test_recommendations_fit_the_sample_and_cover_every_customer(warehouse, chunked):
    out = chunked["recommendations"]
    recs = out.tables["product_recommendations"]
    everything = _everything(warehouse, RECS_LINE_COLUMNS)
    r = out.state.result
    # (a) every customer (all profiles here) gets k recommendations, ranked 1..k
    per = recs.groupby("customer_id")["rank"].agg(list)
    assert len(per) == N_CUSTOMERS
    assert all(v == list(range(1, 11)) for v in per)
    assert (recs["source"] == "model").mean() > 0.5
    # chunk by chunk gives the rows recommending everyone at once with the model gives
    at_once = recommend_customers(r.model, everything["lines"], everything["customers"])
    pd.testing.assert_frame_equal(recs, at_once, check_exact=True)
    # (b) fitted on the sample's customers (and a share of the guest baskets) only
    sample = _sample_ids(warehouse)
    lines = everything["lines"]
    buys = lines.loc[~lines["is_cancellation"] & lines["is_merchandise"] & (lines["quantity"] > 0)]
    sample_pairs = buys.loc[buys["customer_id"].isin(list(sample))].drop_duplicates(["customer_id", "stock_code"])
    assert r.run.n_train <= len(sample_pairs) < buys.drop_duplicates(["customer_id", "stock_code"]).shape[0] / 2
    assert out.metadata["train_customers"] == CAP and out.metadata["sampled"] is True


# ------------------------------------------------------------------ at or below the cap


@pytest.mark.parametrize("name", ["churn", "segmentation", "recommendations"])
def test_at_or_below_the_cap_the_outputs_are_those_of_one_run_on_everything(warehouse, name):
    model = MODEL[name]
    out = train_model(model, warehouse, N_CUSTOMERS)
    inputs = _everything(warehouse, model.line_columns, with_events=model.needs_events)
    if name == "churn":
        ref = run_churn(inputs["lines"], inputs["customers"], inputs["events"])
        want = {"churn_scores": ref.scores, "churn_feature_importance": ref.importance}
    elif name == "segmentation":
        ref = run_segmentation(inputs["lines"], inputs["customers"], inputs["rfm"])
        want = {"customer_segments": ref.segments, "segment_profiles": ref.profiles}
    else:
        ref = run_recommendations(inputs["lines"], inputs["customers"])
        want = {"product_recommendations": ref.recommendations, "frequently_bought_together": ref.fbt}
    assert out.metadata["sampled"] is False and out.metadata["customer_chunks"] == 1
    assert out.metadata["train_customers"] == N_CUSTOMERS
    assert list(out.tables) == list(want)
    for table, frame in want.items():
        assert len(frame) > 0
        pd.testing.assert_frame_equal(out.tables[table], frame, check_exact=True)
    assert out.run.artifact_hash == ref.run.artifact_hash and out.run.reason == ref.run.reason
    assert "train_customers" not in out.run.params and "sample" not in out.run.reason


# ------------------------------------------------------------------ forecast


def test_forecast_on_the_aggregated_read_equals_the_line_level_path(warehouse):
    with warehouse() as con:
        demand = ml_io.read_weekly_demand(con)
        lines = prepare_lines(ml_io.read_frame(con, ml_io.lines_sql(FORECAST_LINE_COLUMNS)))
    from_lines = weekly_demand(lines)
    assert len(demand.units) < len(lines) / 5  # per product and week, not per line
    pd.testing.assert_series_equal(demand.revenue, from_lines.revenue, check_exact=True, check_names=False)
    pd.testing.assert_frame_equal(weekly_series(demand), weekly_series(lines), check_exact=True)
    cfg = ForecastConfig(n_estimators=40, top_n_products=10, n_origins=2)
    a, b = run_forecasting(demand, cfg), run_forecasting(lines, cfg)
    for f in ("forecast", "backtest", "series"):
        pd.testing.assert_frame_equal(getattr(a, f), getattr(b, f), check_exact=True)
    assert a.run.artifact_hash == b.run.artifact_hash and a.run.metrics == b.run.metrics
    assert len(a.forecast) > 0


def _edge_warehouse(rows) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA marts")
    con.execute(
        "CREATE TABLE marts.dim_products AS SELECT * FROM (VALUES (1, 'cat_a'), (2, NULL)) AS t(product_key, category)"
    )
    con.execute("""CREATE TABLE marts.fct_order_lines (order_line_key BIGINT, invoice VARCHAR,
        stock_code VARCHAR, product_key BIGINT, invoice_date TIMESTAMP, quantity INTEGER,
        net_amount DECIMAL(18, 3), is_cancellation BOOLEAN, is_merchandise BOOLEAN)""")
    con.executemany("INSERT INTO marts.fct_order_lines VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return con


def test_aggregated_demand_keeps_the_week_edges_and_flags_of_the_line_level_path():
    # Mondays: 2024-01-01, -08, ..., 2024-02-26. Demand runs from Wednesday 2024-01-03 to
    # Wednesday 2024-02-28; a cancellation on Monday 2024-01-01 makes the data start there,
    # so the week of Jan 1 is complete (judged on all lines, not on the demand alone) and
    # the week of Feb 26 is not.
    rows = [(0, "C1", "A", 1, "2024-01-01 08:00", -2, -3.0, True, True)]
    for i, day in enumerate(pd.date_range("2024-01-03", "2024-02-28", freq="D")):
        rows.append((3 * i + 1, f"I{i}", "A", 1, f"{day.date()} 10:00", 1 + i % 3, 1.1 * (1 + i % 3), False, True))
        rows.append((3 * i + 2, f"I{i}", "B", 2, f"{day.date()} 23:59:59", 2, 0.7, None, True))
        rows.append((3 * i + 3, f"I{i}", "POST", 2, f"{day.date()} 11:00", 1, 5.0, False, None))
    rows.append((999, "Z", "A", 1, "2024-02-10 12:00", None, 4.0, False, True))  # NULL quantity
    con = _edge_warehouse(rows)
    demand = ml_io.read_weekly_demand(con)
    lines = prepare_lines(ml_io.read_frame(con, ml_io.lines_sql(FORECAST_LINE_COLUMNS)))
    from_lines = weekly_demand(lines)
    assert demand.first_day == pd.Timestamp("2024-01-01") == from_lines.first_day
    assert demand.last_day == pd.Timestamp("2024-02-28") == from_lines.last_day
    got, want = weekly_series(demand), weekly_series(lines)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    weeks = got["week_start"].drop_duplicates().tolist()
    assert weeks[0] == pd.Timestamp("2024-01-01") and weeks[-1] == pd.Timestamp("2024-02-19")
    # the POST lines (merchandise unknown) and the NULL quantity are not demand
    assert set(got["series_id"]) == {"product:A", "product:B", "total:revenue"}
    b = got.loc[got["series_id"] == "product:B", "y"].tolist()
    assert b == [10.0] + [14.0] * 7  # 2 units a day (its NULL cancellation flag read as false)
    # the revenue streamed in batches smaller than a week is the same as all at once
    small = ml_io.weekly_revenue(con, batch_rows=5)
    pd.testing.assert_series_equal(small, demand.revenue, check_exact=True)
    pd.testing.assert_series_equal(small, from_lines.revenue, check_exact=True, check_names=False)
