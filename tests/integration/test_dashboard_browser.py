"""The dashboard in a real browser: headless Chromium (Debian's, driven by Playwright) opens the
HTML file offline, the tests use the filters, lists and look-up as a person would, and the
numbers the page shows are checked against SQL on the BI copy. Any console message (a script
error, a blocked network request) fails a test. Screenshots are saved as test artefacts in
``test-artifacts/dashboard/`` (``ECOM_TEST_ARTIFACTS`` moves them).

Needs ``/usr/bin/chromium``, which ``make browser`` installs (root or sudo). Without it the
tests are skipped with that advice, or fail when ECOM_REQUIRE_BROWSER is set (``.ci/run``
sets it), so CI never passes them silently.
"""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from ecom_platform.config import REPO_ROOT
from ecom_platform.lib.dashboard import build_dashboard, expected_charts
from ecom_platform.lib.publish import publish_bi_copy
from tests.integration.conftest_bi import make_warehouse

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("ECOM_TEST_ARTIFACTS", REPO_ROOT / "test-artifacts")) / "dashboard"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        advice = (
            f"{CHROMIUM} not found: the dashboard browser tests need Chromium; `make browser` installs "
            "it (Debian's package, needs root or sudo)"
        )
        if os.environ.get("ECOM_REQUIRE_BROWSER"):
            pytest.fail(advice + " (ECOM_REQUIRE_BROWSER is set)")
        pytest.skip(advice)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield b
        b.close()


class Page:
    """One dashboard open in the browser, with every console message and page error it logged."""

    def __init__(self, browser, html: Path):
        self.console: list[str] = []
        self.page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        self.page.set_default_timeout(15_000)
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        self.page.on("requestfailed", lambda r: self.console.append(f"request failed: {r.url}"))
        self.page.goto(html.resolve().as_uri())
        self.page.wait_for_function("Number(document.body.dataset.renderCount || 0) >= 1", timeout=60_000)
        self.renders = 1

    def changed(self) -> None:
        """Wait for the render a filter change starts."""
        self.renders += 1
        self.page.wait_for_function(f"Number(document.body.dataset.renderCount) >= {self.renders}", timeout=30_000)

    def select(self, selector: str, label: str) -> None:
        self.page.select_option(selector, label=label)
        self.changed()

    def dates(self, start: date, end: date) -> None:
        for sel, d in (("#f-from", start), ("#f-to", end)):
            self.page.fill(sel, d.isoformat())
            self.page.dispatch_event(sel, "change")
            self.changed()

    def kpi(self, key: str) -> float:
        return float(self.page.get_attribute(f'[data-kpi="{key}"]', "data-value"))

    def delta(self, key: str, which: int) -> float:
        return float(self.page.locator(f'[data-kpi="{key}"] [data-delta]').nth(which).get_attribute("data-delta"))

    def chart(self, name: str, attr: str) -> str:
        return self.page.get_attribute(f'[data-chart="{name}"]', attr)

    def rows(self, panel: str) -> int:
        return int(self.page.get_attribute(f'section[data-panel="{panel}"] .list-host', "data-rows"))

    def cells(self, panel: str, column: int) -> list[str]:
        return self.page.locator(
            f'section[data-panel="{panel}"] .list-host tbody tr td:nth-child({column})'
        ).all_inner_texts()

    def shot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        self.page.screenshot(path=str(path), full_page=True)
        return path


def q(bi: str, sql: str, params: list | None = None):
    con = duckdb.connect(bi, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def money(bi: str, sql: str, params: list | None = None) -> float:
    return round(float(q(bi, sql, params)[0][0] or 0), 2)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    root = tmp_path_factory.mktemp("dashboard")
    wh = make_warehouse(root / "warehouse.duckdb")
    s = publish_bi_copy(wh, root / "bi", pseudonym_key="browser-test-key")
    out = root / "dashboard.html"
    built = build_dashboard(s["path"], out)
    return s["path"], out, built


def test_every_panel_draws_with_data_and_nothing_is_loaded_from_the_network(browser, published):
    bi, html, built = published
    assert built["missing"] == {} and sorted(built["charts"]) == sorted(expected_charts())
    page = Page(browser, html)
    assert page.console == []
    p = page.page
    for name in expected_charts():
        assert page.chart(name, "data-rendered") == "true", name
        assert int(page.chart(name, "data-points")) > 0, name
        box = p.locator(f'[data-chart="{name}"]').bounding_box()
        assert box["width"] > 200 and box["height"] > 150, (name, box)
    assert p.get_attribute("body", "data-render-ok") == "true"
    assert p.inner_text("#render-status").startswith(f"{len(expected_charts())} of {len(expected_charts())} charts")
    # Offline: every script, style and image is inline.
    assert p.evaluate("[...document.querySelectorAll('[src],[href]')].map(e => e.src || e.href)") == ["data:,"]
    assert q(bi, "SELECT count(*) FROM bi.product_forecast")[0][0] == page.rows("product_forecast") == 5
    assert page.shot("overview.png").stat().st_size > 50_000


def test_filters_change_every_number_to_what_sql_says(browser, published):
    bi, html, _ = published
    page = Page(browser, html)
    end = q(bi, "SELECT max(sales_date) FROM bi.sales_daily")[0][0]
    country_sql = "SELECT sum({m}) FROM bi.sales_country_daily WHERE sales_date BETWEEN ? AND ?"

    # Default: the last 13 weeks, all countries and categories, against the 13 weeks before.
    start = end - timedelta(days=90)
    assert page.kpi("net_revenue") == money(bi, country_sql.format(m="net_revenue"), [start, end])
    assert page.kpi("orders") == q(bi, country_sql.format(m="orders"), [start, end])[0][0]
    assert page.kpi("new_customers") == q(bi, country_sql.format(m="new_customers"), [start, end])[0][0]
    prev = money(bi, country_sql.format(m="net_revenue"), [start - timedelta(days=91), start - timedelta(days=1)])
    assert page.delta("net_revenue", 0) == pytest.approx((page.kpi("net_revenue") - prev) / prev, abs=1e-6)
    # A year earlier is before this shop's data: said, not invented.
    assert "no data" in page.page.inner_text('[data-kpi="net_revenue"] .cmp')

    # A country: the cards, the at-risk list and the highlighted bar follow.
    page.select("#f-country", "Germany")
    where = country_sql + " AND country = 'Germany'"
    assert page.kpi("net_revenue") == money(bi, where.format(m="net_revenue"), [start, end])
    assert page.kpi("units") == q(bi, where.format(m="net_units"), [start, end])[0][0]
    at_risk = q(bi, "SELECT count(*) FROM bi.customers_at_risk WHERE country = 'Germany'")[0][0]
    assert 0 < page.rows("customers_at_risk") == at_risk
    assert set(page.cells("customers_at_risk", 3)) == {"Germany"}

    # A category on top: the category cube; orders are invoices with a line of the category.
    page.select("#f-category", "kids.toys")
    cat_sql = (
        "SELECT sum({m}) FROM bi.sales_category_daily WHERE sales_date BETWEEN ? AND ? "
        "AND country = 'Germany' AND category = 'kids.toys'"
    )
    assert page.kpi("net_revenue") == money(bi, cat_sql.format(m="net_revenue"), [start, end])
    assert page.kpi("orders") == q(bi, cat_sql.format(m="orders"), [start, end])[0][0]
    assert (
        page.rows("product_forecast")
        == q(bi, "SELECT count(*) FROM bi.product_forecast WHERE category = 'kids.toys'")[0][0]
    )

    # Dates: 1 March to 31 May 2023 by week (partial first and last weeks marked), then by month.
    page.dates(date(2023, 3, 1), date(2023, 5, 31))
    start, end = date(2023, 3, 1), date(2023, 5, 31)
    assert page.kpi("net_revenue") == money(bi, cat_sql.format(m="net_revenue"), [start, end])
    labels = json.loads(page.chart("revenue_over_time", "data-labels"))
    assert labels[0] == "2023-02-27" and labels[-1] == "2023-05-29" and len(labels) == 14
    assert page.chart("revenue_over_time", "data-incomplete") == "2"
    page.select("#f-grain", "months")
    assert json.loads(page.chart("revenue_over_time", "data-labels")) == ["2023-03", "2023-04", "2023-05"]
    assert page.chart("revenue_over_time", "data-incomplete") == "0"
    monthly = q(
        bi,
        "SELECT date_trunc('month', sales_date) AS m, round(sum(net_revenue), 2) FROM bi.sales_category_daily "
        "WHERE sales_date BETWEEN ? AND ? AND country = 'Germany' AND category = 'kids.toys' GROUP BY m ORDER BY m",
        [start, end],
    )
    assert json.loads(page.chart("revenue_over_time", "data-values")) == [float(r[1]) for r in monthly]
    page.shot("filtered-germany-kids-toys-monthly.png")

    # Reset: back to the default view.
    page.page.click("#f-reset")
    page.changed()
    assert page.kpi("net_revenue") == money(
        bi, country_sql.format(m="net_revenue"), [date(2023, 12, 31) - timedelta(days=90), date(2023, 12, 31)]
    )
    assert page.console == []


def test_action_lists_sort_export_and_look_a_customer_up(browser, published):
    bi, html, _ = published
    page = Page(browser, html)
    p = page.page
    panel = 'section[data-panel="customers_at_risk"]'
    n = q(bi, "SELECT count(*) FROM bi.customers_at_risk")[0][0]
    assert page.rows("customers_at_risk") == n > 50
    # Sorted by revenue at risk as published; a click on "last order" sorts oldest first.
    first_ids = [
        r[0] for r in q(bi, "SELECT CAST(customer_id AS VARCHAR) FROM bi.customers_at_risk ORDER BY risk_rank")
    ]
    assert page.cells("customers_at_risk", 2)[:5] == first_ids[:5]
    p.click(f"{panel} th[data-key=last_order_date]")
    oldest = q(bi, "SELECT min(last_order_date) FROM bi.customers_at_risk")[0][0].isoformat()
    assert page.cells("customers_at_risk", 6)[0] == oldest
    p.click(f"{panel} th[data-key=last_order_date]")
    newest = q(bi, "SELECT max(last_order_date) FROM bi.customers_at_risk")[0][0].isoformat()
    assert page.cells("customers_at_risk", 6)[0] == newest

    # Export: every row of the list (not only the 50 shown), in the order shown.
    with p.expect_download() as dl:
        p.click(f"{panel} button.export")
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text(encoding="utf-8"))))
    assert len(rows) == n and rows[0]["last_order_date"] == newest
    assert round(sum(float(r["revenue_at_risk"]) for r in rows), 2) == money(
        bi, "SELECT sum(revenue_at_risk) FROM bi.customers_at_risk"
    )
    assert set(rows[0]) >= {"customer_id", "churn_probability", "rfm_segment", "top_drivers"}

    # Look-up: a click on an at-risk customer shows their recommendations with the reasons.
    p.click(f"{panel} tbody tr >> nth=0")
    cid = p.input_value('section[data-panel="customer_lookup"] input')
    recs = q(
        bi,
        "SELECT stock_code, reason FROM ml.product_recommendations WHERE CAST(customer_id AS VARCHAR) = ? ORDER BY rank",
        [cid],
    )
    result = 'section[data-panel="customer_lookup"] .lookup-result'
    assert recs and int(p.get_attribute(result, "data-recs")) == len(recs)
    shown = p.locator(f"{result} tbody tr td:nth-child(2)").all_inner_texts()
    assert shown == [r[0] for r in recs]
    assert recs[0][1] in p.inner_text(result)
    segment = q(bi, "SELECT segment FROM bi.customer_rfm WHERE CAST(customer_id AS VARCHAR) = ?", [cid])[0][0]
    assert f"RFM segment {segment}" in p.inner_text(result)
    # An id the recommender does not cover says so.
    p.fill('section[data-panel="customer_lookup"] input', "123")
    p.press('section[data-panel="customer_lookup"] input', "Enter")
    assert "No recommendations for customer 123" in p.inner_text(result)

    # Engaged users of one brand.
    eng = 'section[data-panel="engaged_users"]'
    p.select_option(f"{eng} select.dim", "brand")
    p.select_option(f"{eng} select.val", "apple")
    top = q(
        bi,
        "SELECT CAST(user_id AS VARCHAR) FROM bi.user_engagement WHERE dimension = 'brand' "
        "AND dimension_value = 'apple' ORDER BY engagement_rank",
    )
    assert page.cells("engaged_users", 2) == [r[0] for r in top]
    page.shot("lists-and-lookup.png")
    assert page.console == []


def test_incomplete_periods_and_young_cohorts_are_marked(browser, tmp_path):
    """Data ending on Wednesday 13 December: that week and that month are not over."""
    wh = make_warehouse(tmp_path / "warehouse.duckdb")
    con = duckdb.connect(str(wh))
    for t in ("sales_daily", "sales_country_daily", "sales_category_daily"):
        con.execute(f"DELETE FROM bi.{t} WHERE sales_date > DATE '2023-12-13'")
    con.close()
    s = publish_bi_copy(wh, tmp_path / "bi")
    html = tmp_path / "dashboard.html"
    build_dashboard(s["path"], html)
    page = Page(browser, html)
    # The default range (the last 13 weeks) starts on Thursday 14 September: that week is cut
    # by the range, the week of 11 December by the end of the data.
    assert page.chart("revenue_over_time", "data-incomplete") == "2"
    assert json.loads(page.chart("revenue_over_time", "data-labels"))[-1] == "2023-12-11"
    page.select("#f-grain", "months")
    assert page.chart("revenue_over_time", "data-incomplete") == "2"  # September (from the 14th) and December
    december = q(
        s["path"],
        "SELECT count(*) FROM bi.cohort_retention WHERE activity_month = DATE '2023-12-01' "
        "AND months_since_first_order BETWEEN 1 AND 12",
    )[0][0]
    assert int(page.chart("cohort_retention", "data-incomplete")) == december > 0
    cohorts = q(s["path"], "SELECT count(DISTINCT cohort_month) FROM bi.cohort_retention")[0][0]
    assert page.chart("cohort_retention", "data-cohorts") == str(cohorts)
    size = q(s["path"], "SELECT max(cohort_size) FROM bi.cohort_retention WHERE cohort_month = DATE '2023-01-01'")
    assert f"2023-01 ({size[0][0]})" in page.page.inner_text('section[data-panel="cohort_retention"]')
    page.shot("incomplete-periods.png")
    assert page.console == []


def test_a_model_that_did_not_publish_says_why_where_its_panels_were(browser, tmp_path):
    wh = make_warehouse(tmp_path / "warehouse.duckdb", ml_tables=["model_status", "customer_segments"])
    con = duckdb.connect(str(wh))
    con.execute(
        "UPDATE ml.model_status SET published = false, status = 'not_published', last_published_at = NULL, "
        "reason = 'needs at least 500 customers with >= 2 orders; this shop has 359', "
        "what_would_change_it = 'more data: 141 more customers with >= 2 orders' WHERE model = 'churn'"
    )
    con.execute("UPDATE bi.data_sources SET files_loaded = 0 WHERE source = 'events'")
    for t in ("funnel_conversion", "category_popularity", "category_price_stats", "user_engagement"):
        con.execute(f"DELETE FROM bi.{t}")  # no events file: the clickstream marts are empty
    con.close()
    s = publish_bi_copy(wh, tmp_path / "bi")
    html = tmp_path / "dashboard.html"
    built = build_dashboard(s["path"], html)
    why = "Model churn not published: needs at least 500 customers with >= 2 orders; this shop has 359."
    assert built["missing"]["customers_at_risk"].startswith(why)
    assert built["missing"]["churn_risk"].startswith(why)
    page = Page(browser, html)
    p = page.page
    assert why in p.inner_text('section[data-missing="customers_at_risk"]')
    assert "No events file has landed: drop events exports into landing/events/" in p.inner_text(
        'section[data-missing="funnel_overall"]'
    )
    assert p.get_attribute('[data-model="churn"]', "data-published") == "false"
    assert "141 more customers" in p.inner_text('[data-model="churn"]')
    assert page.chart("ml_segments", "data-rendered") == "true"  # a published model is still drawn
    assert p.get_attribute("body", "data-render-ok") == "true"
    page.shot("model-not-published.png")
    assert page.console == []


def test_control_a_script_error_and_a_network_request_are_caught(browser, tmp_path):
    """The console detector can fail: a page with a script error and an external image."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><head>"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'\">"
        "</head><body data-render-count='1'><img src='https://example.invalid/x.png'>"
        "<script>notDefined();</script></body></html>"
    )
    page = Page(browser, bad)
    joined = "\n".join(page.console)
    assert "notDefined" in joined
    assert "Content Security Policy" in joined or "example.invalid" in joined
