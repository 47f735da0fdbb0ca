"""The dashboard's panels: what each shows, which tables it reads, which filters apply.

One :class:`Panel` per chart, list or control. The page draws them in section order; the
browser script (``static/``) renders each from ``data[<panel name>]`` with the filters
named in ``filters`` ("date", "country", "category", "grain").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Panel:
    name: str
    section: str
    title: str
    subtitle: str
    tables: tuple[str, ...]  # what it reads (the first missing one gives the reason)
    filters: tuple[str, ...] = ()
    wide: bool = False
    question: str = ""  # the shop's question it answers (docs/bi.md lists them)


SECTIONS = ("Sales", "Customers", "Products and stock", "Clickstream", "Models")

DATE, COUNTRY, CATEGORY, GRAIN = "date", "country", "category", "grain"

PANELS: tuple[Panel, ...] = (
    # --- Sales
    Panel(
        "revenue_over_time",
        "Sales",
        "Net revenue",
        "Merchandise sales net of cancellations per period, with the same period a year earlier (52 weeks back).",
        ("bi.sales_country_daily",),
        (DATE, COUNTRY, CATEGORY, GRAIN),
        wide=True,
        question="How are sales doing, against last year?",
    ),
    Panel(
        "orders_over_time",
        "Sales",
        "Orders",
        "Non-cancelled invoices with merchandise per period (with a category: invoices with a line of it).",
        ("bi.sales_country_daily",),
        (DATE, COUNTRY, CATEGORY, GRAIN),
        question="Are more people ordering?",
    ),
    Panel(
        "aov_over_time",
        "Sales",
        "Average order value",
        "Gross merchandise revenue / orders per period.",
        ("bi.sales_country_daily",),
        (DATE, COUNTRY, CATEGORY, GRAIN),
        question="Are baskets getting bigger?",
    ),
    Panel(
        "new_customers_over_time",
        "Sales",
        "New customers",
        "Known customers placing their first order, per period (not split by category).",
        ("bi.sales_country_daily",),
        (DATE, COUNTRY, GRAIN),
        question="Are we winning new customers?",
    ),
    Panel(
        "revenue_by_country",
        "Sales",
        "Revenue by country",
        "Net revenue in the selected dates, top 12 countries.",
        ("bi.sales_country_daily",),
        (DATE, CATEGORY),
        question="Where do sales come from?",
    ),
    Panel(
        "revenue_by_category",
        "Sales",
        "Revenue by category",
        "Net revenue in the selected dates per product category.",
        ("bi.sales_category_daily",),
        (DATE, COUNTRY),
        question="Which categories carry the shop?",
    ),
    # --- Customers
    Panel(
        "customers_at_risk",
        "Customers",
        "High-value customers at risk",
        "Customers the churn model gives at least a 50% chance of not ordering again, by revenue at risk. "
        "Click a column to sort; click a row to look the customer up.",
        ("bi.customers_at_risk",),
        (COUNTRY,),
        wide=True,
        question="Who is about to leave, and who is worth calling first?",
    ),
    Panel(
        "customer_lookup",
        "Customers",
        "Customer look-up",
        "A customer's recommendations with their reasons, churn risk, RFM segment and favourite category.",
        ("ml.product_recommendations",),
        wide=True,
        question="What should this customer see next?",
    ),
    Panel(
        "rfm_segments",
        "Customers",
        "RFM segments",
        "Scored customers and their net revenue per RFM segment.",
        ("bi.rfm_segments",),
        question="Which customers are the best?",
    ),
    Panel(
        "churn_risk",
        "Customers",
        "Churn risk",
        "Customers by predicted probability of not ordering in the next period.",
        ("ml.churn_scores",),
        question="How many customers may we lose?",
    ),
    Panel(
        "cohort_retention",
        "Customers",
        "Cohort retention",
        "Share of each monthly cohort (size in brackets) ordering again N months later. Outlined: the month "
        "is not over yet, so its share can still grow.",
        ("bi.cohort_retention",),
        wide=True,
        question="Do new customers come back?",
    ),
    # --- Products and stock
    Panel(
        "product_forecast",
        "Products and stock",
        "What will sell: forecast and reorder points",
        "Forecast units for the next 4 weeks beside the last 4 weeks sold, with safety stock and the reorder "
        "point, for the products the forecast covers.",
        ("bi.product_forecast",),
        (CATEGORY,),
        wide=True,
        question="What will sell next month, and how much stock to hold?",
    ),
    Panel(
        "forecast_vs_actual",
        "Products and stock",
        "Demand forecast against actuals",
        "Weekly net revenue and the published forecast with its 80% interval.",
        ("ml.demand_forecast", "bi.sales_daily"),
        wide=True,
        question="What will the next weeks bring?",
    ),
    Panel(
        "bestsellers",
        "Products and stock",
        "Bestsellers",
        "Top 10 products by all-time net revenue.",
        ("bi.product_bestsellers",),
        question="What sells most?",
    ),
    Panel(
        "trending_products",
        "Products and stock",
        "Trending products",
        "Top 10 by unit growth against the prior period (minimum volume in both).",
        ("bi.product_trending",),
        question="What is taking off?",
    ),
    Panel(
        "frequently_bought_together",
        "Products and stock",
        "Frequently bought together",
        "Top 10 product pairs by lift (how much more often they share a basket than by chance).",
        ("ml.frequently_bought_together",),
        question="What to bundle or cross-sell?",
    ),
    # --- Clickstream
    Panel(
        "funnel_overall",
        "Clickstream",
        "Funnel",
        "Sessions that viewed, carted and purchased.",
        ("bi.funnel_conversion",),
        question="Where do visitors drop out?",
    ),
    Panel(
        "category_popularity",
        "Clickstream",
        "Popular categories",
        "Interactions and purchases per category (top 12 by interactions).",
        ("bi.category_popularity",),
        question="What do visitors look at?",
    ),
    Panel(
        "price_sensitivity",
        "Clickstream",
        "Price sensitivity by category",
        "Median price against view-to-purchase conversion per category (bubble size: sessions viewing).",
        ("bi.category_price_stats", "bi.funnel_conversion"),
        question="Do dearer categories convert worse?",
    ),
    Panel(
        "favourite_categories",
        "Clickstream",
        "Favourite category and brand per user",
        "Users whose most-interacted category (bars) and brand (list) is each one.",
        ("bi.user_top_category_brand",),
        question="What does each visitor care about?",
    ),
    Panel(
        "engaged_users",
        "Clickstream",
        "Engaged users",
        "The 10 most engaged users of a category or brand.",
        ("bi.user_engagement",),
        question="Who are our most engaged visitors in a category?",
    ),
    # --- Models
    Panel(
        "model_status",
        "Models",
        "Model status",
        "Each model: published or not, and why, against its naive baseline.",
        ("ml.model_status",),
        wide=True,
        question="Can I trust the scores?",
    ),
    Panel(
        "model_vs_baseline",
        "Models",
        "Models against their baselines",
        "Each model's champion on its primary metric beside the naive baseline it must beat (latest run).",
        ("ml.model_status",),
        question="Does each model beat the simple rule?",
    ),
    Panel(
        "forecast_backtest",
        "Models",
        "Forecast backtest (MASE)",
        "Mean absolute scaled error per model over the rolling-origin backtest (lower is better; 1.0 = the naive "
        "in-sample forecast).",
        ("ml.forecast_backtest",),
        question="How accurate is the forecast?",
    ),
    Panel(
        "ml_segments",
        "Models",
        "Behavioural segments",
        "Customers per clustering segment.",
        ("ml.customer_segments",),
        question="What kinds of customers do we have?",
    ),
    Panel(
        "top_recommended_products",
        "Models",
        "Most recommended products",
        "Products appearing most often in customers' top recommendations.",
        ("ml.product_recommendations",),
        question="What is the recommender pushing?",
    ),
)
