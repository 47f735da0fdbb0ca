"""The dashboard's panels on sales, products, customers and the clickstream: one query and one chart each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb

from ecom_platform.lib.dashboard.charts import (
    PALETTE,
    UNKNOWN,
    WIDE,
    _as_date,
    _f,
    fmt_num,
    fmt_pct,
    hbar_chart,
    heatmap_chart,
    line_chart,
    scatter_chart,
    vbar_chart,
)


# ============================================================================ panels
@dataclass
class Panel:
    name: str
    title: str
    source: str  # schema.table(s) it reads
    subtitle: str = ""
    svg: str = ""
    points: int = 0
    missing: str | None = None  # visible reason when not available
    note: str = ""  # extra HTML under the chart
    wide: bool = False


@dataclass
class _Ctx:
    con: duckdb.DuckDBPyConnection
    tables: dict[str, list[str]] = field(default_factory=dict)  # "schema.table" -> columns
    rows: dict[str, int] = field(default_factory=dict)
    # ml.model_status rows by model, and bi.data_sources rows by input (empty when absent)
    statuses: dict[str, dict] = field(default_factory=dict)
    sources: dict[str, dict] = field(default_factory=dict)

    def load_status(self) -> None:
        for table, attr, key in (("ml.model_status", "statuses", "model"), ("bi.data_sources", "sources", "source")):
            if self.has(table):
                cur = self.con.execute(f"SELECT * FROM {table}")
                names = [d[0] for d in cur.description]
                getattr(self, attr).update({r[names.index(key)]: dict(zip(names, r)) for r in cur.fetchall()})

    def input_gap(self, source: str) -> str | None:
        """ "No events file has landed ..." when that optional input has no file loaded."""
        src = self.sources.get(source)
        if src is None or src.get("files_loaded"):
            return None
        return (
            f"No {source} file has landed: drop {source} exports into {src['landing_folder']} "
            f"to fill this panel (it fills: {src['fills']})."
        )

    def model_gap(self, table: str) -> str | None:
        """The reason the model that writes ``ml.<table>`` has not published it."""
        name = table.split(".", 1)[1]
        for model, st in self.statuses.items():
            if name in [t.strip() for t in (st.get("tables") or "").split(",")] and not st.get("published"):
                change = st.get("what_would_change_it")
                return f"Model {model} not published: {st['reason']}." + (
                    f" What would change it: {change}." if change else ""
                )
        return None

    def has(self, table: str) -> bool:
        return self.rows.get(table, 0) > 0

    def cols(self, table: str) -> list[str]:
        return self.tables.get(table, [])

    def pick(self, table: str, *names: str) -> str | None:
        lower = {c.lower(): c for c in self.cols(table)}
        for n in names:
            if n.lower() in lower:
                return lower[n.lower()]
        return None

    def q(self, sql: str, params: list | None = None) -> list[tuple]:
        return self.con.execute(sql, params or []).fetchall()


def _qi(c: str) -> str:
    return '"' + c.replace('"', '""') + '"'


# the optional input whose absence leaves a table empty
TABLE_INPUT = {
    "bi.category_popularity": "events",
    "bi.funnel_conversion": "events",
    "bi.category_price_stats": "events",
    "bi.user_engagement": "events",
    "bi.user_top_category_brand": "events",
}


def _missing_reason(ctx: _Ctx, table: str) -> str:
    if table.startswith("ml.") and (gap := ctx.model_gap(table)):
        return gap
    if table in TABLE_INPUT and not ctx.has(table) and (gap := ctx.input_gap(TABLE_INPUT[table])):
        return gap
    if table not in ctx.tables:
        if table.startswith("ml."):
            return f"Not yet available: {table} is not in the BI copy yet (the ML assets have not published it)."
        return f"Not yet available: {table} is not in the BI copy."
    return f"Not yet available: {table} has no rows yet."


def _need(ctx: _Ctx, panel: Panel, *tables: str, columns: dict[str, Sequence[str]] | None = None) -> bool:
    for t in tables:
        if not ctx.has(t):
            panel.missing = _missing_reason(ctx, t)
            return False
    for t, cols in (columns or {}).items():
        absent = [c for c in cols if c is not None and ctx.pick(t, c) is None]
        if absent:
            panel.missing = f"Not yet available: {t} lacks column(s) {', '.join(absent)}."
            return False
    return True


def _weekly_sales(ctx: _Ctx) -> list[tuple]:
    """(week_start, net_revenue, gross_revenue, orders) over complete Monday weeks."""
    return ctx.q(
        """
        SELECT CAST(date_trunc('week', sales_date) AS DATE) AS wk,
               sum(net_revenue), sum(gross_revenue), sum(orders), count(*) AS days
        FROM bi.sales_daily GROUP BY 1 HAVING count(*) = 7 ORDER BY 1
        """
    )


def panels_sales(ctx: _Ctx) -> list[Panel]:
    rev = Panel(
        "revenue_over_time",
        "Revenue over time",
        "bi.sales_daily",
        "Net merchandise revenue per day and its 7-day average (net of cancellations).",
        wide=True,
    )
    orders = Panel(
        "orders_over_time",
        "Orders per week",
        "bi.sales_daily",
        "Non-cancelled invoices with merchandise, complete Monday weeks.",
    )
    aov = Panel(
        "aov_over_time",
        "Average order value per week",
        "bi.sales_daily",
        "Gross revenue / orders, complete Monday weeks.",
    )
    if not _need(ctx, rev, "bi.sales_daily"):
        orders.missing = aov.missing = rev.missing
        return [rev, orders, aov]
    daily = ctx.q("SELECT sales_date, net_revenue FROM bi.sales_daily ORDER BY sales_date")
    xs = [_as_date(r[0]) for r in daily]
    ys = [_f(r[1]) for r in daily]
    ma = []
    for i in range(len(ys)):
        win = [v for v in ys[max(0, i - 6) : i + 1] if v is not None]
        ma.append(sum(win) / len(win) if len(win) == 7 else None)
    rev.svg, rev.points = line_chart(
        "revenue_over_time",
        xs,
        [
            {"label": "net revenue", "ys": ys, "color": PALETTE["blue"]},
            {"label": "7-day average", "ys": ma, "color": PALETTE["amber"]},
        ],
        label="Daily net revenue",
        width=WIDE,
        height=250,
    )
    weekly = _weekly_sales(ctx)
    wx = [_as_date(r[0]) for r in weekly]
    orders.svg, orders.points = line_chart(
        "orders_over_time",
        wx,
        [{"label": "orders", "ys": [r[3] for r in weekly], "color": PALETTE["teal"]}],
        label="Weekly orders",
    )
    aov.svg, aov.points = line_chart(
        "aov_over_time",
        wx,
        [{"label": "AOV", "ys": [(_f(r[2]) / r[3]) if r[3] else None for r in weekly], "color": PALETTE["violet"]}],
        label="Weekly average order value",
        y_zero=True,
    )
    for p in (orders, aov):
        if not p.points:
            p.missing = "Not yet available: bi.sales_daily has no complete week yet."
    return [rev, orders, aov]


def panels_products(ctx: _Ctx) -> list[Panel]:
    best = Panel("bestsellers", "Bestsellers", "bi.product_bestsellers", "Top 10 products by all-time net revenue.")
    trend = Panel(
        "trending_products",
        "Trending products",
        "bi.product_trending",
        "Top 10 by unit growth against the prior period (minimum volume in both periods).",
    )
    if _need(ctx, best, "bi.product_bestsellers"):
        rows = ctx.q(
            """SELECT stock_code, product_description, net_revenue, net_units, orders, customers
               FROM bi.product_bestsellers ORDER BY revenue_rank LIMIT 10"""
        )
        best.svg, best.points = hbar_chart(
            "bestsellers",
            [r[1] or r[0] for r in rows],
            [r[2] for r in rows],
            tooltips=[
                f"{r[0]} {r[1]}: revenue {fmt_num(r[2])}, {fmt_num(r[3])} units, {fmt_num(r[4])} orders, "
                f"{fmt_num(r[5])} customers"
                for r in rows
            ],
            label="Bestsellers by net revenue",
        )
    if _need(ctx, trend, "bi.product_trending"):
        rows = ctx.q(
            """SELECT stock_code, product_description, units_growth, net_units, prior_net_units,
                      period_start, period_end
               FROM bi.product_trending ORDER BY trend_rank LIMIT 10"""
        )
        trend.svg, trend.points = hbar_chart(
            "trending_products",
            [r[1] or r[0] for r in rows],
            [r[2] for r in rows],
            fmt=lambda v: fmt_pct(v, 0),
            color=PALETTE["green"],
            tooltips=[f"{r[0]} {r[1]}: {fmt_num(r[4])} → {fmt_num(r[3])} units ({fmt_pct(r[2], 0)})" for r in rows],
            label="Trending products by unit growth",
        )
        if rows and rows[0][5]:
            trend.subtitle += f" Period {_as_date(rows[0][5])} – {_as_date(rows[0][6])}."
    return [best, trend]


SEGMENT_COLORS = {
    "Champions": "#15803d",
    "Loyal": "#16a34a",
    "Potential Loyalist": "#65a30d",
    "New Customers": "#0d9488",
    "Promising": "#0891b2",
    "Need Attention": "#ca8a04",
    "About To Sleep": "#d97706",
    "At Risk": "#ea580c",
    "Can't Lose Them": "#dc2626",
    "Hibernating": "#9f1239",
    "Lost": "#64748b",
}


def panels_customers(ctx: _Ctx) -> list[Panel]:
    size = Panel(
        "rfm_segment_customers", "RFM segments: customers", "bi.rfm_segments", "Scored customers per RFM segment."
    )
    value = Panel("rfm_segment_value", "RFM segments: value", "bi.rfm_segments", "Total net revenue per RFM segment.")
    cohort = Panel(
        "cohort_retention",
        "Cohort retention",
        "bi.cohort_retention",
        "Share of each monthly acquisition cohort ordering again N months later.",
        wide=True,
    )
    if _need(ctx, size, "bi.rfm_segments"):
        rows = ctx.q(
            """SELECT segment, customers, customer_share, total_net_revenue, avg_net_revenue,
                      avg_recency_days, avg_order_count
               FROM bi.rfm_segments ORDER BY customers DESC, segment"""
        )
        colors = [SEGMENT_COLORS.get(r[0], PALETTE["blue"]) for r in rows]
        tips = [
            f"{r[0]}: {fmt_num(r[1])} customers ({fmt_pct(r[2])}), revenue {fmt_num(r[3])}, "
            f"avg {fmt_num(r[4])}, recency {fmt_num(r[5])} d, {fmt_num(r[6])} orders"
            for r in rows
        ]
        size.svg, size.points = hbar_chart(
            "rfm_segment_customers",
            [r[0] for r in rows],
            [r[1] for r in rows],
            colors=colors,
            tooltips=tips,
            label="Customers per RFM segment",
            label_width=150,
        )
        by_value = sorted(range(len(rows)), key=lambda i: -(_f(rows[i][3]) or 0))
        value.svg, value.points = hbar_chart(
            "rfm_segment_value",
            [rows[i][0] for i in by_value],
            [rows[i][3] for i in by_value],
            colors=[colors[i] for i in by_value],
            tooltips=[tips[i] for i in by_value],
            label="Net revenue per RFM segment",
            label_width=150,
        )
    else:
        value.missing = size.missing
    if _need(ctx, cohort, "bi.cohort_retention"):
        rows = ctx.q(
            """SELECT cohort_month, months_since_first_order, retention_rate, cohort_size, active_customers
               FROM bi.cohort_retention WHERE months_since_first_order <= 12 ORDER BY 1, 2"""
        )
        cohorts = sorted({_as_date(r[0]) for r in rows})
        months = list(range(0, max(r[1] for r in rows) + 1)) if rows else []
        ri = {c: i for i, c in enumerate(cohorts)}
        cells, tips = {}, {}
        for r in rows:
            k = (ri[_as_date(r[0])], int(r[1]))
            cells[k] = _f(r[2]) or 0.0
            tips[k] = (
                f"cohort {_as_date(r[0]):%b %Y} (+{r[1]} m): {fmt_pct(r[2])} of {fmt_num(r[3])} ({fmt_num(r[4])} active)"
            )
        later = [v for (i, j), v in cells.items() if j > 0]
        cohort.svg, cohort.points = heatmap_chart(
            "cohort_retention",
            [f"{c:%b %Y}" for c in cohorts],
            [str(m) for m in months],
            cells,
            tooltips=tips,
            vmax=max(later) if later else None,
            label="Cohort retention heatmap",
            width=WIDE,
        )
        cohort.note = '<p class="hint">Columns: months since the first order (0 = acquisition month).</p>'
    return [size, value, cohort]


def panels_clickstream(ctx: _Ctx) -> list[Panel]:
    price = Panel(
        "category_price_scatter",
        "Category prices",
        "bi.category_price_stats",
        "Average against median product price per category (bubble size = products; "
        "above the diagonal = a few expensive products pull the average up).",
        wide=True,
    )
    cats = Panel(
        "top_categories_interactions",
        "Top 10 categories by interactions",
        "bi.category_popularity",
        "Clickstream events per category (views, carts, removals, purchases); events without a category excluded.",
    )
    brands = Panel(
        "top_brands_interactions",
        "Top 10 brands by sessions",
        "bi.funnel_conversion",
        "Sessions that viewed the brand; tooltip shows the session view → purchase rate.",
    )
    funnel = Panel(
        "funnel_overall",
        "Conversion funnel",
        "bi.funnel_conversion",
        "Sessions that viewed, added to cart and purchased (all categories).",
    )
    unknown = ", ".join(f"'{u}'" for u in UNKNOWN)
    if _need(ctx, price, "bi.category_price_stats"):
        rows = ctx.q(
            f"""SELECT category, avg_price, median_price, products, min_price, max_price
                FROM bi.category_price_stats WHERE lower(coalesce(category, '')) NOT IN ({unknown})
                ORDER BY products DESC"""
        )
        price.svg, price.points = scatter_chart(
            "category_price_scatter",
            [r[1] for r in rows],
            [r[2] for r in rows],
            [r[0] for r in rows],
            sizes=[r[3] for r in rows],
            x_title="average price",
            y_title="median price",
            tooltips=[
                f"{r[0]}: avg {fmt_num(r[1])}, median {fmt_num(r[2])}, min {fmt_num(r[4])}, "
                f"max {fmt_num(r[5])}, {fmt_num(r[3])} products"
                for r in rows
            ],
            label="Average vs median price per category",
            width=WIDE,
            height=340,
            annotate=10,
        )
        if not price.points:
            price.missing = (
                ctx.input_gap("products") or "Not yet available: bi.category_price_stats has no categorised products."
            )
    if _need(ctx, cats, "bi.category_popularity"):
        rows = ctx.q(
            f"""SELECT category, interactions, views, carts, removes_from_cart, purchases, users
                FROM bi.category_popularity WHERE lower(coalesce(category, '')) NOT IN ({unknown})
                ORDER BY interactions DESC, category LIMIT 10"""
        )
        cats.svg, cats.points = hbar_chart(
            "top_categories_interactions",
            [r[0] for r in rows],
            [r[1] for r in rows],
            color=PALETTE["teal"],
            tooltips=[
                f"{r[0]}: {fmt_num(r[1])} interactions = {fmt_num(r[2])} views, {fmt_num(r[3])} carts, "
                f"{fmt_num(r[4])} removals, {fmt_num(r[5])} purchases; {fmt_num(r[6])} users"
                for r in rows
            ],
            label="Top categories by interactions",
        )
        if not cats.points:
            cats.missing = ctx.input_gap("products") or "Not yet available: no categorised clickstream events."
    if _need(ctx, brands, "bi.funnel_conversion"):
        rows = ctx.q(
            f"""SELECT breakdown_value, sessions_viewed, sessions_carted, sessions_purchased,
                       session_view_to_purchase_rate
                FROM bi.funnel_conversion
                WHERE breakdown = 'brand' AND lower(coalesce(breakdown_value, '')) NOT IN ({unknown})
                ORDER BY sessions_viewed DESC, breakdown_value LIMIT 10"""
        )
        brands.svg, brands.points = hbar_chart(
            "top_brands_interactions",
            [r[0] for r in rows],
            [r[1] for r in rows],
            color=PALETTE["violet"],
            tooltips=[
                f"{r[0]}: {fmt_num(r[1])} sessions viewed, {fmt_num(r[2])} carted, {fmt_num(r[3])} purchased "
                f"({fmt_pct(r[4])} view → purchase)"
                for r in rows
            ],
            label="Top brands by sessions",
            label_width=150,
        )
        if not brands.points:
            brands.missing = "Not yet available: no brand breakdown in bi.funnel_conversion."
        o = ctx.q(
            """SELECT sessions_viewed, sessions_carted, sessions_purchased, session_view_to_cart_rate,
                      session_cart_to_purchase_rate FROM bi.funnel_conversion WHERE breakdown = 'overall' LIMIT 1"""
        )
        if o:
            v, c, p, r1, r2 = o[0]
            funnel.svg, funnel.points = vbar_chart(
                "funnel_overall",
                ["viewed", "carted", "purchased"],
                [v, c, p],
                colors=[PALETTE["blue"], PALETTE["amber"], PALETTE["green"]],
                tooltips=[
                    f"sessions viewed: {fmt_num(v)}",
                    f"sessions carted: {fmt_num(c)} ({fmt_pct(r1)} of viewed)",
                    f"sessions purchased: {fmt_num(p)} ({fmt_pct(r2)} of carted)",
                ],
                label="Session funnel",
                height=200,
            )
            funnel.note = f'<p class="hint">view → cart {fmt_pct(r1)}, cart → purchase {fmt_pct(r2)}.</p>'
        else:
            funnel.missing = "Not yet available: bi.funnel_conversion has no overall row."
    else:
        funnel.missing = brands.missing
    return [cats, brands, funnel, price]
