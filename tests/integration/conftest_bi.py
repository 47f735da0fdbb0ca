"""Helpers for the BI serving tests: a small, plausible warehouse with the contracted
``bi.*`` tables (same columns and types as ``dbt_project/models/bi/_bi__models.yml``,
checked by ``tests/unit/test_publish.py::test_fixture_warehouse_matches_the_dbt_contracts``)
and optional ``ml.*`` tables shaped like the ML assets' outputs.

Building it takes well under a second, so every test can have its own.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import yaml

from ecom_platform.config import DBT_PROJECT_DIR

BI_YMLS = sorted((DBT_PROJECT_DIR / "models" / "bi").glob("_bi__*.yml"))

CUSTOMER_IDS = list(range(12001, 12201))  # 200 customers
SEGMENTS = [
    "Champions",
    "Loyal",
    "Potential Loyalist",
    "New Customers",
    "Promising",
    "Need Attention",
    "About To Sleep",
    "At Risk",
    "Can't Lose Them",
    "Hibernating",
    "Lost",
]
CATEGORIES = [
    "unknown",
    "electronics.smartphone",
    "electronics.clocks",
    "computers.notebook",
    "apparel.shoes",
    "appliances.kitchen.refrigerators",
    "electronics.audio.headphone",
    "furniture.living_room.sofa",
    "auto.accessories.player",
    "electronics.video.tv",
    "sport.bicycle",
    "kids.toys",
    "construction.tools.drill",
    "accessories.bag",
    "country_yard.lawn_mower",
]
BRANDS = ["unknown", "samsung", "apple", "xiaomi", "huawei", "lg", "sony", "bosch", "lenovo", "acer", "oppo", "philips"]


def contract_columns() -> dict[str, list[tuple[str, str]]]:
    """``{table alias: [(column, declared type upper-cased), ...]}`` from the bi contracts."""
    out = {}
    for model in [m for f in BI_YMLS for m in yaml.safe_load(f.read_text())["models"]]:
        name = model["name"].removeprefix("bi_")
        # `string` (portable to Spark) is DuckDB's VARCHAR
        out[name] = [
            (c["name"], c["data_type"].upper().replace(" ", "").replace("STRING", "VARCHAR")) for c in model["columns"]
        ]
    return out


BI_SQL = {
    # 52 complete Monday weeks; a weekly and a yearly rhythm plus noise; a quiet Christmas week.
    "sales_daily": """
        WITH d AS (
            SELECT CAST(DATE '2023-01-02' + CAST(i AS INTEGER) AS DATE) AS sales_date, i FROM range(364) r(i)),
        v AS (
            SELECT *, CASE WHEN dayofweek(sales_date) = 6 THEN 0
                           WHEN sales_date BETWEEN DATE '2023-12-24' AND DATE '2023-12-31' THEN 2
                           ELSE 25 + CAST(15 * sin(i / 58.0) + 12 * i / 364 + 8 * random() AS INTEGER) END AS o
            FROM d)
        SELECT sales_date,
               CAST(strftime(sales_date, '%Y%m%d') AS INTEGER) AS date_key,
               dayofweek(sales_date) IN (0, 6) AS is_weekend,
               sales_date IN (DATE '2023-01-02', DATE '2023-04-07', DATE '2023-04-10', DATE '2023-05-01',
                              DATE '2023-05-29', DATE '2023-08-28', DATE '2023-12-25', DATE '2023-12-26') AS is_uk_bank_holiday,
               CAST(o * 410.0 - o * 12.5 AS DECIMAL(18, 2)) AS net_revenue,
               CAST(o * 410.0 AS DECIMAL(18, 2)) AS gross_revenue,
               CAST(o * 12.5 AS DECIMAL(18, 2)) AS cancelled_revenue,
               CAST(o AS BIGINT) AS orders,
               CAST(o // 12 AS BIGINT) AS cancellations,
               CAST(o * 180 AS BIGINT) AS net_units,
               CAST(greatest(o - 3, 0) AS BIGINT) AS unique_customers,
               CAST(CASE WHEN o > 0 THEN 410.0 END AS DECIMAL(18, 2)) AS average_order_value,
               CAST(CASE WHEN o > 0 THEN (o // 12) / (o + o // 12) END AS DOUBLE) AS cancellation_rate
        FROM v ORDER BY sales_date""",
    "customer_rfm": """
        SELECT CAST(id AS BIGINT) AS customer_id,
               CAST(['United Kingdom', 'Germany', 'France', 'EIRE', 'Spain'][1 + id % 5] AS VARCHAR) AS country,
               CAST(DATE '2023-01-01' + INTERVAL (id % 12) MONTH AS DATE) AS first_order_month,
               CAST(1 + (id * 37) % 360 AS INTEGER) AS recency_days,
               CAST(1 + (id * 13) % 20 AS INTEGER) AS order_count,
               CAST(50 + (id * 7919) % 5000 + 0.25 AS DECIMAL(18, 2)) AS net_revenue,
               CAST(1 + id % 5 AS INTEGER) AS r_score,
               CAST(1 + (id // 5) % 5 AS INTEGER) AS f_score,
               CAST(1 + (id // 25) % 5 AS INTEGER) AS m_score,
               CAST(CAST(1 + id % 5 AS VARCHAR) || CAST(1 + (id // 5) % 5 AS VARCHAR) || CAST(1 + (id // 25) % 5 AS VARCHAR) AS VARCHAR) AS rfm_code,
               CAST($segments[1 + id % 11] AS VARCHAR) AS segment
        FROM range(12001, 12201) r(id)""",
    "rfm_segments": """
        WITH s AS (SELECT unnest($segments) AS segment)
        SELECT CAST(s.segment AS VARCHAR) AS segment,
               CAST(count(c.customer_id) AS BIGINT) AS customers,
               CAST(count(c.customer_id) / 200.0 AS DOUBLE) AS customer_share,
               CAST(avg(c.recency_days) AS DOUBLE) AS avg_recency_days,
               CAST(avg(c.order_count) AS DOUBLE) AS avg_order_count,
               CAST(coalesce(avg(c.net_revenue), 0) AS DECIMAL(18, 2)) AS avg_net_revenue,
               CAST(coalesce(sum(c.net_revenue), 0) AS DECIMAL(18, 2)) AS total_net_revenue
        FROM s LEFT JOIN bi.customer_rfm c USING (segment) GROUP BY s.segment ORDER BY 1""",
    "product_bestsellers": """
        SELECT CAST('P' || lpad(CAST(i AS VARCHAR), 4, '0') AS VARCHAR) AS stock_code,
               CAST(['WHITE HANGING HEART T-LIGHT HOLDER', 'REGENCY CAKESTAND 3 TIER', 'JUMBO BAG RED RETROSPOT',
                     'PARTY BUNTING', 'ASSORTED COLOUR BIRD ORNAMENT', 'LUNCH BAG RED RETROSPOT',
                     'SET OF 3 CAKE TINS PANTRY DESIGN', 'PACK OF 72 RETROSPOT CAKE CASES', 'NATURAL SLATE HEART CHALKBOARD',
                     'HEART OF WICKER SMALL'][1 + i % 10] || ' ' || CAST(i AS VARCHAR) AS VARCHAR) AS product_description,
               CAST(100000.0 / i AS DECIMAL(18, 2)) AS net_revenue,
               CAST(20000 // i + 3 AS BIGINT) AS net_units,
               CAST(900 // i + 1 AS BIGINT) AS orders,
               CAST(400 // i + 1 AS BIGINT) AS customers,
               CAST(i AS BIGINT) AS revenue_rank,
               CAST(i AS BIGINT) AS units_rank
        FROM range(1, 51) r(i)""",
    "product_sales_weekly": """
        SELECT p.stock_code, p.product_description,
               CAST(DATE '2023-01-02' + CAST(7 * w AS INTEGER) AS DATE) AS week_start,
               CAST(2023 AS INTEGER) AS iso_year, CAST(w + 1 AS INTEGER) AS iso_week,
               CAST(p.net_revenue / 52 * (0.6 + 0.8 * ((w * 7 + p.revenue_rank) % 10) / 10) AS DECIMAL(18, 2)) AS net_revenue,
               CAST(p.net_units // 52 + (w % 5) AS BIGINT) AS net_units,
               CAST(p.orders // 52 + 1 AS BIGINT) AS orders,
               CAST(p.customers // 52 + 1 AS BIGINT) AS customers
        FROM bi.product_bestsellers p, range(52) r(w)""",
    "product_trending": """
        SELECT CAST(row_number() OVER (ORDER BY g DESC) AS BIGINT) AS trend_rank, stock_code, product_description,
               DATE '2023-12-04' AS period_start, DATE '2023-12-31' AS period_end,
               DATE '2023-11-06' AS prior_period_start, DATE '2023-12-03' AS prior_period_end,
               CAST(pu * (1 + g) AS BIGINT) AS net_units, CAST(pu AS BIGINT) AS prior_net_units,
               CAST(pu * (1 + g) * 2.1 AS DECIMAL(18, 2)) AS net_revenue, CAST(pu * 2.1 AS DECIMAL(18, 2)) AS prior_net_revenue,
               CAST(g AS DOUBLE) AS units_growth, CAST(g * 0.9 AS DOUBLE) AS revenue_growth
        FROM (SELECT stock_code, product_description, 20 + revenue_rank * 3 AS pu,
                     ((revenue_rank * 7919) % 300) / 100.0 - 0.5 AS g
              FROM bi.product_bestsellers WHERE revenue_rank <= 20)""",
    "category_price_stats": """
        SELECT CAST(c AS VARCHAR) AS category, CAST(10 + (i * 37) % 300 AS BIGINT) AS products,
               CAST(base * 1.25 AS DECIMAL(18, 2)) AS avg_price, CAST(base * 0.1 AS DECIMAL(18, 2)) AS min_price,
               CAST(base * 0.6 AS DECIMAL(18, 2)) AS p25_price, CAST(base AS DECIMAL(18, 2)) AS median_price,
               CAST(base * 1.5 AS DECIMAL(18, 2)) AS p75_price, CAST(base * 4 AS DECIMAL(18, 2)) AS max_price
        FROM (SELECT unnest($categories) AS c, generate_subscripts($categories, 1) AS i),
             LATERAL (SELECT 20.0 + (i * 97) % 800 AS base)""",
    "category_popularity": """
        WITH c AS (SELECT unnest($categories) AS category, generate_subscripts($categories, 1) AS i),
        v AS (SELECT category, 5000 // i AS views, 200 // i + 2 AS carts, 40 // i AS removes, 100 // i + 1 AS purchases, i FROM c)
        SELECT CAST(category AS VARCHAR) AS category,
               CAST(row_number() OVER (ORDER BY views + carts + removes + purchases DESC, category) AS BIGINT) AS popularity_rank,
               CAST(views + carts + removes + purchases AS BIGINT) AS interactions,
               CAST(views AS BIGINT) AS views, CAST(carts AS BIGINT) AS carts,
               CAST(removes AS BIGINT) AS removes_from_cart, CAST(purchases AS BIGINT) AS purchases,
               CAST(views // 3 AS BIGINT) AS users, CAST(views // 2 AS BIGINT) AS sessions,
               CAST(purchases * 99.5 AS DECIMAL(18, 2)) AS purchase_revenue,
               CAST((views + carts + removes + purchases) / sum(views + carts + removes + purchases) OVER () AS DOUBLE) AS interaction_share
        FROM v""",
    "funnel_conversion": """
        WITH b AS (
            SELECT 'overall' AS breakdown, 'all' AS breakdown_value, 1 AS i
            UNION ALL SELECT 'category', unnest($categories), generate_subscripts($categories, 1) + 1
            UNION ALL SELECT 'brand', unnest($brands), generate_subscripts($brands, 1) + 1),
        n AS (SELECT *, 6000 // i AS sv, 300 // i + 1 AS sc, 200 // i + 1 AS sp FROM b)
        SELECT CAST(breakdown AS VARCHAR) AS breakdown, CAST(breakdown_value AS VARCHAR) AS breakdown_value,
               CAST(sv AS BIGINT) AS sessions_viewed, CAST(sc AS BIGINT) AS sessions_carted, CAST(sp AS BIGINT) AS sessions_purchased,
               CAST(sv * 9 // 10 AS BIGINT) AS users_viewed, CAST(sc AS BIGINT) AS users_carted, CAST(sp AS BIGINT) AS users_purchased,
               CAST(sc / sv AS DOUBLE) AS session_view_to_cart_rate, CAST(sp / sc AS DOUBLE) AS session_cart_to_purchase_rate,
               CAST(sp / sv AS DOUBLE) AS session_view_to_purchase_rate, CAST(sc / (sv * 0.9) AS DOUBLE) AS user_view_to_cart_rate,
               CAST(sp / sc AS DOUBLE) AS user_cart_to_purchase_rate, CAST(sp / (sv * 0.9) AS DOUBLE) AS user_view_to_purchase_rate
        FROM n""",
    "cohort_retention": """
        SELECT CAST(DATE '2023-01-01' + INTERVAL (c) MONTH AS DATE) AS cohort_month,
               CAST(m AS INTEGER) AS months_since_first_order,
               CAST(DATE '2023-01-01' + INTERVAL (c + m) MONTH AS DATE) AS activity_month,
               CAST(100 - c * 3 AS BIGINT) AS cohort_size,
               CAST(CASE WHEN m = 0 THEN 100 - c * 3 ELSE (100 - c * 3) * (0.15 + 0.2 / m) END AS BIGINT) AS active_customers,
               CAST(CASE WHEN m = 0 THEN 1.0 ELSE 0.15 + 0.2 / m END AS DOUBLE) AS retention_rate
        FROM range(12) a(c), range(12) b(m) WHERE c + m < 12""",
    # Each day of sales_daily split over three countries (70/20/10, the rest to the UK so the
    # sums are exact) and each (day, country) over three categories (50/30/20).
    "sales_country_daily": """
        WITH c AS (SELECT * FROM (VALUES ('Germany', 2), ('France', 1)) v(country, tenths)),
        parts AS (
            SELECT s.sales_date, c.country,
                   CAST(s.net_revenue * c.tenths / 10 AS DECIMAL(18, 2)) AS net_revenue,
                   CAST(s.gross_revenue * c.tenths / 10 AS DECIMAL(18, 2)) AS gross_revenue,
                   CAST(s.cancelled_revenue * c.tenths / 10 AS DECIMAL(18, 2)) AS cancelled_revenue,
                   s.orders * c.tenths // 10 AS orders, s.cancellations * c.tenths // 10 AS cancellations,
                   s.net_units * c.tenths // 10 AS net_units, s.orders * c.tenths // 40 AS new_customers
            FROM bi.sales_daily s, c),
        taken AS (
            SELECT sales_date, sum(net_revenue) AS nr, sum(gross_revenue) AS gr, sum(cancelled_revenue) AS cr,
                   sum(orders) AS o, sum(cancellations) AS ca, sum(net_units) AS u
            FROM parts GROUP BY sales_date),
        uk AS (
            SELECT s.sales_date, 'United Kingdom' AS country, s.net_revenue - t.nr, s.gross_revenue - t.gr,
                   s.cancelled_revenue - t.cr, s.orders - t.o, s.cancellations - t.ca, s.net_units - t.u, s.orders // 6
            FROM bi.sales_daily s JOIN taken t USING (sales_date))
        SELECT CAST(sales_date AS DATE) AS sales_date, CAST(country AS VARCHAR) AS country,
               CAST(net_revenue AS DECIMAL(18, 2)) AS net_revenue, CAST(gross_revenue AS DECIMAL(18, 2)) AS gross_revenue,
               CAST(cancelled_revenue AS DECIMAL(18, 2)) AS cancelled_revenue, CAST(orders AS BIGINT) AS orders,
               CAST(cancellations AS BIGINT) AS cancellations, CAST(net_units AS BIGINT) AS net_units,
               CAST(new_customers AS BIGINT) AS new_customers
        FROM (SELECT * FROM parts UNION ALL SELECT * FROM uk)
        WHERE orders > 0 OR cancellations > 0 OR net_revenue <> 0 ORDER BY 1, 2""",
    "sales_category_daily": """
        WITH k AS (SELECT * FROM (VALUES ('kids.toys', 3), ('sport.bicycle', 2)) v(category, tenths)),
        parts AS (
            SELECT s.sales_date, s.country, k.category,
                   CAST(s.net_revenue * k.tenths / 10 AS DECIMAL(18, 2)) AS net_revenue,
                   CAST(s.gross_revenue * k.tenths / 10 AS DECIMAL(18, 2)) AS gross_revenue,
                   CAST(s.cancelled_revenue * k.tenths / 10 AS DECIMAL(18, 2)) AS cancelled_revenue,
                   (s.orders * k.tenths + 9) // 10 AS orders, s.net_units * k.tenths // 10 AS net_units
            FROM bi.sales_country_daily s, k),
        taken AS (
            SELECT sales_date, country, sum(net_revenue) AS nr, sum(gross_revenue) AS gr,
                   sum(cancelled_revenue) AS cr, sum(net_units) AS u
            FROM parts GROUP BY sales_date, country),
        rest AS (
            SELECT s.sales_date, s.country, 'accessories.bag' AS category, s.net_revenue - t.nr,
                   s.gross_revenue - t.gr, s.cancelled_revenue - t.cr, (s.orders + 1) // 2, s.net_units - t.u
            FROM bi.sales_country_daily s JOIN taken t USING (sales_date, country))
        SELECT CAST(sales_date AS DATE) AS sales_date, CAST(country AS VARCHAR) AS country,
               CAST(category AS VARCHAR) AS category, CAST(net_revenue AS DECIMAL(18, 2)) AS net_revenue,
               CAST(gross_revenue AS DECIMAL(18, 2)) AS gross_revenue,
               CAST(cancelled_revenue AS DECIMAL(18, 2)) AS cancelled_revenue, CAST(orders AS BIGINT) AS orders,
               CAST(net_units AS BIGINT) AS net_units
        FROM (SELECT * FROM parts UNION ALL SELECT * FROM rest) ORDER BY 1, 2, 3""",
    "user_top_category_brand": """
        SELECT CAST(u AS BIGINT) AS user_id, CAST(CASE WHEN u % 2 = 0 THEN u END AS BIGINT) AS customer_id,
               CAST(20 + u % 50 AS BIGINT) AS interactions, CAST(1 + u % 4 AS INTEGER) AS n_categories,
               CAST(1 + u % 3 AS INTEGER) AS n_brands, CAST($categories[2 + u % 5] AS VARCHAR) AS top_category,
               CAST(10 + u % 20 AS BIGINT) AS top_category_interactions, CAST($brands[2 + u % 7] AS VARCHAR) AS top_brand,
               CAST(5 + u % 9 AS BIGINT) AS top_brand_interactions
        FROM range(12001, 12301) r(u)""",
    "user_engagement": """
        SELECT CAST(d AS VARCHAR) AS dimension, CAST(v AS VARCHAR) AS dimension_value,
               CAST(row_number() OVER (PARTITION BY d, v ORDER BY u) AS INTEGER) AS engagement_rank,
               CAST(u AS BIGINT) AS user_id, CAST(200 - (u % 100) AS BIGINT) AS interactions,
               CAST(150 - (u % 100) AS BIGINT) AS views, CAST(30 AS BIGINT) AS carts, CAST(20 AS BIGINT) AS purchases,
               CAST(20 * 19.99 AS DECIMAL(18, 2)) AS purchase_revenue
        FROM (SELECT 'category' AS d, unnest(['kids.toys', 'sport.bicycle']) AS v
              UNION ALL SELECT 'brand', unnest(['samsung', 'apple'])), range(12001, 12011) r(u)""",
    "data_sources": """
        SELECT CAST(source AS VARCHAR) AS source, CAST('landing/' || source || '/' AS VARCHAR) AS landing_folder,
               source = 'transactions' AS is_required, CAST(files AS BIGINT) AS files_loaded,
               CAST(n AS BIGINT) AS rows_loaded, TIMESTAMP '2024-01-01 03:00:00' AS last_loaded_at,
               CAST('analyses of ' || source AS VARCHAR) AS fills
        FROM (VALUES ('transactions', 24, 981482), ('events', 24, 3170987), ('products', 1, 1000),
                     ('customers', 1, 5000)) v(source, files, n)""",
}

ML_SQL = {
    "churn_scores": """
        SELECT customer_id, DATE '2024-01-01' AS as_of_date, p AS churn_probability,
               CASE WHEN p >= 0.7 THEN 'high' WHEN p >= 0.4 THEN 'medium' ELSE 'low' END AS risk_band,
               'recency_days; orders_90d' AS top_drivers, recency_days, order_count AS frequency,
               CAST(net_revenue AS DOUBLE) AS monetary
        FROM (SELECT *, least(0.98, recency_days / 380.0 + (customer_id % 7) / 40.0) AS p FROM bi.customer_rfm)""",
    "customer_segments": """
        SELECT customer_id, CAST(customer_id % 4 AS INTEGER) AS cluster,
               ['High-value loyal', 'Lapsed', 'New', 'Big-basket'][1 + customer_id % 4] AS segment_name
        FROM bi.customer_rfm""",
    "segment_profiles": """
        SELECT cluster, segment_name, count(*) AS customers, avg(c.net_revenue) AS avg_monetary
        FROM ml.customer_segments s JOIN bi.customer_rfm c USING (customer_id) GROUP BY ALL""",
    "demand_forecast": """
        SELECT 'total:revenue' AS series_id, 'total' AS series_type, NULL::VARCHAR AS stock_code, NULL::VARCHAR AS category,
               'revenue' AS measure, CAST(DATE '2024-01-01' + CAST(7 * h AS INTEGER) AS DATE) AS week_start, h + 1 AS horizon,
               70000.0 + 1500 * h AS forecast, 58000.0 + 1200 * h AS lower_80, 82000.0 + 1900 * h AS upper_80,
               66000.0 AS seasonal_naive, 'lightgbm' AS model, 2.0 AS lead_time_weeks, 0.95 AS service_level,
               1.645 AS z, 141500.0 AS lead_time_demand, 9000.0 AS forecast_error_sd_weekly, 20936.0 AS safety_stock,
               162436.0 AS reorder_point, 162436.0 AS reorder_point_units
        FROM range(8) r(h)
        UNION ALL
        SELECT 'product:' || p.stock_code, 'product', p.stock_code, 'kids.toys', 'units',
               CAST(DATE '2024-01-01' + CAST(7 * h AS INTEGER) AS DATE), h + 1, 400.0 / p.revenue_rank,
               300.0 / p.revenue_rank, 500.0 / p.revenue_rank, 390.0 / p.revenue_rank, 'lightgbm', 2.0, 0.95, 1.645,
               800.0 / p.revenue_rank, 80.0 / p.revenue_rank, 186.0 / p.revenue_rank, 986.0 / p.revenue_rank,
               ceil(986.0 / p.revenue_rank)
        FROM range(8) r(h), bi.product_bestsellers p WHERE p.revenue_rank <= 5""",
    "forecast_backtest": """
        SELECT model, 'overall' AS level, NULL::VARCHAR AS series_id, measure, 6 AS n_origins, 480 AS n_points,
               mase, 0.2 + mase / 10 AS wape, 0.01 AS bias
        FROM (VALUES ('naive', 1.21), ('seasonal_naive', 1.0), ('moving_average', 1.08), ('ets', 0.97), ('lightgbm', 0.86)) v(model, mase),
             (VALUES ('units'), ('revenue'), ('all')) m(measure)
        UNION ALL
        SELECT 'lightgbm', 'series', 'product:P0001', 'units', 6, 48, 0.9, 0.25, 0.02""",
    "product_recommendations": """
        SELECT CAST(c.customer_id AS VARCHAR) AS customer_id, r.rank, p.stock_code, 1.0 / r.rank AS score,
               'bought together with your purchases' AS reason, 'item_cosine' AS source
        FROM bi.customer_rfm c, range(1, 4) r(rank)
        JOIN bi.product_bestsellers p ON p.revenue_rank = 1 + (c.customer_id + r.rank) % 12""",
    "frequently_bought_together": """
        SELECT a.stock_code, CAST(1 + b.revenue_rank % 3 AS INTEGER) AS rank, b.stock_code AS other_stock_code,
               CAST(80 - a.revenue_rank - b.revenue_rank AS INTEGER) AS co_baskets, 0.01 AS support,
               0.2 + (a.revenue_rank * b.revenue_rank % 10) / 20.0 AS confidence,
               1.5 + (a.revenue_rank * 3 + b.revenue_rank) % 17 / 4.0 AS lift, 0.5 AS score
        FROM bi.product_bestsellers a JOIN bi.product_bestsellers b
          ON a.revenue_rank <= 8 AND b.revenue_rank <= 8 AND a.stock_code <> b.stock_code""",
    "model_metrics": """
        SELECT TIMESTAMP '2024-01-01 03:00:00' AS run_at, task, model, metric, value, baseline_name, baseline_value,
               higher, value IS NOT NULL AND (baseline_value IS NULL OR (higher AND value > baseline_value) OR (NOT higher AND value < baseline_value)) AS beats_baseline,
               TRUE AS is_primary, TRUE AS publishable, 'run-1' AS run_id
        FROM (VALUES ('churn', 'lightgbm', 'roc_auc', 0.81, 'logistic_regression', 0.77, TRUE),
                     ('churn', 'lightgbm', 'roc_auc', 0.81, 'recency_only', 0.70, TRUE),
                     ('forecasting', 'lightgbm', 'mase', 0.86, 'seasonal_naive', 1.0, FALSE),
                     ('recommendations', 'item_cosine', 'recall_at_10', 0.14, 'popularity', 0.09, TRUE),
                     ('segmentation', 'kmeans', 'silhouette', 0.33, NULL, NULL, TRUE))
             v(task, model, metric, value, baseline_name, baseline_value, higher)""",
    "model_status": """
        SELECT model, TRUE AS published, 'published' AS status, model || ' beats its naive baseline' AS reason,
               NULL::VARCHAR AS what_would_change_it, champion, metric AS primary_metric, 0.8 AS metric_value,
               baseline AS naive_baseline, 0.7 AS baseline_value, tables, '2024-01-01' AS data_end,
               TIMESTAMP '2024-01-01 03:00:00' AS evaluated_at, TIMESTAMP '2024-01-01 03:00:00' AS last_published_at,
               'run-1' AS run_id
        FROM (VALUES ('churn', 'lightgbm', 'roc_auc', 'recency_only', 'churn_scores, churn_feature_importance'),
                     ('forecast', 'lightgbm', 'mase', 'seasonal_naive', 'demand_forecast, forecast_backtest'),
                     ('recommendations', 'ease', 'ndcg@10', 'popularity', 'product_recommendations, frequently_bought_together'),
                     ('segmentation', 'kmeans', 'silhouette', NULL, 'customer_segments, segment_profiles'))
             v(model, champion, metric, baseline, tables)""",
}


def _params(sql: str) -> str:
    def lst(xs):
        return "[" + ", ".join("'" + x.replace("'", "''") + "'" for x in xs) + "]"

    return (
        sql.replace("$segments", lst(SEGMENTS)).replace("$categories", lst(CATEGORIES)).replace("$brands", lst(BRANDS))
    )


def make_warehouse(path: Path | str, with_ml: bool = True, ml_tables: list[str] | None = None) -> Path:
    """Create (or replace) a small warehouse at ``path`` with every bi table and the ML tables."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("SELECT setseed(0.42)")
        con.execute("CREATE SCHEMA IF NOT EXISTS bi")
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        # Not published (only bi.* and the listed ml.* are); read by the tables the publish builds.
        con.execute(
            "CREATE OR REPLACE TABLE marts.dim_customers AS SELECT id AS customer_id, 'a@example.com' AS email, "
            "['United Kingdom', 'Germany', 'France', 'EIRE', 'Spain'][1 + id % 5] AS country, "
            "TIMESTAMP '2023-12-31 10:00:00' - INTERVAL (1 + (id * 37) % 360) DAY AS last_order_at "
            "FROM range(12001, 12201) r(id)"
        )
        for name in (
            "sales_daily",
            "customer_rfm",
            "rfm_segments",
            "product_bestsellers",
            "product_sales_weekly",
            "product_trending",
            "category_price_stats",
            "category_popularity",
            "funnel_conversion",
            "cohort_retention",
            "data_sources",
            "sales_country_daily",
            "sales_category_daily",
            "user_top_category_brand",
            "user_engagement",
        ):
            con.execute(f"CREATE OR REPLACE TABLE bi.{name} AS {_params(BI_SQL[name])}")
        con.execute(
            "CREATE OR REPLACE TABLE marts.customer_rfm AS SELECT customer_id, recency_days, order_count AS frequency, "
            "net_revenue AS monetary, segment FROM bi.customer_rfm"
        )
        if with_ml:
            con.execute("CREATE SCHEMA IF NOT EXISTS ml")
            for name, sql in ML_SQL.items():
                if ml_tables is None or name in ml_tables:
                    con.execute(f"CREATE OR REPLACE TABLE ml.{name} AS {_params(sql)}")
            con.execute("CREATE OR REPLACE TABLE ml.training_features AS SELECT 1 AS not_published")
    finally:
        con.close()
    return path
