"""The dashboard's data without a browser: what each panel is given, checked against SQL on
a published BI copy, and the page it is written into (offline, one file)."""

from __future__ import annotations

import json
import re

import duckdb
import pytest

from ecom_platform.lib.dashboard import build_dashboard, expected_charts
from ecom_platform.lib.dashboard.data import collect
from ecom_platform.lib.dashboard.source import Source
from ecom_platform.lib.publish import publish_bi_copy
from tests.integration.conftest_bi import make_warehouse


@pytest.fixture(scope="module")
def bi_copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("dash-data")
    wh = make_warehouse(root / "warehouse.duckdb")
    return publish_bi_copy(wh, root / "bi", pseudonym_key="unit-test-key")["path"]


@pytest.fixture(scope="module")
def bundle(bi_copy):
    con = duckdb.connect(bi_copy, read_only=True)
    try:
        yield collect(Source.open(con)), con
    finally:
        con.close()


def test_the_sales_cube_adds_up_to_the_bi_tables(bundle):
    data, con = bundle
    cube = data["sales"]
    assert (cube["start"], cube["end"]) == ("2023-01-02", "2023-12-31")
    assert cube["countries"][0] == "United Kingdom"  # by revenue, largest first
    total = con.execute("SELECT sum(net_revenue) FROM bi.sales_country_daily").fetchone()[0]
    assert round(sum(cube["country_daily"]["rev"]), 2) == float(total)
    de = cube["countries"].index("Germany")
    rows = cube["country_daily"]
    german_orders = sum(o for c, o in zip(rows["c"], rows["orders"]) if c == de)
    assert (
        german_orders
        == con.execute("SELECT sum(orders) FROM bi.sales_country_daily WHERE country = 'Germany'").fetchone()[0]
    )
    # Day offsets: the first row of 2023-03-01 is day 58 from 2 January.
    march_1 = [i for i, d in enumerate(rows["d"]) if d == 58]
    assert march_1 and all(rows["rev"][i] is not None for i in march_1)
    k = cube["categories"].index("kids.toys")
    cat = cube["category_daily"]
    toys = round(sum(r for kk, r in zip(cat["k"], cat["rev"]) if kk == k), 2)
    assert toys == float(
        con.execute("SELECT sum(net_revenue) FROM bi.sales_category_daily WHERE category = 'kids.toys'").fetchone()[0]
    )


def test_action_lists_carry_every_row_with_ids_as_text(bundle):
    data, con = bundle
    at_risk = data["panels"]["customers_at_risk"]["data"]
    n, top = con.execute(
        "SELECT count(*), arg_min(CAST(customer_id AS VARCHAR), risk_rank) FROM bi.customers_at_risk"
    ).fetchone()
    assert at_risk["total"] == len(at_risk["rows"]["customer_id"]) == n
    # Pseudonymised ids are 63-bit numbers: as text, or JavaScript would round them.
    assert at_risk["rows"]["customer_id"][0] == top and isinstance(top, str) and len(top) > 15
    lookup = data["panels"]["customer_lookup"]["data"]
    cid = lookup["ids"][0]
    recs = con.execute(
        "SELECT stock_code, reason FROM ml.product_recommendations WHERE customer_id = ? ORDER BY rank", [cid]
    ).fetchall()
    flat = lookup["recs"][0]
    assert [lookup["products"][flat[i]][0] for i in range(0, len(flat), 3)] == [r[0] for r in recs]
    assert lookup["reasons"][flat[1]].startswith(recs[0][1])
    segment = con.execute("SELECT segment FROM bi.customer_rfm WHERE CAST(customer_id AS VARCHAR) = ?", [cid])
    assert lookup["segment"][0] == segment.fetchone()[0]
    fc = data["panels"]["product_forecast"]["data"]["rows"]
    assert [r["stock_code"] for r in fc] == ["P0001", "P0002", "P0003", "P0004", "P0005"]
    assert fc[0]["forecast_next_4_weeks"] == pytest.approx(4 * 400.0) and fc[0]["reorder_point_units"] == 986


def test_a_table_of_another_shape_is_reported_on_its_panel_not_a_crash(tmp_path):
    wh = make_warehouse(tmp_path / "warehouse.duckdb", ml_tables=["model_status"])
    con = duckdb.connect(str(wh))
    con.execute("CREATE TABLE ml.forecast_backtest AS SELECT 'naive' AS model, 1.0 AS score")
    con.close()
    s = publish_bi_copy(wh, tmp_path / "bi")
    built = build_dashboard(s["path"], tmp_path / "dashboard.html")
    assert built["missing"]["forecast_backtest"].startswith("Not yet available: ml.forecast_backtest lacks what")
    assert 'column "level" not found' in built["missing"]["forecast_backtest"]
    assert built["missing"]["churn_risk"] == (
        "Not yet available: ml.churn_scores is not in the BI copy yet (the model has not published it)."
    )
    assert "revenue_over_time" in built["charts"]


def test_the_page_is_one_offline_file_with_plotly_and_the_data_inline(bi_copy, tmp_path):
    out = tmp_path / "dashboard.html"
    built = build_dashboard(bi_copy, out)
    page = out.read_text(encoding="utf-8")
    assert built["missing"] == {} and sorted(built["charts"]) == sorted(expected_charts())
    assert "default-src 'none'" in page
    # No element outside the scripts points anywhere (the browser test watches the requests).
    markup = re.sub(r"<script.*?</script>", "", page, flags=re.S)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", markup)
    assert built["plotly_bytes"] > 3_000_000 and "plotly.js v" in page  # the library, inline
    data = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', page, re.S).group(1)
    assert json.loads(data.replace("<\\/", "</"))["sales"]["end"] == "2023-12-31"
    assert built["bytes"] == len(page.encode("utf-8")) > built["data_bytes"] + built["plotly_bytes"]
    for name in expected_charts():
        assert f'data-chart="{name}"' in page
    assert page.count("<section") == 26 and 'data-model="churn"' in page


def test_the_look_up_holds_the_customers_at_risk_first_when_it_is_capped(bi_copy, monkeypatch):
    from ecom_platform.lib.dashboard import data as data_mod

    monkeypatch.setattr(data_mod, "MAX_LOOKUP_CUSTOMERS", 10)
    con = duckdb.connect(bi_copy, read_only=True)
    try:
        lookup = data_mod.customer_lookup(Source.open(con))
        top = [
            r[0]
            for r in con.execute(
                "SELECT CAST(customer_id AS VARCHAR) FROM bi.customers_at_risk ORDER BY risk_rank LIMIT 10"
            ).fetchall()
        ]
    finally:
        con.close()
    assert sorted(lookup["ids"]) == sorted(top) and len(top) == 10
    assert lookup["customers_total"] == 200


def test_without_a_product_catalogue_the_category_split_says_which_file_would_fill_it(tmp_path):
    wh = make_warehouse(tmp_path / "warehouse.duckdb")
    con = duckdb.connect(str(wh))
    con.execute("UPDATE bi.sales_category_daily SET category = 'unknown'")
    con.execute(
        "CREATE OR REPLACE TABLE bi.sales_category_daily AS SELECT sales_date, country, category, "
        "sum(net_revenue)::DECIMAL(18,2) AS net_revenue, sum(gross_revenue)::DECIMAL(18,2) AS gross_revenue, "
        "sum(cancelled_revenue)::DECIMAL(18,2) AS cancelled_revenue, max(orders) AS orders, "
        "sum(net_units)::BIGINT AS net_units FROM bi.sales_category_daily GROUP BY ALL"
    )
    con.execute("UPDATE bi.data_sources SET files_loaded = 0 WHERE source = 'products'")
    con.close()
    s = publish_bi_copy(wh, tmp_path / "bi")
    built = build_dashboard(s["path"], tmp_path / "dashboard.html")
    gap = "No products file has landed: drop products exports into landing/products/ to split sales by category"
    assert built["missing"]["revenue_by_category"].startswith(gap)
    page = (tmp_path / "dashboard.html").read_text(encoding="utf-8")
    assert '"category_gap":"' + gap in page  # the filter bar shows it beside the disabled category filter
