"""The dashboard's data: one query per panel on the BI copy, returned as JSON-ready dicts.

:func:`collect` gives ``{"sales": ..., "panels": {name: {"missing": reason | None,
"note": text | None, "data": ...}}}``. The sales cube (day x country, and day x country x
category) is sent whole so the page can filter and regroup it in the browser; everything
else is small (top lists, one row per segment or category, capped action lists).

Customer and user ids travel as text: pseudonymised ids are 63-bit numbers, beyond what a
JavaScript number holds exactly. No Dagster imports.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from ecom_platform.lib.dashboard.panels import PANELS
from ecom_platform.lib.dashboard.source import Source, plain

# Action lists are embedded up to this many rows (the page says when a list was cut).
MAX_LIST_ROWS = 2000
# Customers the look-up covers (those with recommendations, best-ranked first).
MAX_LOOKUP_CUSTOMERS = 5000


def sales_cube(src: Source) -> dict | None:
    """Days as offsets from ``start``; countries and categories as indexes into their lists."""
    if not src.has("bi.sales_country_daily"):
        return None
    start, end = (
        src.q("SELECT min(sales_date), max(sales_date) FROM bi.sales_daily")[0]
        if src.has("bi.sales_daily")
        else src.q("SELECT min(sales_date), max(sales_date) FROM bi.sales_country_daily")[0]
    )
    countries = [
        r[0] for r in src.q("SELECT country FROM bi.sales_country_daily GROUP BY 1 ORDER BY sum(net_revenue) DESC, 1")
    ]
    cube = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "countries": countries,
        "categories": [],
        "country_daily": src.columns(
            """SELECT CAST(date_diff('day', ?::DATE, sales_date) AS INTEGER) AS d,
                      list_position(?::VARCHAR[], country) - 1 AS c,
                      round(CAST(net_revenue AS DOUBLE), 2) AS rev, round(CAST(gross_revenue AS DOUBLE), 2) AS gross,
                      orders, cancellations AS canc, net_units AS units, new_customers AS new
               FROM bi.sales_country_daily ORDER BY d, c""",
            [start, countries],
        ),
        "category_daily": None,
    }
    if src.has("bi.sales_category_daily"):
        cats = [
            r[0]
            for r in src.q("SELECT category FROM bi.sales_category_daily GROUP BY 1 ORDER BY sum(net_revenue) DESC, 1")
        ]
        cube["categories"] = cats
        cube["category_daily"] = src.columns(
            """SELECT CAST(date_diff('day', ?::DATE, sales_date) AS INTEGER) AS d,
                      list_position(?::VARCHAR[], country) - 1 AS c, list_position(?::VARCHAR[], category) - 1 AS k,
                      round(CAST(net_revenue AS DOUBLE), 2) AS rev, round(CAST(gross_revenue AS DOUBLE), 2) AS gross,
                      orders, net_units AS units
               FROM bi.sales_category_daily ORDER BY d, c, k""",
            [start, countries, cats],
        )
    return cube


# ---------------------------------------------------------------------------- customers
def customers_at_risk(src: Source) -> dict:
    rows = src.columns(
        """SELECT risk_rank, CAST(customer_id AS VARCHAR) AS customer_id, country, rfm_segment,
                  churn_probability, risk_band, last_order_date, order_count,
                  CAST(net_revenue AS DOUBLE) AS net_revenue, CAST(revenue_at_risk AS DOUBLE) AS revenue_at_risk,
                  top_drivers
           FROM bi.customers_at_risk ORDER BY risk_rank LIMIT ?""",
        [MAX_LIST_ROWS],
    )
    return {"rows": rows, "total": src.rows["bi.customers_at_risk"]}


def customer_lookup(src: Source) -> dict:
    # When the recommender covers more customers than the page holds, the ones a person is
    # likeliest to look up come first: those at risk (as listed), then the most valuable.
    joins, order = [], []
    if src.has("bi.customers_at_risk"):
        joins.append("LEFT JOIN bi.customers_at_risk a ON CAST(a.customer_id AS VARCHAR) = c.id")
        order.append("min(a.risk_rank) NULLS LAST")
    if src.has("bi.customer_rfm"):
        joins.append("LEFT JOIN bi.customer_rfm f ON CAST(f.customer_id AS VARCHAR) = c.id")
        order.append("max(f.net_revenue) DESC NULLS LAST")
    recs = src.q(
        f"""WITH c AS (SELECT DISTINCT CAST(customer_id AS VARCHAR) AS id FROM ml.product_recommendations),
                chosen AS (SELECT c.id FROM c {" ".join(joins)} GROUP BY c.id ORDER BY {", ".join([*order, "c.id"])}
                           LIMIT ?)
           SELECT chosen.id, CAST(r.stock_code AS VARCHAR), r.reason, r.source, r.score
           FROM ml.product_recommendations r JOIN chosen ON chosen.id = CAST(r.customer_id AS VARCHAR)
           ORDER BY chosen.id, r.rank""",
        [MAX_LOOKUP_CUSTOMERS],
    )
    products: dict[str, int] = {}
    reasons: dict[str, int] = {}
    customers: dict[str, list] = {}  # id -> [product, reason, score, product, reason, score, ...]
    for cid, code, reason, source, score in recs:
        why = f"{reason or ''} ({source})" if source else (reason or "")
        customers.setdefault(cid, []).extend(
            [
                products.setdefault(code, len(products)),
                reasons.setdefault(why, len(reasons)),
                round(float(score or 0), 3),
            ]
        )
    names = {}
    if src.has("bi.product_bestsellers") and products:
        names = dict(
            src.q(
                "SELECT stock_code, product_description FROM bi.product_bestsellers WHERE stock_code IN "
                "(SELECT unnest(?::VARCHAR[]))",
                [list(products)],
            )
        )
    ids = list(customers)
    out = {
        "ids": ids,
        "recs": [customers[c] for c in ids],
        "products": [[code, names.get(code) or ""] for code in products],
        "reasons": list(reasons),
        "customers_total": src.q("SELECT count(DISTINCT customer_id) FROM ml.product_recommendations")[0][0],
    }
    # What else is known of each customer, as lists aligned with ids (None: not known).
    where = "WHERE CAST(customer_id AS VARCHAR) IN (SELECT unnest(?::VARCHAR[]))"
    for table, sql, fields in (
        (
            "bi.customer_rfm",
            "SELECT CAST(customer_id AS VARCHAR), segment, country, order_count, CAST(net_revenue AS DOUBLE) "
            f"FROM bi.customer_rfm {where}",
            ("segment", "country", "orders", "net_revenue"),
        ),
        (
            "ml.churn_scores",
            f"SELECT CAST(customer_id AS VARCHAR), round(churn_probability, 4), risk_band FROM ml.churn_scores {where}",
            ("churn_probability", "risk_band"),
        ),
        (
            "bi.user_top_category_brand",
            f"SELECT CAST(customer_id AS VARCHAR), top_category, top_brand FROM bi.user_top_category_brand {where}",
            ("favourite_category", "favourite_brand"),
        ),
    ):
        if not src.has(table):
            continue
        found = {row[0]: row[1:] for row in src.q(sql, [ids])}
        for i, f in enumerate(fields):
            out[f] = [plain(found[c][i]) if c in found else None for c in ids]
    return out


def rfm_segments(src: Source) -> list[dict]:
    return src.records(
        """SELECT segment, customers, customer_share, CAST(total_net_revenue AS DOUBLE) AS total_net_revenue,
                  CAST(avg_net_revenue AS DOUBLE) AS avg_net_revenue, avg_recency_days, avg_order_count
           FROM bi.rfm_segments ORDER BY customers DESC, segment"""
    )


def churn_risk(src: Source) -> dict:
    bins = dict(
        src.q(
            """SELECT least(CAST(floor(churn_probability * 10) AS INTEGER), 9), count(*) FROM ml.churn_scores
               WHERE churn_probability IS NOT NULL GROUP BY 1"""
        )
    )
    bands = src.records(
        "SELECT risk_band, count(*) AS customers, avg(churn_probability) AS avg_probability "
        "FROM ml.churn_scores GROUP BY 1 ORDER BY 3 DESC"
    )
    return {"bins": [bins.get(i, 0) for i in range(10)], "bands": bands}


def cohort_retention(src: Source) -> list[dict]:
    return src.records(
        """SELECT cohort_month, months_since_first_order AS m, activity_month, cohort_size, active_customers,
                  retention_rate FROM bi.cohort_retention WHERE months_since_first_order <= 12 ORDER BY 1, 2"""
    )


# ---------------------------------------------------------------------------- products
def product_forecast(src: Source) -> dict:
    rows = src.records(f"SELECT * FROM bi.product_forecast ORDER BY revenue_rank NULLS LAST LIMIT {MAX_LIST_ROWS}")
    return {"rows": rows, "total": src.rows["bi.product_forecast"]}


def forecast_vs_actual(src: Source) -> dict:
    fc = src.records(
        """SELECT CAST(week_start AS DATE) AS week, forecast, lower_80, upper_80, model FROM ml.demand_forecast
           WHERE series_type = 'total' ORDER BY week_start"""
    )
    if not fc:
        return {"forecast": [], "actual": []}
    first = fc[0]["week"]
    actual = src.records(
        """SELECT CAST(date_trunc('week', sales_date) AS DATE) AS week, CAST(sum(gross_revenue) AS DOUBLE) AS value
           FROM bi.sales_daily GROUP BY 1 HAVING count(*) = 7 AND week >= ?::DATE - INTERVAL 371 DAY ORDER BY 1""",
        [first],
    )
    return {"forecast": fc, "actual": actual}


def bestsellers(src: Source) -> list[dict]:
    return src.records(
        """SELECT stock_code, product_description, CAST(net_revenue AS DOUBLE) AS net_revenue, net_units, orders,
                  customers FROM bi.product_bestsellers ORDER BY revenue_rank LIMIT 10"""
    )


def trending_products(src: Source) -> list[dict]:
    return src.records(
        """SELECT stock_code, product_description, units_growth, net_units, prior_net_units, period_start, period_end
           FROM bi.product_trending ORDER BY trend_rank LIMIT 10"""
    )


def frequently_bought_together(src: Source) -> list[dict]:
    names = src.has("bi.product_bestsellers")
    join = (
        "LEFT JOIN bi.product_bestsellers pa ON pa.stock_code = CAST(f.stock_code AS VARCHAR) "
        "LEFT JOIN bi.product_bestsellers pb ON pb.stock_code = CAST(f.other_stock_code AS VARCHAR)"
        if names
        else ""
    )
    a = "pa.product_description" if names else "NULL"
    b = "pb.product_description" if names else "NULL"
    return src.records(
        f"""SELECT CAST(f.stock_code AS VARCHAR) AS a, {a} AS a_name, CAST(f.other_stock_code AS VARCHAR) AS b,
                   {b} AS b_name, f.lift, f.confidence, f.co_baskets
            FROM ml.frequently_bought_together f {join}
            WHERE CAST(f.stock_code AS VARCHAR) < CAST(f.other_stock_code AS VARCHAR)
            ORDER BY f.lift DESC NULLS LAST, a, b LIMIT 10"""
    )


# ---------------------------------------------------------------------------- clickstream
def funnel_overall(src: Source) -> dict | None:
    rows = src.records(
        """SELECT sessions_viewed, sessions_carted, sessions_purchased, session_view_to_cart_rate,
                  session_cart_to_purchase_rate, session_view_to_purchase_rate
           FROM bi.funnel_conversion WHERE breakdown = 'overall' LIMIT 1"""
    )
    return rows[0] if rows else None


def category_popularity(src: Source) -> list[dict]:
    return src.records(
        """SELECT category, interactions, views, carts, purchases, users FROM bi.category_popularity
           WHERE lower(coalesce(category, '')) NOT IN ('', 'unknown') ORDER BY interactions DESC, category LIMIT 12"""
    )


def price_sensitivity(src: Source) -> list[dict]:
    return src.records(
        """SELECT p.category, p.median_price, p.p25_price, p.p75_price, p.products,
                  f.sessions_viewed, f.session_view_to_purchase_rate AS conversion
           FROM bi.category_price_stats p
           JOIN bi.funnel_conversion f ON f.breakdown = 'category' AND f.breakdown_value = p.category
           WHERE lower(p.category) <> 'unknown' ORDER BY p.median_price, p.category"""
    )


def favourite_categories(src: Source) -> dict:
    return {
        "categories": src.records(
            """SELECT top_category AS name, count(*) AS users FROM bi.user_top_category_brand
               GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 15"""
        ),
        "brands": src.records(
            """SELECT top_brand AS name, count(*) AS users FROM bi.user_top_category_brand WHERE top_brand IS NOT NULL
               GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10"""
        ),
        "users": src.rows["bi.user_top_category_brand"],
    }


def engaged_users(src: Source) -> dict:
    return src.columns(
        """SELECT dimension, dimension_value, engagement_rank, CAST(user_id AS VARCHAR) AS user_id, interactions,
                  views, carts, purchases, CAST(purchase_revenue AS DOUBLE) AS purchase_revenue
           FROM bi.user_engagement ORDER BY dimension, dimension_value, engagement_rank"""
    )


# ---------------------------------------------------------------------------- models
def model_status(src: Source) -> list[dict]:
    return src.records(
        """SELECT model, published, status, reason, what_would_change_it, champion, primary_metric, metric_value,
                  naive_baseline, baseline_value, last_published_at FROM ml.model_status ORDER BY model"""
    )


def forecast_backtest(src: Source) -> list[dict]:
    level = (
        "WHERE level = 'overall'"
        if src.q("SELECT count(*) FROM ml.forecast_backtest WHERE level = 'overall'")[0][0]
        else ""
    )
    return src.records(f"SELECT model, avg(mase) AS mase FROM ml.forecast_backtest {level} GROUP BY 1 ORDER BY 2, 1")


def ml_segments(src: Source) -> list[dict]:
    return src.records(
        "SELECT CAST(segment_name AS VARCHAR) AS segment, count(*) AS customers FROM ml.customer_segments "
        "GROUP BY 1 ORDER BY 2 DESC, 1"
    )


def top_recommended_products(src: Source) -> list[dict]:
    join = (
        "LEFT JOIN bi.product_bestsellers p ON p.stock_code = CAST(r.stock_code AS VARCHAR)"
        if src.has("bi.product_bestsellers")
        else ""
    )
    name = "any_value(p.product_description)" if join else "NULL"
    return src.records(
        f"""SELECT CAST(r.stock_code AS VARCHAR) AS stock_code, {name} AS product_description, count(*) AS customers
            FROM ml.product_recommendations r {join} GROUP BY r.stock_code ORDER BY 3 DESC, 1 LIMIT 10"""
    )


# Panels drawn from the sales cube have no function of their own.
BUILDERS: dict[str, Callable[[Source], object]] = {
    "customers_at_risk": customers_at_risk,
    "customer_lookup": customer_lookup,
    "rfm_segments": rfm_segments,
    "churn_risk": churn_risk,
    "cohort_retention": cohort_retention,
    "product_forecast": product_forecast,
    "forecast_vs_actual": forecast_vs_actual,
    "bestsellers": bestsellers,
    "trending_products": trending_products,
    "frequently_bought_together": frequently_bought_together,
    "funnel_overall": funnel_overall,
    "category_popularity": category_popularity,
    "price_sensitivity": price_sensitivity,
    "favourite_categories": favourite_categories,
    "engaged_users": engaged_users,
    "model_status": model_status,
    "model_vs_baseline": model_status,  # the same rows: each model's champion and its naive baseline
    "forecast_backtest": forecast_backtest,
    "ml_segments": ml_segments,
    "top_recommended_products": top_recommended_products,
}


def collect(src: Source) -> dict:
    """Every panel's data, or the reason it has none."""
    panels = {}
    for p in PANELS:
        missing = src.missing(*p.tables)
        data = None
        if missing is None and p.name in BUILDERS:
            try:
                data = BUILDERS[p.name](src)
            except duckdb.BinderException as e:  # a table of another shape than this version writes
                first = str(e).splitlines()[0]
                missing = f"Not yet available: {', '.join(p.tables)} lacks what this panel reads ({first})."
            else:
                if not data:
                    missing = f"Not yet available: {p.tables[0]} has no rows for this panel."
        note = next((n for t in p.tables if (n := src.stale_note(t))), None)
        panels[p.name] = {"missing": missing, "note": note, "data": data}
    bundle = {"sales": sales_cube(src), "panels": panels}
    if bundle["sales"] and len(bundle["sales"]["categories"]) <= 1:
        # one category (no product catalogue): nothing to split by; the filter bar and the
        # panel say which file would
        gap = src.input_gap("products", "to split sales by category") or (
            "Every product is in one category: nothing to split by."
        )
        bundle["category_gap"] = gap
        if not panels["revenue_by_category"]["missing"]:
            panels["revenue_by_category"]["missing"] = gap
    return bundle
